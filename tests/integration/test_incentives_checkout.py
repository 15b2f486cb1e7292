"""Live-mode funding: the real ``stripe`` SDK against the fake Stripe Checkout server, the signed
event it emits relayed to ApplyCampaignFunding (as the wallet does), exactly once."""
from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import socket
import threading
import time

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from kit import errors, migrations
from kit.clock import ManualClock
from kit.db import Database
from services.incentives.adapters.stripe_checkout import StripeCheckout
from services.incentives.app.usecases import IncentivesUseCases
from simulators.stripe import checkout as fake
from tests.integration.incentives_helpers import SERVICE, SPONSOR, UTC, campaign_values

SECRET = "whsec_incentives_test"
# the stripe SDK's httpx client passes bytes as data=; not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


@pytest.fixture(scope="module")
def fake_stripe():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(Starlette(routes=fake.ROUTES), host="127.0.0.1", port=port,
                                           log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(5)


@pytest.fixture
async def uc(tmp_path, fake_stripe):
    url = f"sqlite+aiosqlite:///{tmp_path / 'inc.db'}"
    await asyncio.to_thread(migrations.upgrade, "incentives", url)
    db = Database(url)
    u = IncentivesUseCases(db, ManualClock(dt.datetime(2026, 3, 10, 12, tzinfo=UTC)))
    u.checkout = StripeCheckout("sk_test_fake", fake_stripe, max_network_retries=0)
    u.console_url = "https://console.example"
    try:
        yield u
    finally:
        await db.dispose()


async def _control(base: str, sid: str, action: str, **body) -> dict:
    async with httpx.AsyncClient() as client:
        r = await client.post(f"{base}/_sim/checkout/{sid}/{action}", json={"webhook_secret": SECRET, **body})
    assert r.status_code == 200, r.text
    return r.json()


def _relay(event: dict) -> tuple[str, str, dict]:
    """What the wallet relays after verifying the signature: {stripe_event_id, type, session}."""
    return event["id"], event["type"], event["data"]["object"]


async def test_checkout_then_completed_event_funds_once_and_activates(uc, fake_stripe):
    camp = await uc.create_campaign(SPONSOR, campaign_values(budget_cents=25_000), None)
    first = await uc.create_campaign_checkout(SPONSOR, camp.id)
    assert first["checkout_url"].endswith(f"/pay/{first['session_id']}") and first["status"] is None
    stored = fake.SESSIONS[first["session_id"]]
    assert stored["amount_total"] == 25_000 and stored["metadata"]["gross_amount_cents"] == "25000"
    assert stored["metadata"]["platform_fee_cents"] == "5000" and stored["metadata"]["type"] == "campaign_funding"
    assert stored["success_url"] == f"https://console.example/campaigns/{camp.id}?funded=true"
    assert (await uc.get_campaign(SPONSOR, camp.id)).funding_status == "pending"
    again = await uc.create_campaign_checkout(SPONSOR, camp.id)
    assert again["status"] == "already_pending" and again["session_id"] == first["session_id"]

    out = await _control(fake_stripe, first["session_id"], "complete")
    ts, mac = (p.split("=", 1)[1] for p in out["stripe_signature"].split(","))
    assert mac == hmac.new(SECRET.encode(), f"{ts}.{out['payload']}".encode(), hashlib.sha256).hexdigest()
    event = json.loads(out["payload"])
    result = await uc.apply_campaign_funding(SERVICE, *_relay(event))
    assert (result["result"], result["activated"], result["net_funding_cents"]) == ("funded", True, 20_000)
    assert (await uc.apply_campaign_funding(SERVICE, *_relay(event)))["replayed"]
    camp = await uc.get_campaign(SPONSOR, camp.id)
    assert (camp.status, camp.funding_status, camp.budget_cents, camp.platform_fee_cents) == (
        "active", "funded", 20_000, 5000)
    with pytest.raises(errors.FailedPrecondition, match="Only draft campaigns can be funded via checkout"):
        await uc.create_campaign_checkout(SPONSOR, camp.id)


async def test_expired_checkout_returns_to_unfunded_and_a_new_attempt_gets_a_new_session(uc, fake_stripe):
    camp = await uc.create_campaign(SPONSOR, campaign_values(), None)
    first = await uc.create_campaign_checkout(SPONSOR, camp.id)
    out = await _control(fake_stripe, first["session_id"], "expire")
    result = await uc.apply_campaign_funding(SERVICE, *_relay(json.loads(out["payload"])))
    assert result["result"] == "unfunded"
    second = await uc.create_campaign_checkout(SPONSOR, camp.id)
    assert second["session_id"] != first["session_id"] and second["checkout_url"]
    assert (await uc.get_campaign(SPONSOR, camp.id)).checkout_attempt == 2
    # unpaid completion keeps it pending; the async success then funds it
    out = await _control(fake_stripe, second["session_id"], "complete", payment_status="unpaid")
    assert (await uc.apply_campaign_funding(SERVICE, *_relay(json.loads(out["payload"]))))["result"] == "pending"
    out = await _control(fake_stripe, second["session_id"], "async_succeed")
    assert (await uc.apply_campaign_funding(SERVICE, *_relay(json.loads(out["payload"]))))["result"] == "funded"


async def test_provider_errors_are_503_and_change_nothing(uc):
    camp = await uc.create_campaign(SPONSOR, campaign_values(), None)
    uc.checkout = StripeCheckout("sk_test_fake", "http://127.0.0.1:9", max_network_retries=0)
    with pytest.raises(errors.Unavailable, match="Failed to create checkout"):
        await uc.create_campaign_checkout(SPONSOR, camp.id)
    after = await uc.get_campaign(SPONSOR, camp.id)
    assert (after.funding_status, after.checkout_attempt) == ("unfunded", 0)
    small = await uc.create_campaign(SPONSOR, campaign_values(budget_cents=40, cost_per_session_cents=10), None)
    with pytest.raises(errors.FailedPrecondition, match="50"):
        await uc.create_campaign_checkout(SPONSOR, small.id)
