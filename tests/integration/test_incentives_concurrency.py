"""Concurrency guarantees (spec §10) on real SQLite and PostgreSQL. Two use-case instances with
their own connection pools stand in for two replicas; PostgreSQL is where these claims are proven."""
from __future__ import annotations

import asyncio
import datetime as dt

import pytest
import sqlalchemy as sa

from kit import errors, migrations
from kit.auth import Principal
from kit.clock import ManualClock
from kit.db import Database
from services.incentives.adapters import tables as t
from services.incentives.app.usecases import IncentivesUseCases
from tests.integration.incentives_helpers import ADMIN, SERVICE, SPONSOR, UTC, funded_active, session

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
async def replicas(database_url):
    await asyncio.to_thread(migrations.upgrade, "incentives", database_url)
    dbs = [Database(database_url), Database(database_url)]
    clock = ManualClock(NOW)
    try:
        yield [IncentivesUseCases(db, clock, platform_fee_bps=0) for db in dbs]
    finally:
        for db in dbs:
            await db.dispose()


async def _invariants(uc: IncentivesUseCases) -> None:
    report = await uc.reconcile(ADMIN, [])
    assert report["campaign_drifts"] == [] and report["nova_drifts"] == []
    assert report["unbalanced_transaction_ids"] == [] and report["ledger_balanced"]
    async with uc.db.read() as conn:
        grants = (await conn.execute(sa.select(sa.func.count()).select_from(t.incentive_grants))).scalar_one()
        created = (await conn.execute(sa.select(sa.func.count()).select_from(t.outbox_table)
                                      .where(t.outbox_table.c.topic == "GrantCreated"))).scalar_one()
    assert grants == created


@pytest.mark.parametrize("leftover", [0, 50])
async def test_500_concurrent_sessions_never_overrun_the_budget(replicas, leftover):
    a, b = replicas
    camp = await funded_active(a, budget_cents=10 * 100 + leftover, cost_per_session_cents=100)
    sessions = [session(driver=f"driver-{i}") for i in range(500)]
    results = await asyncio.gather(*(
        (a if i % 2 else b).ingest_session_ended(SERVICE, s) for i, s in enumerate(sessions)))
    granted = [r for r in results if r.outcome == "granted"]
    assert len(granted) == 10
    assert {r.outcome for r in results} <= {"granted", "no_match", "budget_exhausted"}
    after = await a.get_campaign(SPONSOR, camp.id)
    assert (after.spent_cents, after.sessions_granted, after.status) == (1000, 10, "exhausted")
    assert after.budget_cents - after.spent_cents == leftover
    await _invariants(a)


async def test_one_session_delivered_ten_times_concurrently_grants_once(replicas):
    a, b = replicas
    await funded_active(a)
    s = session()
    results = await asyncio.gather(*((a if i % 2 else b).ingest_session_ended(SERVICE, s) for i in range(10)))
    assert {r.grant["id"] for r in results} == {results[0].grant["id"]}
    async with a.db.read() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(t.nova_transactions))).scalar_one() == 1
    await _invariants(a)


async def test_per_day_cap_holds_for_concurrent_sessions_of_one_driver(replicas):
    a, b = replicas
    await funded_active(a, caps={"per_day": 1})
    s1, s2 = session(), session(start=dt.datetime(2026, 3, 10, 19, tzinfo=UTC))
    r1, r2 = await asyncio.gather(a.ingest_session_ended(SERVICE, s1), b.ingest_session_ended(SERVICE, s2))
    assert sorted([r1.outcome, r2.outcome]) == ["granted", "no_match"]


async def test_concurrent_clawbacks_reverse_once(replicas):
    a, b = replicas
    camp = await funded_active(a)
    g = (await a.ingest_session_ended(SERVICE, session())).grant
    results = await asyncio.gather(*((a if i % 2 else b).clawback_grant(ADMIN, g["id"], "dup") for i in range(5)))
    assert sorted(changed for changed, _ in results) == [False, False, False, False, True]
    after = await a.get_campaign(SPONSOR, camp.id)
    assert (after.spent_cents, after.sessions_granted) == (0, 0)
    assert await a.nova_balance(SERVICE, "driver-1") == 0
    await _invariants(a)


async def test_concurrent_redeems_never_go_below_zero(replicas):
    a, b = replicas
    driver = Principal("driver-r", frozenset({"driver"}))
    await a.upsert_merchant(SERVICE, "m1", "Coffee", "active")
    await a.admin_grant_nova(ADMIN, target="driver", amount=100, reason="seed", driver_id="driver-r",
                             merchant_id=None, key="seed-1")

    async def redeem(uc, i):
        try:
            return await uc.redeem_nova(driver, merchant_id="m1", amount=30, key=f"r-{i}", session_id=None,
                                        reference=None)
        except errors.FailedPrecondition as exc:
            assert exc.message == "Insufficient Nova balance"
            return None

    results = await asyncio.gather(*(redeem(a if i % 2 else b, i) for i in range(12)))
    assert sum(r is not None for r in results) == 3  # ⌊100/30⌋
    assert await a.nova_balance(SERVICE, "driver-r") == 10
    await _invariants(a)


async def test_nova_keys_replay_and_conflict(replicas):
    a, b = replicas
    results = await asyncio.gather(*((a if i % 2 else b).grant_nova(
        ADMIN, driver_id="driver-n", session_id="6f1c1c3e-0000-4000-8000-000000000001", amount=7, key=None)
        for i in range(6)))
    assert len({tid for tid, _, _ in results}) == 1
    assert sorted(replay for _, _, replay in results) == [False] + [True] * 5
    assert await a.nova_balance(SERVICE, "driver-n") == 7
    with pytest.raises(errors.AlreadyExists, match="Idempotency key conflict"):
        await a.grant_nova(ADMIN, driver_id="driver-n", session_id="6f1c1c3e-0000-4000-8000-000000000001",
                           amount=8, key=None)
    with pytest.raises(errors.AlreadyExists):  # same key, another type
        await a.admin_grant_nova(ADMIN, target="driver", amount=7, reason="x", driver_id="driver-n",
                                 merchant_id=None, key="driver_earn:driver-n:6f1c1c3e-0000-4000-8000-000000000001")
    with pytest.raises(errors.PermissionDenied, match="Required role: admin"):
        await a.grant_nova(SPONSOR, driver_id="d", session_id="6f1c1c3e-0000-4000-8000-000000000001", amount=1,
                           key=None)
    with pytest.raises(errors.InvalidArgument):
        await a.grant_nova(ADMIN, driver_id="d", session_id="not-a-uuid", amount=1, key=None)
    with pytest.raises(errors.InvalidArgument, match="idempotency_key is required"):
        a.env = "production"
        await a.admin_grant_nova(ADMIN, target="driver", amount=1, reason="x", driver_id="d", merchant_id=None,
                                 key=None)
    rep = await a.get_reputation(Principal("driver-n", frozenset({"driver"})))
    assert rep.points == 7  # driver_earn adds its amount once
    await _invariants(a)


async def test_funding_event_five_times_concurrently_funds_once(replicas):
    a, b = replicas
    camp = await a.create_campaign(SPONSOR, {"sponsor_name": "S", "name": "N", "budget_cents": 5000,
                                             "cost_per_session_cents": 100, "start_date": "2026-01-01"}, None)
    sess = {"id": "cs_test_x", "status": "complete", "payment_status": "paid", "amount_total": 5000,
            "currency": "usd", "client_reference_id": camp.id,
            "metadata": {"type": "campaign_funding", "campaign_id": camp.id, "gross_amount_cents": "5000"}}
    results = await asyncio.gather(*((a if i % 2 else b).apply_campaign_funding(
        SERVICE, "evt_same", "checkout.session.completed", sess) for i in range(5)))
    assert sorted(r["replayed"] for r in results) == [False, True, True, True, True]
    restarted = IncentivesUseCases(Database(a.db.url), a.clock, platform_fee_bps=0)
    try:
        again = await restarted.apply_campaign_funding(SERVICE, "evt_same", "checkout.session.completed", sess)
    finally:
        await restarted.db.dispose()
    assert again["replayed"] and again["result"] == "funded"
    after = await a.get_campaign(SPONSOR, camp.id)
    assert (after.budget_cents, after.funding_status, after.status) == (5000, "funded", "active")
