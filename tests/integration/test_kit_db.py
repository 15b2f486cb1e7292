"""The kit's database pieces on real SQLite and real PostgreSQL: migrations, unit of work,
outbox (exactly-once delivery by concurrent dispatchers), inbox, multi-replica jobs."""
from __future__ import annotations

import asyncio
import datetime as dt

import pytest
import sqlalchemy as sa

from kit import jobs, migrations, outbox
from kit.clock import ManualClock
from kit.db import Database
from services.wallet.adapters.tables import inbox_table, job_leases, outbox_table, wallets

SERVICES = ("telemetry", "incentives", "wallet", "clo")
T0 = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
async def wallet_db(database_url):
    await asyncio.to_thread(migrations.upgrade, "wallet", database_url)
    db = Database(database_url)
    try:
        yield db
    finally:
        await db.dispose()


async def test_every_service_migrates_its_own_database_to_head_idempotently(database_factory):
    expected = {"wallet": {"wallets"}, "telemetry": {"tesla_connections", "vehicles"},
                "incentives": {"campaigns"}, "clo": {"cards"}}
    for service in SERVICES:
        url = await database_factory(service)
        await asyncio.to_thread(migrations.upgrade, service, url)
        await asyncio.to_thread(migrations.upgrade, service, url)  # second run: no-op
        db = Database(url)
        try:
            async with db.read() as conn:
                names = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
        finally:
            await db.dispose()
        assert expected[service] | {"outbox", "inbox", "job_leases", "alembic_version"} <= names


async def test_check_constraint_keeps_balance_non_negative(wallet_db):
    async with wallet_db.transaction() as conn:
        await conn.execute(sa.insert(wallets).values(driver_id="d1", created_at=T0, updated_at=T0))
    with pytest.raises(sa.exc.IntegrityError):
        async with wallet_db.transaction() as conn:
            await conn.execute(sa.update(wallets).where(wallets.c.driver_id == "d1").values(balance_cents=-1))
    async with wallet_db.read() as conn:
        assert (await conn.execute(sa.select(wallets.c.balance_cents))).scalar_one() == 0


async def test_unit_of_work_rolls_back_everything_on_error(wallet_db):
    with pytest.raises(RuntimeError):
        async with wallet_db.transaction() as conn:
            await conn.execute(sa.insert(wallets).values(driver_id="d2", created_at=T0, updated_at=T0))
            await outbox.add_event(conn, outbox_table, wallet_db, topic="t", key="k", payload={}, now=T0)
            raise RuntimeError("boom")
    async with wallet_db.read() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(wallets))).scalar_one() == 0
        assert (await conn.execute(sa.select(sa.func.count()).select_from(outbox_table))).scalar_one() == 0


async def test_outbox_delivers_each_event_once_with_concurrent_dispatchers(wallet_db):
    clock = ManualClock(T0)
    async with wallet_db.transaction() as conn:
        for i in range(40):
            assert await outbox.add_event(conn, outbox_table, wallet_db, topic="credit", key=f"grant:{i}",
                                          payload={"i": i}, now=T0)
        assert not await outbox.add_event(conn, outbox_table, wallet_db, topic="credit", key="grant:0",
                                          payload={"i": 0}, now=T0)  # same key: ignored
    seen: list[str] = []

    async def handler(key, payload):
        await asyncio.sleep(0)
        seen.append(key)

    dispatchers = [outbox.OutboxDispatcher(wallet_db, outbox_table, {"credit": handler}, clock=clock, batch=7)
                   for _ in range(4)]
    for _ in range(10):
        await asyncio.gather(*(d.run_once() for d in dispatchers))
    assert sorted(seen) == sorted(f"grant:{i}" for i in range(40))
    async with wallet_db.read() as conn:
        left = (await conn.execute(sa.select(sa.func.count()).select_from(outbox_table)
                                   .where(outbox_table.c.delivered_at.is_(None)))).scalar_one()
    assert left == 0


async def test_outbox_retries_with_backoff_then_delivers_and_parks_permanent_failures(wallet_db):
    clock = ManualClock(T0)
    async with wallet_db.transaction() as conn:
        await outbox.add_event(conn, outbox_table, wallet_db, topic="flaky", key="a", payload={}, now=T0)
        await outbox.add_event(conn, outbox_table, wallet_db, topic="bad", key="b", payload={}, now=T0)
    calls = {"a": 0}

    async def flaky(key, payload):
        calls["a"] += 1
        if calls["a"] < 3:
            raise ConnectionError("wallet down")

    async def bad(key, payload):
        raise outbox.PermanentDeliveryError("rejected")

    d = outbox.OutboxDispatcher(wallet_db, outbox_table, {"flaky": flaky, "bad": bad}, clock=clock)
    r1 = await d.run_once()
    assert (r1.failed, r1.dead, r1.delivered) == (1, 1, 0)
    assert (await d.run_once()).failed == 0  # backoff: nothing due yet
    clock.advance(seconds=1.01)
    assert (await d.run_once()).failed == 1  # second attempt fails, next in 2 s
    clock.advance(seconds=1.5)
    assert (await d.run_once()).delivered == 0
    clock.advance(seconds=0.6)
    assert (await d.run_once()).delivered == 1
    assert calls["a"] == 3
    async with wallet_db.read() as conn:
        rows = {r.key: r for r in await conn.execute(sa.select(outbox_table))}
    assert rows["a"].delivered_at is not None and rows["a"].attempts == 3
    assert rows["b"].dead_at is not None and "rejected" in rows["b"].last_error


async def test_inbox_claims_a_key_once(wallet_db):
    box = outbox.Inbox(wallet_db, inbox_table)

    async def claim():
        async with wallet_db.transaction() as conn:
            return await box.claim(conn, "evt_1", T0)

    results = await asyncio.gather(*(claim() for _ in range(10)))
    assert results.count(True) == 1


async def test_a_job_runs_on_one_replica_at_a_time(wallet_db):
    running = 0
    peak = 0
    runs = 0

    async def work():
        nonlocal running, peak, runs
        running += 1
        peak = max(peak, running)
        runs += 1
        await asyncio.sleep(0.05)
        running -= 1

    job = jobs.Job("reconcile", interval_s=60, run=work)
    replicas = [jobs.JobRunner(wallet_db, job_leases, [job]) for _ in range(3)]
    ran = await asyncio.gather(*(r.run_job_once(job) for r in replicas))
    assert peak == 1 and runs == ran.count(True) >= 1
    assert await replicas[0].run_job_once(job)  # free again afterwards
