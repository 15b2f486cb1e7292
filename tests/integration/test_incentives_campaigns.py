"""Campaign lifecycle, ownership, validation, funding and the engine on real SQLite and PostgreSQL."""
from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest
import sqlalchemy as sa

from kit import errors, migrations
from kit.clock import ManualClock
from kit.db import Database
from services.incentives.adapters import tables as t
from services.incentives.app.usecases import IncentivesUseCases
from tests.integration.incentives_helpers import (
    ADMIN, DRIVER, OTHER_SPONSOR, SERVICE, SPONSOR, UTC, campaign_values, funded_active, session)

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
async def uc(database_url):
    await asyncio.to_thread(migrations.upgrade, "incentives", database_url)
    db = Database(database_url)
    try:
        yield IncentivesUseCases(db, ManualClock(NOW))
    finally:
        await db.dispose()


async def test_create_get_list_and_ownership(uc):
    camp = await uc.create_campaign(SPONSOR, campaign_values(
        end_date="2026-06-30", max_sessions=50, auto_renew=True, auto_renew_budget_cents=500,
        rules={"time_start": "8:00", "time_end": "17:30", "charger_ids": [" a ", "a", "b"]},
        caps={"per_day": 1, "per_week": 0}), None)
    assert (camp.status, camp.funding_status) == ("draft", "unfunded")
    assert (camp.max_sessions, camp.auto_renew, camp.auto_renew_budget_cents) == (50, True, 500)
    assert camp.rules["time_start"] == "08:00" and camp.rules["charger_ids"] == ["a", "b"]
    assert camp.caps == {"per_day": 1}  # a cap of 0 is unlimited
    assert camp.start_date == "2026-01-01T00:00:00" and camp.end_date == "2026-06-30T23:59:59"
    assert camp.starts_at == dt.datetime(2026, 1, 1, 6, tzinfo=UTC)  # CST
    assert camp.ends_at == dt.datetime(2026, 7, 1, 5, tzinfo=UTC)  # next local midnight, CDT
    assert (await uc.get_campaign(SPONSOR, camp.id)).id == camp.id
    assert (await uc.get_campaign(ADMIN, camp.id)).id == camp.id
    with pytest.raises(errors.NotFound, match="Campaign not found"):
        await uc.get_campaign(OTHER_SPONSOR, camp.id)
    with pytest.raises(errors.InvalidArgument):
        await uc.get_campaign(SPONSOR, "not-a-uuid")
    with pytest.raises(errors.PermissionDenied, match="Sponsor or admin access required"):
        await uc.create_campaign(DRIVER, campaign_values(), None)
    with pytest.raises(errors.PermissionDenied):
        await uc.create_campaign(SPONSOR, campaign_values(owner_id="x"), None)
    on_behalf = await uc.create_campaign(ADMIN, campaign_values(owner_id="sponsor-2"), None)
    assert on_behalf.owner_id == "sponsor-2"
    mine, total = await uc.list_campaigns(SPONSOR, status=None, sponsor_name=None, limit=None, offset=None)
    assert [c.id for c in mine] == [camp.id] and total == 1
    everyone, total = await uc.list_campaigns(ADMIN, status=None, sponsor_name="acme ENERGY", limit=None, offset=None)
    assert total == 2


async def test_create_is_idempotent_on_request_id(uc):
    a = await uc.create_campaign(SPONSOR, campaign_values(), "req-1")
    b = await uc.create_campaign(SPONSOR, campaign_values(name="other"), "req-1")
    assert a.id == b.id


@pytest.mark.parametrize("over,field", [
    ({"time_zone": "Mars/Olympus"}, "time_zone"), ({"budget_cents": -5}, "budget_cents"),
    ({"cost_per_session_cents": 20_000}, "cost_per_session_cents"),
    ({"start_date": "2026-05-01", "end_date": "2026-04-01"}, "end_date"),
    ({"rules": {"time_start": "25:00", "time_end": "10:00"}}, "rules.time_start"),
    ({"rules": {"geo_center_lat": 30.0}}, "rules.geo_center_lat"),
    ({"rules": {"days_of_week": [0]}}, "rules.days_of_week"),
    ({"caps": {"per_day": -1}}, "caps.per_day"), ({"name": ""}, "name"), ({"start_date": "soon"}, "start_date"),
    ({"priority": -1}, "priority"),
])
async def test_invalid_input_names_the_field(uc, over, field):
    with pytest.raises(errors.InvalidArgument) as info:
        await uc.create_campaign(SPONSOR, campaign_values(**over), None)
    assert field in info.value.message


async def test_update_is_partial_with_explicit_clears(uc):
    camp = await uc.create_campaign(SPONSOR, campaign_values(
        end_date="2026-06-30", rules={"driver_allowlist": ["a@x.com"], "min_duration_minutes": 20,
                                      "zone_ids": ["z1"]}, caps={"per_day": 2}), None)
    up = await uc.update_campaign(SPONSOR, camp.id, ["end_date", "rules.driver_allowlist", "name", "sponsor_name"],
                                  {"end_date": None, "rules": {"driver_allowlist": None}, "name": "Renamed",
                                   "sponsor_name": "ignored"})
    assert up.end_date is None and up.ends_at is None and "driver_allowlist" not in up.rules
    assert up.rules["min_duration_minutes"] == 20 and up.rules["zone_ids"] == ["z1"]  # untouched
    assert up.name == "Renamed" and up.sponsor_name == "Acme Energy"
    up = await uc.update_campaign(SPONSOR, camp.id, ["rules.min_duration_minutes", "caps.per_day"],
                                  {"rules": {"min_duration_minutes": None}, "caps": {"per_day": None}})
    assert up.rules["min_duration_minutes"] == 15 and up.caps == {}
    up = await uc.update_campaign(SPONSOR, camp.id, ["time_zone"], {"time_zone": "America/New_York"})
    assert up.starts_at == dt.datetime(2026, 1, 1, 5, tzinfo=UTC)
    with pytest.raises(errors.NotFound):
        await uc.update_campaign(OTHER_SPONSOR, camp.id, ["name"], {"name": "x"})
    with pytest.raises(errors.PermissionDenied):
        await uc.update_campaign(SPONSOR, camp.id, ["owner_id"], {"owner_id": "x"})
    await uc.fund_mock(SPONSOR, camp.id)
    with pytest.raises(errors.FailedPrecondition, match="Budget cannot be changed after funding has started"):
        await uc.update_campaign(SPONSOR, camp.id, ["budget_cents"], {"budget_cents": 999})
    await uc.activate_campaign(SPONSOR, camp.id)
    with pytest.raises(errors.FailedPrecondition, match="Cannot edit campaign in 'active' status"):
        await uc.update_campaign(SPONSOR, camp.id, ["name"], {"name": "y"})
    await uc.pause_campaign(SPONSOR, camp.id, "break")
    with pytest.raises(errors.FailedPrecondition, match="time_zone"):
        await uc.update_campaign(SPONSOR, camp.id, ["time_zone"], {"time_zone": "UTC"})
    assert (await uc.update_campaign(SPONSOR, camp.id, ["priority"], {"priority": 7})).priority == 7


async def test_lifecycle_and_guards(uc):
    camp = await uc.create_campaign(SPONSOR, campaign_values(end_date="2026-03-31"), None)
    with pytest.raises(errors.FailedPrecondition, match=r"funded before activation \(current: unfunded\)"):
        await uc.activate_campaign(SPONSOR, camp.id)
    funded = await uc.fund_mock(SPONSOR, camp.id)
    assert funded["status"] == "funded" and funded["session_id"].startswith("cs_mock_")
    camp = await uc.get_campaign(SPONSOR, camp.id)
    assert (camp.status, camp.funding_status, camp.budget_cents, camp.gross_funding_cents,
            camp.platform_fee_cents) == ("draft", "funded", 8000, 10_000, 2000)
    with pytest.raises(errors.FailedPrecondition, match="Campaign is already funded"):
        await uc.create_campaign_checkout(SPONSOR, camp.id)
    with pytest.raises(errors.FailedPrecondition, match="Can only pause active campaigns, current status: draft"):
        await uc.pause_campaign(SPONSOR, camp.id, None)
    assert (await uc.activate_campaign(SPONSOR, camp.id, "key-1")).status == "active"
    assert (await uc.activate_campaign(SPONSOR, camp.id, "key-1")).status == "active"  # replay of the key
    with pytest.raises(errors.FailedPrecondition, match="Can only activate draft campaigns"):
        await uc.activate_campaign(SPONSOR, camp.id, "key-2")
    with pytest.raises(errors.InvalidArgument):
        await uc.pause_campaign(SPONSOR, camp.id, "x" * 501)
    paused = await uc.pause_campaign(SPONSOR, camp.id, "holiday")
    assert paused.status == "paused" and paused.pause_reason == "holiday"
    with pytest.raises(errors.FailedPrecondition, match="Can only resume paused campaigns"):
        await uc.resume_campaign(ADMIN, (await uc.resume_campaign(SPONSOR, camp.id)).id)
    budget = await uc.get_campaign_budget(SPONSOR, camp.id)
    assert (budget.budget_cents, budget.remaining_cents, budget.pct_used) == (8000, 8000, 0.0)
    uc.clock.set(dt.datetime(2026, 4, 1, 5, 0, tzinfo=UTC))  # the end (exclusive) has passed
    assert (await uc.get_campaign(SPONSOR, camp.id)).effective_status(uc.clock.now()) == "completed"
    uc.clock.advance(minutes=121)
    assert await uc.sweep_completed() == [camp.id]
    assert (await uc.get_campaign(SPONSOR, camp.id)).status == "completed"
    with pytest.raises(errors.FailedPrecondition, match="Cannot cancel campaign in 'completed' status"):
        await uc.cancel_campaign(SPONSOR, camp.id, None)
    other = await uc.create_campaign(SPONSOR, campaign_values(), None)
    canceled, unspent = await uc.cancel_campaign(SPONSOR, other.id, "changed my mind")
    assert canceled.status == "canceled" and unspent == 10_000


async def test_engine_grants_once_with_effects_in_one_transaction(uc):
    from services.incentives.adapters import metrics
    granted_before = metrics.EVALUATIONS.labels("granted", "")._value.get()
    camp = await funded_active(uc, rules={"charger_networks": ["Charge Point"]})
    s = session()
    out = await uc.ingest_session_ended(SERVICE, s)
    assert out.outcome == "granted" and out.grant["amount_cents"] == 100
    again = await uc.ingest_session_ended(SERVICE, s)
    assert again.replayed and again.grant["id"] == out.grant["id"]
    assert metrics.EVALUATIONS.labels("granted", "")._value.get() == granted_before + 1  # replays not counted
    with pytest.raises(errors.PermissionDenied):
        await uc.ingest_session_ended(DRIVER, session())
    async with uc.db.read() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(t.incentive_grants))).scalar_one() == 1
        topics = sorted(r.topic for r in await conn.execute(sa.select(t.outbox_table.c.topic)))
        assert topics == ["GrantCreated", "GrantStatusChanged"]
        payload = json.loads((await conn.execute(sa.select(t.outbox_table.c.payload).where(
            t.outbox_table.c.key == f"grant:{out.grant['id']}"))).scalar_one())
        assert payload["campaign_name"] == "Evening boost" and payload["sponsor_name"] == "Acme Energy"
    assert await uc.nova_balance(SERVICE, "driver-1") == 100
    grants, total = await uc.list_campaign_grants(SPONSOR, camp.id, None, None)
    assert total == 1 and grants[0].driver_id == "driver-1"
    with pytest.raises(errors.NotFound):
        await uc.list_campaign_grants(OTHER_SPONSOR, camp.id, None, None)
    assert (await uc.get_campaign_budget(SPONSOR, camp.id)).spent_cents == 100


async def test_gates_caps_priority_and_reputation(uc):
    low = await funded_active(uc, name="second", priority=10, caps={"per_day": 1})
    top = await funded_active(uc, name="first", priority=5, caps={"per_day": 1})
    assert (await uc.ingest_session_ended(SERVICE, session(verified=False))).reason == "not_verified"
    assert (await uc.ingest_session_ended(SERVICE, session(quality_score=29))).reason == "low_quality"
    assert (await uc.ingest_session_ended(SERVICE, session(fraud_flags=("location_jump",)))).reason == "fraud_flag"
    assert (await uc.ingest_session_ended(SERVICE, session(ended_reason="admin_force_close"))).reason == "force_closed"
    assert (await uc.ingest_session_ended(SERVICE, session(minutes=10))).outcome == "no_match"  # < 15 min
    first = await uc.ingest_session_ended(SERVICE, session())
    second = await uc.ingest_session_ended(SERVICE, session(start=dt.datetime(2026, 3, 10, 20, tzinfo=UTC)))
    third = await uc.ingest_session_ended(SERVICE, session(start=dt.datetime(2026, 3, 10, 22, tzinfo=UTC)))
    assert first.grant["campaign_id"] == top.id  # lower priority wins
    assert second.grant["campaign_id"] == low.id  # top's per_day cap reached
    assert third.outcome == "no_match"
    # next local day (Chicago): 2026-03-11 06:00 UTC is 01:00 CDT
    fourth = await uc.ingest_session_ended(SERVICE, session(start=dt.datetime(2026, 3, 11, 6, tzinfo=UTC)))
    assert fourth.grant["campaign_id"] == top.id
    rep = await uc.get_reputation(DRIVER)
    # +5 for each no-grant session with quality > 30 and duration >= 1 (not_verified, fraud, force-closed,
    # too short and the capped one); low_quality (29) earns nothing
    assert rep.points == 25 and rep.tier == "Bronze"


async def test_clawback_reverses_everything_once(uc):
    camp = await funded_active(uc, budget_cents=250, cost_per_session_cents=100)  # net 200: two grants
    g1 = (await uc.ingest_session_ended(SERVICE, session())).grant
    await uc.ingest_session_ended(SERVICE, session(start=dt.datetime(2026, 3, 10, 19, tzinfo=UTC)))
    assert (await uc.get_campaign(SPONSOR, camp.id)).status == "exhausted"
    changed, g = await uc.clawback_grant(ADMIN, g1["id"], "fraud")
    assert changed and g["status"] == "clawed_back" and g["nova_reversed"] == 100
    again, _ = await uc.clawback_grant(ADMIN, g1["id"], "fraud")
    assert not again
    after = await uc.get_campaign(SPONSOR, camp.id)
    assert (after.status, after.spent_cents, after.sessions_granted) == ("active", 100, 1)
    assert await uc.nova_balance(SERVICE, "driver-1") == 100
    with pytest.raises(errors.InvalidArgument, match="reason"):
        await uc.clawback_grant(ADMIN, g1["id"], " ")
    with pytest.raises(errors.PermissionDenied):
        await uc.clawback_grant(SPONSOR, g1["id"], "x")
    report = await uc.reconcile(ADMIN, [])
    assert report["campaign_drifts"] == [] and report["nova_drifts"] == [] and report["ledger_balanced"]
    async with uc.db.read() as conn:
        keys = {r.key for r in await conn.execute(sa.select(t.outbox_table.c.key))}
    assert {f"grant_clawback:{g1['id']}", f"{g1['id']}:clawed_back"} <= keys


async def test_funding_event_applies_once_net_of_fee(uc):
    camp = await uc.create_campaign(SPONSOR, campaign_values(budget_cents=20_000), None)
    sess = {"id": "cs_test_1", "status": "complete", "payment_status": "paid", "amount_total": 20_000,
            "currency": "usd", "client_reference_id": camp.id,
            "metadata": {"type": "campaign_funding", "campaign_id": camp.id, "gross_amount_cents": "20000"}}
    first = await uc.apply_campaign_funding(SERVICE, "evt_1", "checkout.session.completed", sess)
    assert first["result"] == "funded" and first["activated"] and first["net_funding_cents"] == 16_000
    assert (await uc.apply_campaign_funding(SERVICE, "evt_1", "checkout.session.completed", sess))["replayed"]
    other_event = await uc.apply_campaign_funding(SERVICE, "evt_2", "checkout.session.async_payment_succeeded", sess)
    assert other_event["result"] == "funded" and other_event["replayed"]
    other_session = await uc.apply_campaign_funding(SERVICE, "evt_3", "checkout.session.completed",
                                                    {**sess, "id": "cs_test_2"})
    assert other_session["result"] == "needs_refund"
    camp = await uc.get_campaign(SPONSOR, camp.id)
    assert (camp.budget_cents, camp.status) == (16_000, "active")
    bad = await uc.apply_campaign_funding(SERVICE, "evt_4", "checkout.session.completed",
                                          {**sess, "metadata": {**sess["metadata"], "campaign_id": "0" * 8 + "-0000-0000-0000-" + "0" * 12}})
    assert bad["result"] == "needs_review"
    mismatch = await uc.create_campaign(SPONSOR, campaign_values(), None)
    r = await uc.apply_campaign_funding(SERVICE, "evt_5", "checkout.session.completed", {
        **sess, "client_reference_id": mismatch.id, "amount_total": 10,
        "metadata": {"type": "campaign_funding", "campaign_id": mismatch.id, "gross_amount_cents": "10000"}})
    assert r["result"] == "amount_mismatch"
    assert (await uc.apply_campaign_funding(SERVICE, "evt_6", "payment_intent.succeeded", sess))["result"] == "ignored"


async def test_driver_active_campaigns_reward_hints_explain_and_batch(uc):
    from services.incentives.adapters.peers import ChargerInfo, StaticChargers
    uc.chargers = StaticChargers({"ch-9": ChargerInfo("ch-9", network_name="EVgo", zone_id="z9", lat=30.0, lng=-97.0)})
    uc.clock.set(dt.datetime(2026, 3, 10, 18, 0, tzinfo=UTC))  # 13:00 CDT, Tuesday
    by_net = await funded_active(uc, name="net", cost_per_session_cents=300, rules={"charger_networks": ["evgo"]})
    geo = await funded_active(uc, name="geo", cost_per_session_cents=200,
                              rules={"geo_center_lat": 30.0, "geo_center_lng": -97.0, "geo_radius_m": 500})
    await funded_active(uc, name="evening", rules={"time_start": "18:00", "time_end": "20:00"})
    listed = await funded_active(uc, name="vip", rules={"driver_allowlist": ["someone@else.com"]})
    rows = {c.name: eligible for c, eligible in
            await uc.list_driver_active_campaigns(DRIVER, lat=None, lng=None, charger_id="ch-9")}
    assert rows == {"net": True, "geo": True, "evening": False}  # the allowlist hides "vip"
    rows = {c.name for c, _ in await uc.list_driver_active_campaigns(DRIVER, lat=None, lng=None, charger_id=None)}
    assert rows == {"net", "evening"}  # no position: geo campaigns hidden
    with pytest.raises(errors.InvalidArgument):
        await uc.list_driver_active_campaigns(DRIVER, lat=1.0, lng=None, charger_id=None)
    with pytest.raises(errors.PermissionDenied):
        await uc.list_driver_active_campaigns(SPONSOR, lat=None, lng=None, charger_id=None)
    hints = await uc.rewards_for_chargers(SERVICE, [
        {"charger_id": "ch-9", "network_name": "EVgo", "lat": 30.0, "lng": -97.0},
        {"charger_id": "x", "network_name": "Blink", "lat": 10.0, "lng": 10.0}], None, None)
    # "evening" pays 18:00–20:00 local only; at 13:00 no campaign pays at charger x
    assert [(cid, c.id if c else None) for cid, c in hints] == [("ch-9", by_net.id), ("x", None)]
    out = await uc.ingest_session_ended(SERVICE, session(charger_network="EVgo", lat=30.0, lng=-97.0))
    assert out.grant["campaign_id"] in {by_net.id, geo.id}
    row, stored, cands = await uc.explain_session(ADMIN, out.grant["session_id"])
    assert stored.outcome == "granted" and {c["campaign_id"] for c in cands} >= {by_net.id, geo.id}
    assert [c["failed_rule"] for c in cands if c["campaign_id"] == listed.id] == ["driver_allowlist"]
    got = await uc.batch_get_grants(SERVICE, [out.grant["id"]], [out.grant["session_id"]])
    assert [g["id"] for g in got] == [out.grant["id"]]
    with pytest.raises(errors.InvalidArgument):
        await uc.batch_get_grants(SERVICE, ["nope"], [])


async def test_cap_buckets_follow_local_midnight_across_dst(uc):
    uc.clock.set(dt.datetime(2026, 2, 1, tzinfo=UTC))
    await funded_active(uc, caps={"per_day": 1}, budget_cents=100_000)

    def at(*args):
        return session(start=dt.datetime(*args, tzinfo=UTC))

    # spring forward (2026-03-08): 05:59 UTC = 23:59 CST Mar 7, 06:00 UTC = 00:00 CST Mar 8
    assert (await uc.ingest_session_ended(SERVICE, at(2026, 3, 8, 5, 59))).outcome == "granted"
    assert (await uc.ingest_session_ended(SERVICE, at(2026, 3, 8, 6, 0))).outcome == "granted"
    assert (await uc.ingest_session_ended(SERVICE, at(2026, 3, 9, 4, 59))).outcome == "no_match"  # 23:59 CDT Mar 8
    # fall back (2026-11-01, a 25-hour local day): 05:30 UTC = 00:30 CDT, 2026-11-02 05:30 UTC = 23:30 CST
    assert (await uc.ingest_session_ended(SERVICE, at(2026, 11, 1, 5, 30))).outcome == "granted"
    assert (await uc.ingest_session_ended(SERVICE, at(2026, 11, 2, 5, 30))).outcome == "no_match"
    assert (await uc.ingest_session_ended(SERVICE, at(2026, 11, 2, 6, 0))).outcome == "granted"  # 00:00 CST Nov 2
    grants, _ = await uc.list_campaign_grants(SPONSOR, (await uc.list_campaigns(
        SPONSOR, status=None, sponsor_name=None, limit=None, offset=None))[0][0].id, None, None)
    assert sorted(g.local_day for g in grants) == ["2026-03-07", "2026-03-08", "2026-11-01", "2026-11-02"]


async def test_partner_sessions_are_partner_managed_without_nova_or_wallet_credit(uc):
    await funded_active(uc, allow_partner_sessions=True, partner_ids=["p1"], max_partner_trust_tier=2)
    assert (await uc.ingest_session_ended(SERVICE, session(partner_id="p2", partner_trust_tier=1))).outcome == "no_match"
    out = await uc.ingest_session_ended(SERVICE, session(partner_id="p1", partner_trust_tier=1))
    assert out.outcome == "granted" and out.grant["reward_destination"] == "partner_managed"
    assert await uc.nova_balance(SERVICE, "driver-1") == 0
    async with uc.db.read() as conn:
        topics = [r.topic for r in await conn.execute(sa.select(t.outbox_table.c.topic))]
    assert topics == ["GrantStatusChanged"]
    changed, g = await uc.clawback_grant(ADMIN, out.grant["id"], "partner dispute")
    assert changed and g.get("nova_reversed") is None
