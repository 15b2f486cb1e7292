"""ADR 0085, on SQLite and PostgreSQL: the poll's in-process dedup cache answers a dedup hit without
touching the database, and every local write that changes a poll answer drops the entry."""
from __future__ import annotations

import contextlib
import datetime as dt
import json

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from services.telemetry.adapters.tables import charging_sessions
from tests.integration.telemetry_harness import VIN, make_harness

UTC = dt.timezone.utc
LAT, LNG = 30.3979, -97.7044


@pytest.fixture
async def h(database_url):
    harness = await make_harness(database_url, POLL_CACHE_MAX_S=30)
    yield harness
    await harness.close()


@contextlib.contextmanager
def db_traffic(h):
    """Counts SQL statements and pool checkouts on the harness's engine while the block runs."""
    seen = {"statements": 0, "checkouts": 0}

    def on_statement(*_a, **_k):
        seen["statements"] += 1

    def on_checkout(*_a, **_k):
        seen["checkouts"] += 1

    engine = h.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", on_statement)
    event.listen(engine, "checkout", on_checkout)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)
        event.remove(engine, "checkout", on_checkout)


async def charging_and_cached(h, driver: str) -> str:
    """Connect, plug in, open a session with one read; the next poll stores the dedup context."""
    await h.connect(driver)
    await h.script(VIN, (0, "plug_in", {"power_kw": 11}))
    await h.advance(31)
    first = await h.uc.poll(driver, LAT, LNG)
    assert first["session_active"] and first["cached"] is False
    second = await h.uc.poll(driver, LAT, LNG)
    assert second["cached"] is True and second["session_id"] == first["session_id"]
    assert h.uc.poll_cache.get(driver) is not None
    return first["session_id"]


async def trail(h, sid: str) -> list[dict]:
    async with h.db.read() as conn:
        raw = (await conn.execute(sa.select(charging_sessions.c.location_trail)
                                  .where(charging_sessions.c.id == sid))).scalar()
    return json.loads(raw)


async def test_a_dedup_hit_never_touches_the_database(h):
    sid = await charging_and_cached(h, "driver-c")
    with db_traffic(h) as seen:
        for _ in range(5):
            r = await h.uc.poll("driver-c", LAT, LNG)
            assert r["session_active"] and r["cached"] is True and r["session_id"] == sid
            assert r["battery_level"] is not None
        r = await h.uc.poll("driver-c", None, None)
        assert r["cached"] is True and r["session_id"] == sid
    assert seen == {"statements": 0, "checkouts": 0}
    # the repeated device position was stored once (the same place within the interval adds nothing)
    assert [(p["lat"], p["lng"]) for p in await trail(h, sid)] == [(LAT, LNG)]


async def test_a_moved_device_point_is_still_written(h):
    sid = await charging_and_cached(h, "driver-m")
    await h.advance(5)
    with db_traffic(h) as seen:
        r = await h.uc.poll("driver-m", LAT + 0.001, LNG)  # ~110 m away: a new trail point
    assert r["cached"] is True and seen["statements"] > 0
    assert [p["lat"] for p in await trail(h, sid)] == [LAT, LAT + 0.001]


async def test_the_entry_lapses_with_the_dedup_window(h):
    await charging_and_cached(h, "driver-w")
    await h.advance(31)  # the stored read is now older than the 30 s window: a real read again
    with db_traffic(h) as seen:
        r = await h.uc.poll("driver-w", None, None)
    assert r["session_active"] and r["cached"] is False and seen["statements"] > 0


async def test_manual_end_drops_the_entry(h):
    sid = await charging_and_cached(h, "driver-e")
    await h.uc.end_session("driver-e", sid)
    assert h.uc.poll_cache.get("driver-e") is None
    r = await h.uc.poll("driver-e", None, None)
    assert r["session_active"] is False and r["cached"] is True


async def test_admin_force_close_drops_the_entry(h):
    sid = await charging_and_cached(h, "driver-f")
    await h.uc.force_close(sid, "review")
    r = await h.uc.poll("driver-f", None, None)
    assert r["session_active"] is False


async def test_disconnect_drops_the_entry(h):
    await charging_and_cached(h, "driver-d")
    await h.uc.disconnect("driver-d")
    assert await h.uc.poll("driver-d", None, None) == {"session_active": False, "error": "no_tesla_connection"}


async def test_vehicle_selection_drops_the_entry(h):
    await charging_and_cached(h, "driver-s")
    items, _ = await h.uc.list_vehicles("driver-s")
    await h.uc.select_vehicle("driver-s", items[0]["id"])
    assert h.uc.poll_cache.get("driver-s") is None


async def test_grant_status_drops_the_entry(h):
    sid = await charging_and_cached(h, "driver-g")
    assert await h.uc.apply_grant_status("g-1", sid, "c-1", 150, "granted", None)
    assert h.uc.poll_cache.get("driver-g") is None


async def test_reauth_drops_the_entry(h):
    await charging_and_cached(h, "driver-r")
    async with h.db.read() as conn:
        row = await h.uc.repo.driver_connection(conn, "driver-r")
    async with h.db.transaction() as conn:
        assert await h.uc.writes.mark_reauth(conn, row["id"], row["token_version"], h.uc.clock.now())
    assert await h.uc.poll("driver-r", None, None) == {"session_active": False, "error": "token_expired"}


async def test_jobs_drop_the_entry(h):
    sid = await charging_and_cached(h, "driver-j")
    cache = h.uc.poll_cache

    async def set_session(**values) -> None:  # out of band: the cache is not told
        async with h.db.transaction() as conn:
            await conn.execute(sa.update(charging_sessions).where(charging_sessions.c.id == sid).values(**values))

    # the scheduler reads a due session once the window has lapsed: the new observation drops the entry
    await h.advance(31)
    await set_session(next_poll_at=h.uc.clock.now())
    assert cache.get("driver-j") is not None
    assert await h.uc.sessions.scheduler_tick() == 1
    assert cache.get("driver-j") is None
    # the stale closer ends the session
    assert (await h.uc.poll("driver-j", None, None))["cached"] is True and cache.get("driver-j") is not None
    await set_session(last_observed_at=h.uc.clock.now() - dt.timedelta(minutes=16))
    assert await h.uc.sessions.close_stale() == 1
    assert cache.get("driver-j") is None
    assert (await h.uc.poll("driver-j", None, None))["session_active"] is False


async def test_session_writes_inside_a_transaction_drop_the_entry_again_after_commit(h):
    sid = await charging_and_cached(h, "driver-t")
    cache = h.uc.poll_cache
    stale = dict(cache.get("driver-t"))
    async with h.db.transaction() as conn:
        await h.uc.repo.update_session(conn, sid, {"kwh_delivered": 99.0})
        assert cache.get("driver-t") is None
        # a poll that read before the commit stores what it saw (it took the generation after the
        # first invalidation); the second invalidation, when the connection is checked in, drops it
        assert cache.put("driver-t", stale, cache.generation)
    assert cache.get("driver-t") is None
    assert (await h.uc.poll("driver-t", None, None))["kwh_delivered"] == 99.0


async def test_trail_only_writes_keep_the_entry(h):
    sid = await charging_and_cached(h, "driver-k")
    async with h.db.transaction() as conn:
        await h.uc.repo.update_session(conn, sid, {"location_trail": "[]"})
    assert h.uc.poll_cache.get("driver-k") is not None


async def test_cache_off_reads_every_time(database_url):
    h = await make_harness(database_url, POLL_CACHE_MAX_S=0)
    try:
        await h.connect("driver-o")
        await h.script(VIN, (0, "plug_in", {"power_kw": 11}))
        await h.advance(31)
        await h.uc.poll("driver-o", LAT, LNG)
        await h.uc.poll("driver-o", LAT, LNG)
        with db_traffic(h) as seen:
            r = await h.uc.poll("driver-o", LAT, LNG)
        assert r["cached"] is True and seen["statements"] > 0 and len(h.uc.poll_cache) == 0
    finally:
        await h.close()
