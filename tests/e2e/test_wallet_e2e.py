"""Wallet through the real gateway and processes (mock payout mode, the default): balance → credit
(gRPC Credit with a service token) → Stripe account → withdraw → history and ledger; admin routes."""
from __future__ import annotations

import grpc
import httpx
import pytest

from nerava.wallet.v1 import wallet_pb2, wallet_pb2_grpc
from tests.e2e.conftest import token

pytestmark = pytest.mark.e2e


def call(base_url, method, path, tok=None, **kw):
    headers = kw.pop("headers", {})
    if tok:
        headers["Authorization"] = f"Bearer {tok}"
    return httpx.request(method, base_url + path, headers=headers, timeout=15, **kw)


def grpc_credit(stack, driver, key, amount):
    with grpc.insecure_channel(f"127.0.0.1:{stack.ports.services['wallet']}") as ch:
        stub = wallet_pb2_grpc.WalletServiceStub(ch)
        return stub.Credit(wallet_pb2.CreditRequest(
            idempotency_key=key, driver_id=driver, amount_cents=amount, reference_type="campaign_grant",
            reference_id=key.split(":")[1], campaign_name="Night Owl", sponsor_name="ACME"),
            timeout=10, metadata=(("authorization", f"Bearer {token('service:incentives', 'service')}"),))


def test_driver_money_path(stack, base_url):
    d = token("e2e-wallet-driver")
    assert call(base_url, "GET", "/v1/wallet/balance", d).json()["available_cents"] == 0
    first = grpc_credit(stack, "e2e-wallet-driver", "grant:e2e-g1", 6000)
    again = grpc_credit(stack, "e2e-wallet-driver", "grant:e2e-g1", 6000)
    assert again.replayed and again.journal_id == first.journal_id and first.balance_after_cents == 6000
    with pytest.raises(grpc.RpcError) as exc:  # a driver token cannot credit
        with grpc.insecure_channel(f"127.0.0.1:{stack.ports.services['wallet']}") as ch:
            wallet_pb2_grpc.WalletServiceStub(ch).Credit(wallet_pb2.CreditRequest(
                idempotency_key="grant:x", driver_id="x", amount_cents=1, reference_type="campaign_grant",
                reference_id="x"), timeout=5, metadata=(("authorization", f"Bearer {d}"),))
    assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED

    r = call(base_url, "POST", "/v1/wallet/withdraw", d, json={"amount_cents": 2500})
    assert r.status_code == 400 and r.json() == {"detail": "Payout account not set up"}
    r = call(base_url, "POST", "/v1/wallet/stripe/account", d, json={})
    assert r.status_code == 200 and r.json()["status"] == "mock_created" and r.json()["onboarding_complete"] is True
    assert call(base_url, "POST", "/v1/wallet/stripe/account", d, json={}).json()["status"] == "existing"
    link = call(base_url, "POST", "/v1/wallet/stripe/account-link", d,
                json={"return_url": "https://app.nerava.network/wallet?x=1",
                      "refresh_url": "https://app.nerava.network/wallet"}).json()
    assert link["url"] == "https://app.nerava.network/wallet?x=1&mock_onboarding=complete"
    r = call(base_url, "POST", "/v1/wallet/stripe/account-link", d,
             json={"return_url": "https://evil.example/x", "refresh_url": "https://evil.example/y"})
    assert r.status_code == 400
    assert call(base_url, "GET", "/v1/wallet/stripe/status", d).json()["onboarding_complete"] is True
    bal = call(base_url, "GET", "/v1/wallet/balance", d).json()
    assert bal["available_cents"] == 6000 and bal["can_withdraw"] is True and bal["total_earned_cents"] == 6000

    r = call(base_url, "POST", "/v1/wallet/withdraw", d, json={"amount_cents": 2500},
             headers={"Idempotency-Key": "e2e-w-1"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "paid" and body["mock"] is True and body["fee_cents"] == 0
    assert body["stripe_transfer_id"].startswith("tr_mock_") and body["transfer_id"] == body["stripe_transfer_id"]
    replay = call(base_url, "POST", "/v1/wallet/withdraw", d, json={"amount_cents": 2500},
                  headers={"Idempotency-Key": "e2e-w-1"})
    assert replay.json()["payout_id"] == body["payout_id"]
    conflict = call(base_url, "POST", "/v1/wallet/withdraw", d, json={"amount_cents": 2600},
                    headers={"Idempotency-Key": "e2e-w-1"})
    assert conflict.status_code == 409
    for amount, detail in ((0, "amount_cents must be between 1 and 10000000"), (1500, "Minimum withdrawal is $20.00"),
                           (9000, "Insufficient balance")):
        r = call(base_url, "POST", "/v1/wallet/withdraw", d, json={"amount_cents": amount})
        assert r.status_code == 400 and r.json() == {"detail": detail}

    payouts = call(base_url, "GET", "/v1/wallet/history", d).json()["payouts"]
    assert [(p["id"], p["status"], p["amount_cents"], p["failure_reason"]) for p in payouts] == [
        (body["payout_id"], "paid", 2500, None)]
    assert payouts[0]["paid_at"] and "+" not in payouts[0]["created_at"]
    ledger = call(base_url, "GET", "/v1/wallet/ledger", d).json()
    assert ledger["count"] == 2
    assert [(e["transaction_type"], e["amount_cents"], e["balance_after_cents"]) for e in ledger["entries"]] == [
        ("withdrawal", -2500, 3500), ("credit", 6000, 6000)]
    assert ledger["entries"][1]["campaign_name"] == "Night Owl" and ledger["entries"][0]["campaign_name"] is None
    bal = call(base_url, "GET", "/v1/wallet/balance", d).json()
    assert (bal["available_cents"], bal["pending_cents"], bal["total_withdrawn_cents"]) == (3500, 0, 2500)
    fee = call(base_url, "GET", "/v1/wallet/withdraw/fee?amount_cents=500", d).json()
    assert fee == {"amount_cents": 500, "fee_cents": 26, "net_cents": 500}
    assert call(base_url, "GET", "/v1/wallet/withdraw/fee?amount_cents=0", d).status_code == 400
    assert call(base_url, "GET", "/v1/wallet/ledger?limit=-1", d).status_code == 400


def test_admin_routes_and_stubs(stack, base_url):
    admin, d = token("e2e-admin", "admin"), token("e2e-wallet-2")
    r = call(base_url, "POST", "/v1/wallet/admin/credit?driver_id=e2e-wallet-2&amount_cents=1500", d)
    assert r.status_code == 403 and r.json() == {"detail": "Admin access required"}
    r = call(base_url, "POST", "/v1/wallet/admin/credit?driver_id=e2e-wallet-2&amount_cents=1500", admin,
             headers={"Idempotency-Key": "adm-1"})
    assert r.status_code == 200 and r.json()["new_balance_cents"] == 1500 and r.json()["ledger_id"]
    r2 = call(base_url, "POST", "/v1/wallet/admin/credit?driver_id=e2e-wallet-2&amount_cents=1500", admin,
              headers={"Idempotency-Key": "adm-1"})
    assert r2.json() == r.json()
    r = call(base_url, "POST", "/v1/wallet/admin/credit?driver_id=e2e-wallet-2&amount_cents=50001", admin)
    assert r.status_code == 400
    w = call(base_url, "GET", "/api/v1/admin/users/e2e-wallet-2/wallet", admin).json()
    assert w["user_id"] == "e2e-wallet-2" and w["balance_cents"] == 1500
    assert w["transactions"][0]["reason"] == "credit" and w["transactions"][0]["meta"]["reference_type"] == "bonus"
    r = call(base_url, "POST", "/v1/admin/users/e2e-wallet-2/wallet/adjust", admin,
             json={"amount_cents": -2000, "reason": "chargeback"})
    assert r.json() == {"success": True, "user_id": "e2e-wallet-2", "amount_cents": -2000,
                        "before_balance_cents": 1500, "after_balance_cents": 0}
    assert call(base_url, "GET", "/v1/wallet/balance", d).json()["debt_cents"] == 500
    assert call(base_url, "GET", "/v1/admin/users/nobody-here/wallet", admin).status_code == 404
    assert call(base_url, "POST", "/v1/wallet/dwolla/webhook", content=b"{}").json() == {
        "status": "ignored", "reason": "dwolla_disabled"}
    # no webhook secret configured outside development: fail closed with 503 and the object detail
    r = call(base_url, "POST", "/v1/stripe/webhooks", content=b'{"id":"evt_1"}',
             headers={"Stripe-Signature": "t=1,v1=00"})
    assert r.status_code == 503 and r.json() == {"detail": {"status": "error",
                                                            "reason": "webhook_secret_not_configured"}}
