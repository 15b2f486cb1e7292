"""Telemetry on SQLite and PostgreSQL: connect through OAuth against the simulator, poll a scripted
plug-in, end times, dedup, pauses, stale cleanup and reopen, events, grants, claims."""
from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest
import sqlalchemy as sa

from kit import errors
from services.telemetry.adapters.tables import charging_sessions, outbox_table, tesla_api_usage, tesla_connections
from tests.integration.telemetry_harness import VIN, make_harness

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
async def h(database_url):
    harness = await make_harness(database_url)
    yield harness
    await harness.close()


async def events(h):
    async with h.db.read() as conn:
        return [(r.topic, r.key, json.loads(r.payload)) for r in await conn.execute(sa.select(outbox_table))]


async def test_connect_select_and_full_session_with_true_end_time(h):
    redirect = await h.connect("driver-1")
    assert redirect == "https://app.nerava.network/tesla-connected?success=true"
    status = await h.uc.tesla_status("driver-1")
    assert status.connected and status.vehicle.vin == VIN and status.vehicle.model == "2022 Model 3"
    async with h.db.read() as conn:
        enc = (await conn.execute(sa.select(tesla_connections.c.access_token_enc))).scalar()
    assert not enc.startswith("sim-at-")  # encrypted at rest

    # asleep, no session: one attempt, never a wake (T1 above read the car: wait out the dedup)
    await h.advance(31)
    assert await h.uc.poll("driver-1", None, None) == {"session_active": False, "vehicle_asleep": True,
                                                       "recommended_interval_s": 300}
    reqs = (await h.sim.get("/_sim/requests")).json()["requests"]
    assert not any("wake_up" in r["path"] for r in reqs)

    await h.script(VIN, (29, "plug_in", {"dc": True, "power_kw": 30, "fast_charger_type": "Tesla"}),
                   (29 + 1800, "unplug", {}))
    await h.advance(89)  # plugged in at T0+60, charging
    r = await h.uc.poll("driver-1", 30.3979, -97.7044)
    assert r["session_active"] is True and r["cached"] is False and r["charger_power_kw"] == 30
    sid = r["session_id"]
    again = await h.uc.poll("driver-1", 30.3979, -97.7044)  # < 30 s later: dedup, no Tesla call
    assert again["cached"] is True and again["session_id"] == sid

    await h.advance(600)
    r = await h.uc.poll("driver-1", None, None)
    assert r["session_active"] and r["cached"] is False and r["duration_minutes"] == 10
    await h.advance(1500)  # unplugged at T0+1860; detected at T0+2220
    r = await h.uc.poll("driver-1", None, None)
    assert r["session_ended"] is True and r["session_id"] == sid and r["incentive_granted"] is False
    s = await h.uc.get_session("driver-1", sid)
    assert s["session_start"] == T0 + dt.timedelta(seconds=120)
    # end = last time seen charging (the T0+720 read), never the detection time
    assert s["session_end"] == T0 + dt.timedelta(seconds=720)
    assert s["end_detected_at"] == T0 + dt.timedelta(seconds=2220)
    assert s["duration_minutes"] == 10 and s["ended_reason"] == "unplugged"
    assert s["charger_id"] == "demo-charger-austin-domain" and s["charger_network"] == "Tesla"
    assert s["connector_type"] == "Tesla" and s["kwh_delivered"] > 0
    assert [p["lat"] for p in json.loads(s["location_trail"])] == [30.3979]
    evs = await events(h)
    assert [(t, k) for t, k, _ in evs] == [("SessionEnded", sid)]
    payload = evs[0][2]
    assert payload["session_end"] == "2026-03-02T10:12:00.000000Z" and payload["ended_reason"] == "unplugged"
    assert payload["driver_completed_session_count"] == 1 and len(payload["vin_hash"]) == 64
    assert VIN not in json.dumps(payload)
    # the driver's history
    listed = await h.uc.list_sessions("driver-1", None, None)
    assert [x["id"] for x in listed] == [sid]
    with pytest.raises(errors.NotFound):
        await h.uc.get_session("driver-2", sid)
    with pytest.raises(errors.NotFound):
        await h.uc.get_session("driver-1", "not-a-uuid")


async def test_pause_grace_then_resume_keeps_one_session_and_stale_cleanup_reopens(h):
    await h.connect("driver-p")
    await h.script(VIN, (0, "plug_in", {"dc": False, "power_kw": 11}), (300, "stop", {}), (900, "resume", {}))
    await h.advance(60)
    sid = (await h.uc.poll("driver-p", None, None))["session_id"]
    await h.advance(300)  # stopped at +300: PAUSED, grace
    r = await h.uc.poll("driver-p", None, None)
    assert r["session_active"] is True and r["session_id"] == sid
    await h.advance(600)  # resumed at +900
    r = await h.uc.poll("driver-p", None, None)
    assert r["session_active"] is True and r["session_id"] == sid

    # the car goes offline: reads fail, the stale closer ends it (stale_cleanup, not emitted yet)
    await h.script(VIN, (0, "offline", {"duration_s": 1200}))
    await h.advance(16 * 60)
    assert await h.uc.sessions.close_stale() == 1
    s = await h.uc.get_session("driver-p", sid)
    assert s["ended_reason"] == "stale_cleanup" and s["emitted_at"] is None
    assert await events(h) == []
    # back online, same plug-in, still charging within 30 min → the same session is reopened
    await h.advance(5 * 60)
    r = await h.uc.poll("driver-p", None, None)
    assert r["session_reopened"] is True and r["session_id"] == sid
    async with h.db.read() as conn:
        n = (await conn.execute(sa.select(sa.func.count()).select_from(charging_sessions))).scalar()
    assert n == 1


async def test_stale_session_settles_and_emits_once(h):
    await h.connect("driver-s")
    await h.script(VIN, (0, "plug_in", {"power_kw": 11}))
    await h.advance(30)
    sid = (await h.uc.poll("driver-s", None, None))["session_id"]
    await h.script(VIN, (0, "offline", {"duration_s": 7200}))
    await h.advance(16 * 60)
    assert await h.uc.sessions.close_stale() == 1
    assert await h.uc.sessions.settle() == 0  # reopen window still open
    await h.advance(31 * 60)
    assert await h.uc.sessions.settle() == 1
    assert await h.uc.sessions.settle() == 0
    evs = await events(h)
    assert [(t, k, p["ended_reason"]) for t, k, p in evs] == [("SessionEnded", sid, "stale_cleanup")]


async def test_manual_end_suppresses_same_plugin_and_grants_apply_idempotently(h):
    await h.connect("driver-m")
    await h.script(VIN, (0, "plug_in", {"power_kw": 11}))
    await h.advance(30)
    sid = (await h.uc.poll("driver-m", None, None))["session_id"]
    ended = await h.uc.end_session("driver-m", sid)
    assert ended["ended_reason"] == "manual"
    with pytest.raises(errors.NotFound):
        await h.uc.end_session("driver-m", sid)  # not open any more
    await h.advance(60)
    r = await h.uc.poll("driver-m", None, None)  # still charging, same plug-in: no new session
    assert r["session_active"] is False
    g = dict(grant_id="g-1", session_id=sid, campaign_id="c-1", amount_cents=250, granted_at=None)
    assert await h.uc.apply_grant_status(status="granted", **g) is True
    assert await h.uc.apply_grant_status(status="granted", **g) is False  # replay
    assert await h.uc.apply_grant_status(status="clawed_back", **g) is True
    assert await h.uc.apply_grant_status(status="granted", **g) is False  # late granted never wins
    view = await h.uc.get_session("driver-m", sid)
    assert view["inc_status"] == "clawed_back" and view["inc_amount_cents"] == 250
    assert await h.uc.apply_grant_status(status="granted", **{**g, "session_id": "unknown"}) is False
    overl = await h.uc.find_overlapping("driver-m", T0, T0 + dt.timedelta(hours=1), None)
    assert [o["id"] for o in overl] == [sid]
    assert await h.uc.find_overlapping("driver-x", T0, T0 + dt.timedelta(hours=1), None) == []
    assert await h.uc.find_overlapping("driver-m", T0, T0 + dt.timedelta(hours=1), sid) != []


async def test_second_driver_cannot_claim_the_same_vin(h):
    await h.connect("driver-a")
    # the same Tesla account connected by a second Nerava driver: no auto-selection, and T9 → 409
    assert (await h.connect("driver-b")).endswith("success=true")
    status = await h.uc.tesla_status("driver-b")
    assert status.connected and status.vehicle is None
    items, _ = await h.uc.list_vehicles("driver-b")
    with pytest.raises(errors.AlreadyExists) as exc:
        await h.uc.select_vehicle("driver-b", items[0]["id"])
    assert exc.value.http_status == 409
    with pytest.raises(errors.NotFound):
        await h.uc.select_vehicle("driver-b", "123")
    # after driver-a disconnects, the claim is released
    await h.uc.disconnect("driver-a")
    assert (await h.uc.select_vehicle("driver-b", items[0]["id"]))["vin"] == VIN
    assert (await h.uc.poll("driver-a", None, None))["error"] == "no_tesla_connection"


async def test_budget_limits_reads_per_day(database_url):
    h = await make_harness(database_url, TESLA_DATA_BUDGET_PER_DAY=3, TESLA_DATA_BUDGET_RESERVED=1)
    try:
        await h.connect("driver-b")
        results = []
        for _ in range(4):
            results.append(await h.uc.poll("driver-b", None, None))
            await h.advance(31)
        # 3 - 1 reserved for open sessions = 2 reads without a session; then cached answers
        assert [r.get("vehicle_asleep") for r in results] == [True, True, None, None]
        assert results[2]["cached"] is True
        async with h.db.read() as conn:
            counts = (await conn.execute(sa.select(tesla_api_usage.c.count)
                                         .where(tesla_api_usage.c.category == "data"))).scalars().all()
        assert counts == [2]
    finally:
        await h.close()


async def test_revoked_consent_marks_reauth_and_poll_says_token_expired(h):
    await h.connect("driver-r")
    await h.sim.post("/_sim/accounts/demo/revoke")
    await h.advance(9 * 3600)  # access token expired → refresh → refused
    assert (await h.uc.poll("driver-r", None, None)) == {"session_active": False, "error": "token_expired"}
    async with h.db.read() as conn:
        assert (await conn.execute(sa.select(tesla_connections.c.status))).scalar() == "reauth_required"
    assert (await h.uc.poll("driver-r", None, None))["error"] == "token_expired"


async def _paths(h, since: int = 0) -> list[str]:
    return [r["path"].rsplit("/", 1)[-1] for r in (await h.sim.get("/_sim/requests")).json()["requests"][since:]]


async def test_open_session_408_wakes_once_then_reads(h):
    await h.connect("driver-k")
    await h.script(VIN, (0, "plug_in", {"power_kw": 11}))
    await h.advance(10)
    sid = (await h.uc.poll("driver-k", None, None))["session_id"]
    await h.sim.post("/_sim/faults", json={"path": "vehicle_data", "status": 408, "count": 1})
    await h.advance(60)
    n = len((await h.sim.get("/_sim/requests")).json()["requests"])
    r = await h.uc.poll("driver-k", None, None)
    assert r["session_active"] is True and r["session_id"] == sid and r["cached"] is False
    assert await _paths(h, n) == ["vehicle_data", "wake_up", "vehicle_data"]
    # a second 408 within 10 minutes: no second wake
    await h.sim.post("/_sim/faults", json={"path": "vehicle_data", "status": 408, "count": 1})
    await h.advance(60)
    n = len((await h.sim.get("/_sim/requests")).json()["requests"])
    await h.uc.poll("driver-k", None, None)
    assert await _paths(h, n) == ["vehicle_data", "vehicle_data"]


async def test_429_retry_after_is_honoured_for_every_caller(h):
    await h.connect("driver-l")
    await h.sim.post("/_sim/faults", json={"path": "vehicle_data", "status": 429, "count": 1, "retry_after_s": 120})
    r = await h.uc.poll("driver-l", None, None)
    assert r["cached"] is True and r["session_active"] is False
    await h.advance(60)
    n = len((await h.sim.get("/_sim/requests")).json()["requests"])
    assert (await h.uc.poll("driver-l", None, None))["cached"] is True
    assert await _paths(h, n) == []  # still inside Retry-After: no call
    await h.advance(61)
    assert (await h.uc.poll("driver-l", None, None)).get("vehicle_asleep") is True
    assert await _paths(h, n) == ["vehicle_data"]


async def test_421_wrong_region_resolves_stores_and_retries_once(h):
    await h.connect("driver-n")
    await h.sim.post("/_sim/accounts/demo/region", json={"region": "eu"})
    r = await h.uc.poll("driver-n", None, None)
    assert r.get("vehicle_asleep") is True  # the retried read reached the car in the new region
    async with h.db.read() as conn:
        assert (await conn.execute(sa.select(tesla_connections.c.region))).scalar() == "eu"
    reqs = (await h.sim.get("/_sim/requests")).json()["requests"]
    assert [(r["path"].split("/")[1], r["status"]) for r in reqs if "vehicle_data" in r["path"]] == [
        ("na", 421), ("eu", 408)]


async def test_421_on_the_vehicle_list_resolves_and_stores_the_region(h):
    await h.connect("driver-r")
    n = len((await h.sim.get("/_sim/requests")).json()["requests"])
    await h.sim.post("/_sim/accounts/demo/region", json={"region": "eu"})
    vehicles, _ = await h.uc.list_vehicles("driver-r")
    assert vehicles, "the retried list reached the account in its new region"
    async with h.db.read() as conn:
        assert (await conn.execute(sa.select(tesla_connections.c.region))).scalar() == "eu"
    reqs = (await h.sim.get("/_sim/requests")).json()["requests"][n:]
    assert [(r["path"].split("/")[1], r["status"]) for r in reqs if r["path"].endswith("/vehicles")] == [
        ("na", 421), ("eu", 200)]


async def test_tesla_5xx_is_poll_failed_and_never_changes_the_connection(h):
    await h.connect("driver-f")
    await h.sim.post("/_sim/faults", json={"path": "vehicle_data", "status": 503, "count": 1})
    assert (await h.uc.poll("driver-f", None, None)) == {"session_active": False, "error": "poll_failed"}
    async with h.db.read() as conn:
        assert (await conn.execute(sa.select(tesla_connections.c.status))).scalar() == "active"
        used = (await conn.execute(sa.select(tesla_api_usage.c.count))).scalars().all()
    assert used == [0]  # refunded: Tesla does not bill >= 500
    await h.sim.patch(f"/_sim/vehicles/{VIN}", json={"in_service": True, "state": "online"})
    await h.advance(31)
    assert (await h.uc.poll("driver-f", None, None))["error"] == "vehicle_unavailable"


async def test_status_reads_the_car_at_most_every_15_minutes_without_waking(h):
    await h.connect("driver-st")
    await h.sim.patch(f"/_sim/vehicles/{VIN}", json={"state": "online", "battery": 71})
    n = len((await h.sim.get("/_sim/requests")).json()["requests"])
    assert (await h.uc.tesla_status("driver-st")).vehicle.battery_level == 71
    await h.sim.patch(f"/_sim/vehicles/{VIN}", json={"battery": 72})
    await h.advance(600)
    assert (await h.uc.tesla_status("driver-st")).vehicle.battery_level == 71  # < 15 min: stored value
    await h.advance(301)
    await h.sim.patch(f"/_sim/vehicles/{VIN}", json={"state": "asleep"})
    assert (await h.uc.tesla_status("driver-st")).vehicle.battery_level == 71  # asleep: falls back, no wake
    assert await _paths(h, n) == ["vehicle_data", "vehicle_data"]


async def test_background_ping_force_close_and_charger_reads(h):
    assert await h.uc.background_ping("driver-bp", 10.0, 10.0) == {"matched": False}
    assert (await h.uc.background_ping("driver-bp", 30.3979, -97.7044))["reason"] == "no_tesla_connection"
    with pytest.raises(errors.InvalidArgument):
        await h.uc.background_ping("driver-bp", 30.3979, None)
    await h.connect("driver-bp")
    await h.script(VIN, (0, "plug_in", {"power_kw": 11}))
    await h.advance(10)
    r = await h.uc.background_ping("driver-bp", 30.3980, -97.7045)  # ≤ 300 m: one poll
    assert r["matched"] and r["session_active"] and r["charger_id"] == "demo-charger-austin-domain"
    sid = r["session_id"]
    again = await h.uc.background_ping("driver-bp", 30.3980, -97.7045)  # open: trail point only
    assert again == {"matched": True, "session_active": True, "session_id": sid, "already_active": True}
    await h.advance(20 * 60)
    await h.uc.poll("driver-bp", None, None)
    s, ended = await h.uc.force_close(sid, "fraud review")
    assert ended and s["ended_reason"] == "admin_force_close" and s["quality_score"] == 0
    assert s["duration_minutes"] == 20
    s2, ended2 = await h.uc.force_close(sid, "again")
    assert not ended2 and s2["ended_reason"] == "admin_force_close"
    evs = await events(h)
    assert [(k, p["ended_reason"], p["quality_score"]) for _, k, p in evs] == [(sid, "admin_force_close", 0)]
    rows, total = await h.uc.list_chargers("austin", "", "TX", None, None)
    assert total == 3 and {r["id"]: r["total_sessions"] for r in rows}["demo-charger-austin-domain"] == 1
    util = await h.uc.charger_utilization(["demo-charger-austin-domain,unknown"], 7)
    assert util == [{"charger_id": "demo-charger-austin-domain", "total_sessions": 1, "unique_drivers": 1,
                     "avg_duration_minutes": 20.0},
                    {"charger_id": "unknown", "total_sessions": 0, "unique_drivers": 0, "avg_duration_minutes": 0.0}]
    with pytest.raises(errors.InvalidArgument):
        await h.uc.charger_utilization([], 91)
    with pytest.raises(errors.InvalidArgument):
        await h.uc.list_chargers("", "", "", 0, None)
    c = await h.uc.get_charger("demo-charger-austin-domain")
    assert c["network_name"] == "Tesla" and c["zone_id"] == "austin-north" and c["connector_types"] == ["Tesla"]
    with pytest.raises(errors.NotFound):
        await h.uc.get_charger("nope")
