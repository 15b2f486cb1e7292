"""The SQL candidate lookup against a brute-force oracle on real SQLite and PostgreSQL: for random
campaigns and sessions, every active campaign whose rules the session passes is a candidate, and
candidates come in engine order (priority, created_at, id), page by page."""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import random
import uuid

import pytest
import sqlalchemy as sa

from kit import migrations
from kit.db import Database
from services.incentives.adapters import tables as t
from services.incentives.adapters.repository import CampaignRepository
from services.incentives.domain import campaigns as dc
from services.incentives.domain import index as idx
from services.incentives.domain.rules import Session, Targeting, first_failing_rule

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 6, 1, tzinfo=UTC)
CHARGERS, ZONES, NETS = ["c1", "c2", "c3", "c4"], ["z1", "z2", "z3"], ["ChargePoint", "EVgo", "Blink"]


def random_rules(rng: random.Random) -> dict:
    r: dict = {"min_duration_minutes": 1}
    if rng.random() < 0.3:
        r["charger_ids"] = rng.sample(CHARGERS, rng.randint(1, 2))
    if rng.random() < 0.3:
        r["zone_ids"] = rng.sample(ZONES, 1)
    if rng.random() < 0.3:
        r.update(geo_center_lat=30 + rng.uniform(-0.2, 0.2), geo_center_lng=-97 + rng.uniform(-0.2, 0.2),
                 geo_radius_m=rng.choice([2_000, 10_000, 30_000]))
    if rng.random() < 0.3:
        r["charger_networks"] = rng.sample(NETS, 1)
    if rng.random() < 0.3:
        h = rng.randrange(24)
        r.update(time_start=f"{h:02d}:00", time_end=f"{(h + rng.randint(0, 8)) % 24:02d}:30")
    if rng.random() < 0.3:
        r["days_of_week"] = sorted(rng.sample(range(1, 8), rng.randint(1, 6)))
    return r


@pytest.fixture
async def db(database_url):
    await asyncio.to_thread(migrations.upgrade, "incentives", database_url)
    database = Database(database_url)
    try:
        yield database
    finally:
        await database.dispose()


async def test_sql_candidates_include_every_true_match_in_engine_order(db):
    rng = random.Random(42)
    repo = CampaignRepository(db)
    camps = []
    async with db.transaction() as conn:
        for i in range(80):
            camp = dc.new_campaign({
                "sponsor_name": "S", "name": f"C{i}", "budget_cents": 1000, "cost_per_session_cents": 100,
                "start_date": "2026-01-01", "priority": rng.randrange(5),
                "time_zone": rng.choice(["America/Chicago", "Europe/London", "Asia/Kolkata"]),
                "rules": random_rules(rng)}, campaign_id=str(uuid.uuid4()), owner_id="o",
                now=NOW - dt.timedelta(seconds=rng.randrange(3)))
            status = "active" if rng.random() < 0.85 else "paused"
            camp = dataclasses.replace(camp, status=status, funding_status="funded")
            dim, keys = idx.primary_targets(camp.rules, camp.time_zone, now=NOW, starts_at=camp.starts_at)
            await repo.insert(conn, dataclasses.replace(camp, index_dimension=dim))
            await repo.set_targets(conn, camp, dim, keys)
            camps.append(camp)
    checked = matched = 0
    for _ in range(150):
        start = NOW + dt.timedelta(minutes=rng.randrange(60 * 24 * 60))
        s = Session(session_id="s", driver_id="d", session_start=start, session_end=start + dt.timedelta(hours=1),
                    duration_minutes=60, charger_id=rng.choice(CHARGERS + [None]), zone_id=rng.choice(ZONES + [None]),
                    charger_network=rng.choice(NETS + [None]), lat=30 + rng.uniform(-0.3, 0.3),
                    lng=-97 + rng.uniform(-0.3, 0.3), verified=True, quality_score=90)
        truth = {c.id for c in camps if c.status == "active" and first_failing_rule(
            c.rules, Targeting(c.time_zone, c.starts_at, c.ends_at), s) is None}
        async with db.read() as conn:
            got = [c async for c in repo.iter_candidates(conn, idx.session_keys(s), start, page=3)]
        ids = [c.id for c in got]
        assert truth <= set(ids)
        assert len(ids) == len(set(ids))
        order = [(c.priority, c.created_at, c.id) for c in got]
        assert order == sorted(order)
        assert all(c.status == "active" for c in got)
        checked += 1
        matched += len(truth)
    assert checked == 150 and matched > 50  # the oracle found real matches to compare


async def test_exhausted_and_ended_campaigns_are_not_candidates(db):
    repo = CampaignRepository(db)
    camp = dc.new_campaign({"sponsor_name": "S", "name": "C", "budget_cents": 150, "cost_per_session_cents": 100,
                            "start_date": "2026-01-01", "end_date": "2026-06-30"},
                           campaign_id=str(uuid.uuid4()), owner_id="o", now=NOW)
    camp = dataclasses.replace(camp, status="active", funding_status="funded")
    async with db.transaction() as conn:
        await repo.insert(conn, camp)
        await repo.set_targets(conn, camp, "any", ["*"])
    s = Session(session_id="s", driver_id="d", session_start=NOW, session_end=NOW, duration_minutes=30)
    async with db.read() as conn:
        assert [c.id for c in await repo.candidates(conn, idx.session_keys(s), NOW)] == [camp.id]
        assert await repo.candidates(conn, idx.session_keys(s), dt.datetime(2026, 7, 2, tzinfo=UTC)) == []
    async with db.transaction() as conn:
        assert (await repo.try_spend(conn, camp.id, NOW)).status == "exhausted"  # 50 left < 100
        assert await repo.try_spend(conn, camp.id, NOW) is None
    async with db.read() as conn:
        assert await repo.candidates(conn, idx.session_keys(s), NOW) == []
        spent = (await conn.execute(sa.select(t.campaigns.c.spent_cents))).scalar_one()
    assert spent == 100
