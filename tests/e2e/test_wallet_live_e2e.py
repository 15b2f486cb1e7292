"""Live payouts end to end: gateway → wallet → real stripe SDK → fake Stripe server, and the fake's
signed webhooks → gateway W9/W10 → wallet (ENABLE_STRIPE_PAYOUTS=true)."""
from __future__ import annotations

import time

import grpc
import httpx
import pytest

from nerava.wallet.v1 import wallet_pb2, wallet_pb2_grpc
from tests.e2e.conftest import start_stack, token

pytestmark = pytest.mark.e2e

PAYOUT_SECRET, PLATFORM_SECRET = "whsec_e2e_payout", "whsec_e2e_platform"


@pytest.fixture(scope="module")
def live_stack(tmp_path_factory):
    s = start_stack(tmp_path_factory.mktemp("live"), {
        "ENABLE_STRIPE_PAYOUTS": "true", "STRIPE_SECRET_KEY": "sk_test_e2e_wallet",
        "STRIPE_PAYOUT_WEBHOOK_SECRET": PAYOUT_SECRET, "STRIPE_WEBHOOK_SECRET": PLATFORM_SECRET,
        "STRIPE_TIMEOUT_SECONDS": "3"})
    fake = f"http://127.0.0.1:{s.ports.simulators['stripe']}"
    gw = f"http://127.0.0.1:{s.ports.gateway}"
    httpx.post(fake + "/_sim/webhooks", json={"endpoints": [
        {"url": gw + "/v1/wallet/stripe/webhook", "secrets": [PAYOUT_SECRET], "connect": True},
        {"url": gw + "/v1/stripe/webhooks", "secrets": [PLATFORM_SECRET], "connect": False}]}, timeout=5)
    yield s, gw, fake
    s.stop()


def call(base, method, path, tok=None, **kw):
    headers = kw.pop("headers", {})
    if tok:
        headers["Authorization"] = f"Bearer {tok}"
    return httpx.request(method, base + path, headers=headers, timeout=20, **kw)


def wait_for(predicate, timeout_s=15.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    return predicate()


def test_live_withdrawal_is_paid_after_the_signed_webhook(live_stack):
    stack, gw, fake = live_stack
    d = token("live-driver-1")
    with grpc.insecure_channel(f"127.0.0.1:{stack.ports.services['wallet']}") as ch:
        wallet_pb2_grpc.WalletServiceStub(ch).Credit(wallet_pb2.CreditRequest(
            idempotency_key="clo_reward:live-t1", driver_id="live-driver-1", amount_cents=10_000,
            reference_type="clo_reward", reference_id="live-t1", merchant_name="Cafe"),
            timeout=10, metadata=(("authorization", f"Bearer {token('service:clo', 'service')}"),))
    acct = call(gw, "POST", "/v1/wallet/stripe/account", d, json={"email": "x@example.com"}).json()
    assert acct["status"] == "created" and acct["stripe_account_id"].startswith("acct_")
    assert acct["onboarding_complete"] is False
    r = call(gw, "POST", "/v1/wallet/withdraw", d, json={"amount_cents": 2500})
    assert r.status_code == 400 and r.json()["detail"] == "Payout account onboarding not complete"
    link = call(gw, "POST", "/v1/wallet/stripe/account-link", d,
                json={"return_url": "https://app.nerava.network/done", "refresh_url": "https://app.nerava.network/r"})
    assert link.status_code == 200 and link.json()["url"].startswith(fake + "/connect/setup/")
    assert httpx.get(link.json()["url"], timeout=5).status_code == 200  # the driver finishes onboarding
    # account.updated reaches W9 signed; the wallet re-fetches and stores readiness
    assert wait_for(lambda: call(gw, "GET", "/v1/wallet/balance", d).json()["stripe_onboarding_complete"])

    r = call(gw, "POST", "/v1/wallet/withdraw", d, json={"amount_cents": 2500}, headers={"Idempotency-Key": "lw-1"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "processing" and body["payout_state"] == "transferred"
    assert body["stripe_transfer_id"].startswith("tr_") and body["mock"] is None
    state = httpx.get(fake + "/_sim/state", timeout=5).json()
    bank = [p for p in state["payouts"].values() if p["metadata"].get("payout_id") == body["payout_id"]]
    assert len(bank) == 1 and len(state["transfers"]) == 1
    httpx.post(fake + f"/_sim/payouts/{bank[0]['id']}/advance", json={"status": "paid"}, timeout=5)
    paid = wait_for(lambda: call(gw, "GET", "/v1/wallet/history", d).json()["payouts"][0]["status"] == "paid")
    assert paid
    bal = call(gw, "GET", "/v1/wallet/balance", d).json()
    assert (bal["available_cents"], bal["pending_cents"], bal["total_withdrawn_cents"]) == (7500, 0, 2500)
    deliveries = httpx.get(fake + "/_sim/deliveries", timeout=5).json()["deliveries"]
    assert deliveries and all(x["status"] == 200 for x in deliveries), deliveries
    assert {x["type"] for x in deliveries} >= {"account.updated", "transfer.created", "payout.paid"}
    # a forged delivery is refused by the gateway path with 400
    r = call(gw, "POST", "/v1/wallet/stripe/webhook", content=b'{"id":"evt_x","type":"payout.paid","data":{}}',
             headers={"Stripe-Signature": "t=1,v1=deadbeef"})
    assert r.status_code == 400 and r.json() == {"detail": "Invalid signature"}


def test_admin_payout_operations_over_grpc(live_stack):
    stack, gw, fake = live_stack
    admin_md = (("authorization", f"Bearer {token('ops-admin', 'admin')}"),)
    d = token("live-driver-2")
    with grpc.insecure_channel(f"127.0.0.1:{stack.ports.services['wallet']}") as ch:
        stub = wallet_pb2_grpc.WalletServiceStub(ch)
        stub.Credit(wallet_pb2.CreditRequest(
            idempotency_key="grant:live-g2", driver_id="live-driver-2", amount_cents=10_000,
            reference_type="campaign_grant", reference_id="live-g2"),
            timeout=10, metadata=(("authorization", f"Bearer {token('service:incentives', 'service')}"),))
        acct = call(gw, "POST", "/v1/wallet/stripe/account", d, json={}).json()["stripe_account_id"]
        httpx.post(fake + f"/_sim/accounts/{acct}/complete_onboarding", timeout=5)
        assert wait_for(lambda: call(gw, "GET", "/v1/wallet/stripe/status", d).json()["onboarding_complete"])
        with pytest.raises(grpc.RpcError) as exc:
            stub.GetPayoutBreaker(wallet_pb2.GetPayoutBreakerRequest(), timeout=5,
                                  metadata=(("authorization", f"Bearer {d}"),))
        assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
        opened = stub.SetPayoutBreaker(wallet_pb2.SetPayoutBreakerRequest(state="open", reason="drill"),
                                       timeout=5, metadata=admin_md)
        assert opened.breaker.state == "open" and opened.breaker.changed_by == "ops-admin"
        r = call(gw, "POST", "/v1/wallet/withdraw", d, json={"amount_cents": 3000}).json()
        assert r["status"] == "pending" and r["message"] == "Payouts are temporarily paused; your withdrawal is queued"
        stub.SetPayoutBreaker(wallet_pb2.SetPayoutBreakerRequest(state="closed"), timeout=5, metadata=admin_md)
        job = stub.RunPayoutJob(wallet_pb2.RunPayoutJobRequest(job="payout"), timeout=30, metadata=admin_md)
        assert job.job == "payout" and job.payout_job.pending_sent == 1
        rec = stub.ReconcilePayout(wallet_pb2.ReconcilePayoutRequest(payout_id=r["payout_id"]), timeout=30,
                                   metadata=admin_md)
        assert rec.payout.state == "transferred" and rec.payout.stripe_transfer_id.startswith("tr_")
        with pytest.raises(grpc.RpcError) as exc:
            stub.ReconcilePayout(wallet_pb2.ReconcilePayoutRequest(payout_id="nope"), timeout=5, metadata=admin_md)
        assert exc.value.code() == grpc.StatusCode.NOT_FOUND
        recon = stub.RunPayoutJob(wallet_pb2.RunPayoutJobRequest(job="reconciliation"), timeout=30, metadata=admin_md)
        assert recon.reconciliation.status == "completed" and recon.reconciliation.internal_checks_ok
        assert recon.reconciliation.transfers_checked >= 2
        findings = stub.ListReconciliationFindings(wallet_pb2.ListReconciliationFindingsRequest(), timeout=5,
                                                   metadata=admin_md)
        assert findings.latest_run.id == recon.reconciliation.id
