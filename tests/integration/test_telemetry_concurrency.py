"""Races, on SQLite and PostgreSQL: parallel polls of one VIN, parallel token refreshes, two drivers
claiming one VIN, parallel EV-code requests, racing session creates."""
from __future__ import annotations

import asyncio
import datetime as dt

import pytest
import sqlalchemy as sa

from kit import errors
from services.telemetry.adapters.tables import charging_sessions, ev_codes, tesla_connections
from services.telemetry.domain.sessions import Observation
from tests.integration.telemetry_harness import VIN, make_harness

UTC = dt.timezone.utc


@pytest.fixture
async def h(database_url):
    harness = await make_harness(database_url)
    yield harness
    await harness.close()


async def count(h, table, *where) -> int:
    async with h.db.read() as conn:
        return (await conn.execute(sa.select(sa.func.count()).select_from(table).where(*where))).scalar()


async def test_fifty_parallel_polls_of_one_vin_make_one_session_and_one_read(h):
    await h.connect("driver-c")
    await h.script(VIN, (0, "plug_in", {"power_kw": 11}))
    await h.advance(30)
    before = len((await h.sim.get("/_sim/requests")).json()["requests"])
    results = await asyncio.gather(*(h.uc.poll("driver-c", None, None) for _ in range(50)))
    assert all(r["session_active"] is True for r in results), results
    assert len({r["session_id"] for r in results}) == 1
    assert sum(1 for r in results if r["cached"] is False) == 1
    assert await count(h, charging_sessions) == 1
    reads = [r for r in (await h.sim.get("/_sim/requests")).json()["requests"][before:] if "vehicle_data" in r["path"]]
    assert len(reads) == 1  # single flight: ≤ 1 Tesla read per 30 s


async def test_racing_creates_hit_the_open_session_index_and_update(h):
    await h.connect("driver-i")
    now = dt.datetime(2026, 3, 2, 10, 0, tzinfo=UTC)

    async def apply(i: int):
        obs = Observation(observed_at=now + dt.timedelta(seconds=i), charging_state="Charging", battery_level=50,
                          charge_energy_added=0.1 * i, charger_power=11.0, lat=30.3979, lng=-97.7044)
        async with h.db.transaction() as conn:
            return await h.uc.engine.apply(conn, "driver-i", VIN, obs, now + dt.timedelta(seconds=i))

    results = await asyncio.gather(*(apply(i) for i in range(20)))
    assert sorted(r.kind for r in results).count("created") == 1
    assert await count(h, charging_sessions) == 1
    async with h.db.read() as conn:
        obs = (await conn.execute(sa.select(charging_sessions.c.charging_observations))).scalar()
    assert obs == 20


async def test_twenty_parallel_refreshes_rotate_once_and_never_disconnect(h):
    await h.connect("driver-t")
    await h.advance(9 * 3600)  # the 8 h access token expired
    cid = await _connection_id(h, "driver-t")
    await h.uc.clock.sync()
    tokens = await asyncio.gather(*(h.uc.tokens.access_token(cid) for _ in range(20)))
    assert len(set(tokens)) == 1
    async with h.db.read() as conn:
        row = (await conn.execute(sa.select(tesla_connections.c.status, tesla_connections.c.token_version))).first()
    assert row.status == "active" and row.token_version == 2
    world = h.app.state.world
    assert len(world.refresh) == 1 and len(world.dead_refresh) == 1  # one rotation at Tesla
    r = await h.sim.get("/na/api/1/vehicles", headers={"Authorization": f"Bearer {tokens[0]}"})
    assert r.status_code == 200


async def _connection_id(h, driver_id: str) -> str:
    async with h.db.read() as conn:
        return (await conn.execute(sa.select(tesla_connections.c.id)
                                   .where(tesla_connections.c.driver_id == driver_id))).scalar()


async def test_two_drivers_claim_one_vin_one_wins_one_409(h):
    await h.sim.post("/_sim/vehicles", json={"account": "demo", "vin": "5YJYGDEE1MF000002", "display_name": "Y2"})
    await h.connect("driver-x")
    await h.connect("driver-y")  # two vehicles: nothing auto-selected
    items, selected = await h.uc.list_vehicles("driver-x")
    assert selected is None and len(items) == 2
    vid = next(i["id"] for i in items if i["vin"] == VIN)
    results = await asyncio.gather(h.uc.select_vehicle("driver-x", vid), h.uc.select_vehicle("driver-y", vid),
                                   return_exceptions=True)
    ok = [r for r in results if isinstance(r, dict)]
    conflicts = [r for r in results if isinstance(r, errors.AlreadyExists)]
    assert len(ok) == 1 and len(conflicts) == 1, results
    assert conflicts[0].http_status == 409 and conflicts[0].reason == "VIN_CLAIMED"


async def test_parallel_ev_code_requests_make_one_code(h):
    await h.connect("driver-e")
    await h.script(VIN, (0, "plug_in", {"dc": True, "power_kw": 49.6, "fast_charger_type": "Tesla"}))
    await h.advance(30)
    results = await asyncio.gather(*(h.uc.verify_charging("driver-e", 30.3980, -97.7043, "demo-merchant-domain-cafe",
                                                          "Domain Cafe", None) for _ in range(8)))
    codes = {r["ev_code"] for r in results}
    assert len(codes) == 1 and next(iter(codes)).startswith("EV-")
    assert all(r["is_charging"] and r["charge_rate_kw"] == 50 for r in results)
    assert await count(h, ev_codes, ev_codes.c.status == "active") == 1
    listed = await h.uc.list_ev_codes("driver-e")
    assert [c["code"] for c in listed] == list(codes) and listed[0]["merchant_name"] == "Domain Cafe"
    with pytest.raises(errors.FailedPrecondition) as far:
        await h.uc.verify_charging("driver-e", 31.0, -97.0, "demo-merchant-domain-cafe", "Domain Cafe", None)
    assert far.value.reason == "TOO_FAR_FROM_MERCHANT"
    await h.advance(2 * 3600 + 1)
    assert await h.uc.list_ev_codes("driver-e") == []
