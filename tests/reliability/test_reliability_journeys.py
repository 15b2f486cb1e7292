"""Full journeys through the gateway with real processes on PostgreSQL.

1. Tesla connect (simulator OAuth) → plug in → polls → unplug → session end → incentives grant from a
   sponsor's funded campaign → wallet credit (W1 + W2) → withdraw in mock mode → paid.
2. The same journey, then withdraw in live mode against the fake Stripe (Express onboarding through
   the account link, signed webhooks back through the gateway) → paid.
3. Card link → Fidel auth + clearing (signed) → reward → wallet credit → refund → clawback in the wallet.
Invariants after each: ledger sum = balance, nothing negative, spent = grants × cost."""
from __future__ import annotations

import httpx
import pytest

from tests.reliability.conftest import (LIVE_WALLET, bearer, incentives_invariants, uid, wait_for,
                                        wallet_balance_row, wallet_invariants)
from tests.reliability.flows import (Fidel, Tesla, balance, charge_session, connect_tesla, ensure_offer,
                                     funded_campaign, ledger, link_card, wait_balance)

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture(scope="module")
def gw(rstack):
    with httpx.Client(base_url=rstack.gw(), timeout=20) as c:
        yield c


@pytest.fixture(scope="module")
def tesla(rstack):
    t = Tesla(rstack)
    t.freeze()
    return t


def tesla_journey_to_credit(gw, tesla, *, cost: int) -> tuple[str, dict, dict]:
    """Connect, charge 20 minutes, and see the grant land in the wallet. Returns (driver, campaign, end poll)."""
    driver, sponsor = uid("drv"), uid("spn")
    campaign = funded_campaign(gw, sponsor, cost=cost, gross=cost * 5, drivers=[driver])
    account, vin = tesla.account_with_vehicle()
    connect_tesla(gw, tesla, driver, account)
    end = charge_session(gw, tesla, driver, vin, minutes=20)
    sid = end["session_id"]
    # the grant reaches telemetry's answer (dispatch-now) or at the latest the session detail
    session = wait_for(lambda: (s := gw.get(f"/v1/charging-sessions/{sid}", headers=bearer(driver))
                                .json()["session"])["incentive"] and s)
    assert session["incentive"]["amount_cents"] == cost and session["incentive"]["campaign_id"] == campaign["id"]
    assert session["duration_minutes"] == 20 and session["ended_reason"] == "unplugged"
    assert [s["id"] for s in gw.get("/v1/charging-sessions/", headers=bearer(driver)).json()["sessions"]] == [sid]
    assert len(tesla.ground_truth(vin)) == 1  # one plug-in, one session

    bal = wait_balance(gw, driver, cost)
    assert bal["total_earned_cents"] == cost and bal["pending_cents"] == 0
    [entry] = ledger(gw, driver)
    assert (entry["amount_cents"], entry["transaction_type"], entry["balance_after_cents"]) == (cost, "credit", cost)
    assert entry["campaign_name"] == campaign["name"] and entry["sponsor_name"] == "Reliability Co"
    budget = gw.get(f"/v1/campaigns/{campaign['id']}/budget", headers=bearer(sponsor, "sponsor"))
    assert budget.status_code == 200 and budget.json()["spent_cents"] == cost, budget.text
    return driver, campaign, end


async def test_tesla_session_to_grant_to_wallet_to_mock_withdrawal(rstack, dbs, gw, tesla):
    driver, _, end = tesla_journey_to_credit(gw, tesla, cost=2500)
    assert end["incentive_granted"] in (True, False)  # dispatch-now is best effort; the grant is proven above

    acct = gw.post("/v1/wallet/stripe/account", headers=bearer(driver), json={"email": "d@example.com"})
    assert acct.status_code == 200 and acct.json()["status"] == "mock_created", acct.text
    r = gw.post("/v1/wallet/withdraw", headers=bearer(driver), json={"amount_cents": 2500})
    assert r.status_code == 200, r.text
    w = r.json()
    assert (w["status"], w["amount_cents"], w["fee_cents"], w["mock"]) == ("paid", 2500, 0, True)
    [payout] = gw.get("/v1/wallet/history", headers=bearer(driver)).json()["payouts"]
    assert (payout["id"], payout["status"]) == (w["payout_id"], "paid") and payout["paid_at"]
    bal = balance(gw, driver)
    assert (bal["available_cents"], bal["pending_cents"], bal["total_withdrawn_cents"]) == (0, 0, 2500)
    assert sum(e["amount_cents"] for e in ledger(gw, driver)) == 0
    assert await wallet_balance_row(dbs["wallet"], driver) == (0, 0, 0, 2500)
    await wallet_invariants(dbs["wallet"])
    await incentives_invariants(dbs["incentives"])


@pytest.fixture
def live_wallet(rstack):
    """The wallet process restarted with ENABLE_STRIPE_PAYOUTS=true (the fake Stripe); mock mode after."""
    rstack.restart("wallet", LIVE_WALLET)
    yield
    rstack.restart("wallet", {})


async def test_tesla_session_to_live_withdrawal_paid_through_fake_stripe(rstack, dbs, gw, tesla, live_wallet):
    fake = httpx.Client(base_url=rstack.sim("stripe"), timeout=10)
    driver, _, _ = tesla_journey_to_credit(gw, tesla, cost=3000)
    d = bearer(driver)
    acct = gw.post("/v1/wallet/stripe/account", headers=d, json={"email": "live@example.com"}).json()
    assert acct["status"] == "created" and acct["stripe_account_id"].startswith("acct_")
    r = gw.post("/v1/wallet/withdraw", headers=d, json={"amount_cents": 2500})
    assert r.status_code == 400 and r.json()["detail"] == "Payout account onboarding not complete"
    link = gw.post("/v1/wallet/stripe/account-link", headers=d,
                   json={"return_url": "https://app.nerava.network/done", "refresh_url": "https://app.nerava.network/r"})
    assert link.status_code == 200, link.text
    assert httpx.get(link.json()["url"], timeout=5).status_code == 200  # the driver completes Express onboarding
    assert wait_for(lambda: balance(gw, driver)["stripe_onboarding_complete"])

    r = gw.post("/v1/wallet/withdraw", headers={**d, "Idempotency-Key": uid("wd")}, json={"amount_cents": 2500})
    assert r.status_code == 200, r.text
    w = r.json()
    assert w["status"] == "processing" and w["stripe_transfer_id"].startswith("tr_")
    state = fake.get("/_sim/state").json()
    transfers = [t for t in state["transfers"].values() if t.get("destination") == acct["stripe_account_id"]]
    assert len(transfers) == 1 and transfers[0]["amount"] == 2500
    bank = [p for p in state["payouts"].values() if p["metadata"].get("payout_id") == w["payout_id"]]
    assert len(bank) == 1
    fake.post(f"/_sim/payouts/{bank[0]['id']}/advance", json={"status": "paid"}).raise_for_status()
    assert wait_for(lambda: gw.get("/v1/wallet/history", headers=d).json()["payouts"][0]["status"] == "paid")
    bal = balance(gw, driver)
    assert (bal["available_cents"], bal["pending_cents"], bal["total_withdrawn_cents"]) == (500, 0, 2500)
    assert sum(e["amount_cents"] for e in ledger(gw, driver)) == 500
    await wallet_invariants(dbs["wallet"])
    await incentives_invariants(dbs["incentives"])


async def test_card_link_auth_clearing_reward_refund_clawback(rstack, dbs, gw):
    fidel = Fidel(rstack)
    ensure_offer(gw)
    driver = uid("drv-clo")
    fidel_card, card_id = link_card(gw, fidel, driver)
    assert [c["id"] for c in gw.get("/v1/clo/cards", headers=bearer(driver)).json()["cards"]] == [card_id]

    tid = fidel.auth(fidel_card, 20.00)
    fidel.clear(tid)
    assert all(d["statusCode"] == 200 for d in fidel.deliveries(tid)), fidel.deliveries(tid)
    [tx] = gw.get("/v1/clo/transactions", headers=bearer(driver)).json()["transactions"]
    assert (tx["status"], tx["reward_cents"], tx["amount_cents"]) == ("credited", 250, 2000)
    wait_balance(gw, driver, 250)
    [credit] = ledger(gw, driver)
    assert (credit["amount_cents"], credit["transaction_type"]) == (250, "credit")

    # a full refund claws the reward back (proportional: 100 % → 250)
    fidel.refund(tid)
    bal = wait_balance(gw, driver, 0)
    assert bal["total_earned_cents"] in (0, 250)
    entries = ledger(gw, driver)
    assert sorted(e["amount_cents"] for e in entries) == [-250, 250] and sum(e["amount_cents"] for e in entries) == 0
    assert wait_for(lambda: gw.get("/v1/clo/transactions", headers=bearer(driver)).json()["transactions"][0]
                    ["reward_state"] in ("clawed_back", "reversed"))
    assert await wallet_balance_row(dbs["wallet"], driver) == (0, 0, 0, 0)
    await wallet_invariants(dbs["wallet"])
