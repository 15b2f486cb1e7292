"""Campaign funding across three processes: a sponsor's live Stripe Checkout (incentives restarted with
ENABLE_STRIPE_CHECKOUT=true, the fake Stripe) → the signed ``checkout.session.completed`` reaches the
wallet's platform webhook (W10) through the gateway → outbox ``CampaignFundingReceived`` →
``IncentivesService.ApplyCampaignFunding`` → funded once and activated, even when the event arrives
10 times at once and again after the fact; a forged copy is refused and changes nothing."""
from __future__ import annotations

import asyncio

import httpx
import pytest
import sqlalchemy as sa

from tests.reliability.conftest import (PLATFORM_SECRET, await_for, bearer, incentives_invariants, uid,
                                        wait_for)
from tests.reliability.flows import DEMO_CHARGER
from tests.reliability.signing import stripe_header

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture(scope="module")
def live_checkout(rstack):
    rstack.restart("incentives", {"ENABLE_STRIPE_CHECKOUT": "true"})
    yield rstack
    rstack.restart("incentives", {})


async def test_live_checkout_funds_once_through_wallet_relay_despite_duplicates(live_checkout, dbs):
    rstack = live_checkout
    gw = httpx.Client(base_url=rstack.gw(), timeout=30)
    fake = httpx.Client(base_url=rstack.sim("stripe"), timeout=15)
    sponsor = uid("spn-checkout")
    h = bearer(sponsor, "sponsor")
    r = gw.post("/v1/campaigns/", headers=h, json={
        "sponsor_name": "Checkout Co", "name": uid("camp"), "budget_cents": 10_000, "cost_per_session_cents": 500,
        "start_date": "2026-01-01", "time_zone": "America/Chicago",
        "rules": {"charger_ids": [DEMO_CHARGER], "driver_allowlist": [uid("nobody")]}})
    assert r.status_code == 200, r.text
    cid = r.json()["campaign"]["id"]
    r = gw.post(f"/v1/campaigns/{cid}/checkout", headers=h)
    assert r.status_code == 200, r.text
    checkout_url = r.json()["checkout_url"]
    assert checkout_url and "/pay/cs_test_" in checkout_url, r.json()
    sid = checkout_url.rsplit("/", 1)[1]
    assert gw.get(f"/v1/campaigns/{cid}", headers=h).json()["campaign"]["funding_status"] != "funded"

    paid = fake.post(f"/_sim/checkout/{sid}/complete", json={"webhook_secret": PLATFORM_SECRET})
    assert paid.status_code == 200, paid.text
    body = paid.json()["payload"].encode()

    forged = gw.post("/v1/stripe/webhooks", content=body, headers={"Stripe-Signature": stripe_header("whsec_x", body)})
    assert forged.status_code == 400
    assert gw.get(f"/v1/campaigns/{cid}", headers=h).json()["campaign"]["funding_status"] != "funded"

    async with httpx.AsyncClient(base_url=rstack.gw(), timeout=30) as client:
        rs = await asyncio.gather(*(client.post("/v1/stripe/webhooks", content=body, headers={
            "Stripe-Signature": stripe_header(PLATFORM_SECRET, body), "content-type": "application/json"})
            for _ in range(10)))
    assert [x.status_code for x in rs] == [200] * 10, [x.text for x in rs if x.status_code != 200][:2]

    def funded():
        c = gw.get(f"/v1/campaigns/{cid}", headers=h).json()["campaign"]
        return c if c["funding_status"] == "funded" and c["status"] == "active" else None
    camp = wait_for(funded, 30)
    assert camp, gw.get(f"/v1/campaigns/{cid}", headers=h).json()
    # funded net of the 20 % platform fee, once
    assert (camp["gross_funding_cents"], camp["platform_fee_cents"], camp["budget_cents"]) == (10_000, 2000, 8000)
    late = gw.post("/v1/stripe/webhooks", content=body, headers={"Stripe-Signature": stripe_header(PLATFORM_SECRET, body)})
    assert late.status_code == 200
    event_id = paid.json()["event"]["id"]

    async def relayed_once():
        async with dbs["wallet"].read() as conn:
            rows = (await conn.execute(sa.text("SELECT delivered_at FROM outbox WHERE topic = 'CampaignFundingReceived'"
                                               " AND key = :k"), {"k": event_id})).all()
        return len(rows) == 1 and rows[0][0] is not None
    assert await await_for(relayed_once, 20)  # one relay row for 12 deliveries, delivered
    again = gw.get(f"/v1/campaigns/{cid}", headers=h).json()["campaign"]
    assert (again["budget_cents"], again["gross_funding_cents"]) == (8000, 10_000)
    async with dbs["incentives"].read() as conn:
        n = (await conn.execute(sa.text("SELECT count(*) FROM campaign_fundings WHERE campaign_id = :c"),
                                {"c": cid})).scalar_one()
    assert n == 1
    await incentives_invariants(dbs["incentives"])
    gw.close()
    fake.close()
