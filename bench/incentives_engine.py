"""Incentive engine benchmark: one session against 100 / 1k / 10k active campaigns.

    .venv/bin/python -m bench.incentives_engine [--sizes 100,1000,10000] [--sessions 300] [--pg URL]

Seeds the spec §10 mix (40 % charger lists over 50k chargers, 20 % geo 1–20 km, 15 % network,
10 % zone, 10 % time-only, 5 % untargeted) with the same domain code the service uses (rules,
primary index dimension), then measures on the real database:
- ``match``: the engine's read path for one session — candidate lookup through the index + rule
  and cap evaluation in campaign order until the first campaign that pays (no writes);
- ``ingest``: the full ``IngestSessionEnded`` unit of work (lock, dedupe, evaluate, budget UPDATE,
  grant, Nova, outbox, reputation, commit).
It prints p50/p95 per size, the mean number of candidates examined, and the ratios t(10k)/t(100).
Default database: a scratch SQLite file; ``--pg`` takes a PostgreSQL URL of an EMPTY database.
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import pathlib
import random
import statistics
import tempfile
import time
import uuid

import sqlalchemy as sa

from kit import migrations
from kit.clock import ManualClock
from kit.db import Database
from services.incentives.adapters import tables as t
from services.incentives.app.usecases import IncentivesUseCases
from services.incentives.domain import campaigns as dc
from services.incentives.domain import index as idx
from services.incentives.domain.rules import Session

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 6, 10, 15, 0, tzinfo=UTC)
NETWORKS = ["ChargePoint", "EVgo", "Electrify America", "Blink", "Tesla", "Shell Recharge", "Volta",
            "Francis", "SemaConnect", "EV Connect"]
LAT0, LAT1, LNG0, LNG1 = 29.0, 33.5, -99.5, -94.5  # a Texas-sized box
N_CHARGERS, N_ZONES = 50_000, 300


def _rules(rng: random.Random, kind: str) -> dict:
    if kind == "charger":
        return {"charger_ids": [f"ch-{rng.randrange(N_CHARGERS)}" for _ in range(rng.randint(1, 40))]}
    if kind == "geo":
        return {"geo_center_lat": rng.uniform(LAT0, LAT1), "geo_center_lng": rng.uniform(LNG0, LNG1),
                "geo_radius_m": rng.randint(1_000, 20_000)}
    if kind == "network":
        return {"charger_networks": rng.sample(NETWORKS, rng.randint(1, 2))}
    if kind == "zone":
        return {"zone_ids": [f"zone-{rng.randrange(N_ZONES)}" for _ in range(rng.randint(1, 3))]}
    if kind == "time":
        start = rng.randrange(24)
        return {"time_start": f"{start:02d}:00", "time_end": f"{(start + rng.randint(1, 3)) % 24:02d}:59",
                "days_of_week": sorted(rng.sample(range(1, 8), rng.randint(1, 5)))}
    return {}


MIX = [("charger", 40), ("geo", 20), ("network", 15), ("zone", 10), ("time", 10), ("any", 5)]


async def seed(db: Database, n: int, rng: random.Random) -> None:
    kinds = [k for k, w in MIX for _ in range(w)]
    camps, targets = [], []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        values = {"sponsor_name": f"Sponsor {i % 50}", "name": f"Campaign {i}", "budget_cents": 10_000_000,
                  "cost_per_session_cents": rng.choice([50, 100, 150, 200]), "start_date": "2026-01-01",
                  "time_zone": rng.choice(["America/Chicago", "America/New_York", "America/Denver"]),
                  "priority": rng.randrange(1000), "rules": _rules(rng, kind),
                  "caps": {"per_day": 2} if rng.random() < 0.3 else {}}
        camp = dc.new_campaign(values, campaign_id=str(uuid.uuid4()), owner_id="bench",
                               now=NOW - dt.timedelta(days=30, seconds=i))
        dim, keys = idx.primary_targets(camp.rules, camp.time_zone, now=NOW, starts_at=camp.starts_at)
        camp = dataclasses.replace(camp, status="active", funding_status="funded", index_dimension=dim)
        row = {f.name: getattr(camp, f.name) for f in dataclasses.fields(camp)}
        camps.append(row)
        targets.extend({"campaign_id": camp.id, "dim": dim, "key": k, "priority": camp.priority,
                        "created_at": camp.created_at} for k in keys)
    async with db.transaction() as conn:
        for chunk in range(0, len(camps), 500):
            await conn.execute(sa.insert(t.campaigns), camps[chunk:chunk + 500])
        for chunk in range(0, len(targets), 5000):
            await conn.execute(sa.insert(t.campaign_targets), targets[chunk:chunk + 5000])


def make_session(rng: random.Random, i: int) -> Session:
    start = NOW - dt.timedelta(minutes=rng.randrange(60 * 24 * 7))
    return Session(
        session_id=str(uuid.uuid4()), driver_id=f"driver-{rng.randrange(5000)}", session_start=start,
        session_end=start + dt.timedelta(minutes=40), duration_minutes=40,
        charger_id=f"ch-{rng.randrange(N_CHARGERS)}", charger_network=rng.choice(NETWORKS),
        zone_id=f"zone-{rng.randrange(N_ZONES)}", lat=rng.uniform(LAT0, LAT1), lng=rng.uniform(LNG0, LNG1),
        max_power_kw=rng.choice([7.2, 50.0, 150.0]), verified=True, quality_score=80)


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


async def prepare(url: str, n: int, sessions: int, seed_value: int) -> dict:
    await asyncio.to_thread(migrations.upgrade, "incentives", url)
    db = Database(url)
    rng = random.Random(seed_value)
    await seed(db, n, rng)
    uc = IncentivesUseCases(db, ManualClock(NOW))
    probes = [make_session(rng, i) for i in range(sessions)]
    for s in probes[:20]:  # warm-up: caches, compiled statements
        await uc.match(s)
    return {"n": n, "db": db, "uc": uc, "probes": probes, "match_ms": [], "examined": [], "ingest_ms": [],
            "granted": 0}


async def measure(state: dict, lo: int, hi: int, ingest: bool) -> None:
    uc = state["uc"]
    for s in state["probes"][lo:hi]:
        t0 = time.perf_counter()
        if ingest:
            out = await uc.evaluate(s)
            state["ingest_ms"].append((time.perf_counter() - t0) * 1000)
            state["granted"] += out.outcome == "granted"
        else:
            _, n_examined = await uc.match(s)
            state["match_ms"].append((time.perf_counter() - t0) * 1000)
            state["examined"].append(n_examined)


def summary(st: dict) -> dict:
    return {"n": st["n"], "match_p50": statistics.median(st["match_ms"]), "match_p95": pct(st["match_ms"], 95),
            "ingest_p50": statistics.median(st["ingest_ms"]), "ingest_p95": pct(st["ingest_ms"], 95),
            "examined_mean": statistics.mean(st["examined"]), "granted": st["granted"] / len(st["ingest_ms"])}


async def main_async(args) -> None:
    sizes = [int(x) for x in args.sizes.split(",")]
    states, dropped = [], []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for n in sizes:
                if args.pg:
                    import asyncpg
                    base = args.pg.rsplit("/", 1)[0]
                    name = f"bench_incentives_{uuid.uuid4().hex[:8]}"
                    admin = await asyncpg.connect(base.replace("+asyncpg", "") + "/" + args.pg_admin_db)
                    await admin.execute(f'CREATE DATABASE "{name}"')
                    await admin.close()
                    dropped.append((base, name))
                    url = f"{base}/{name}"
                else:
                    url = f"sqlite+aiosqlite:///{pathlib.Path(tmp) / f'bench_{n}.db'}"
                states.append(await prepare(url, n, args.sessions, args.seed))
            # interleave the sizes in small batches so that load drift on a shared host hits all alike
            step = 20
            for ingest in (False, True):
                for lo in range(0, args.sessions, step):
                    for st in states:
                        await measure(st, lo, lo + step, ingest)
            results = [summary(st) for st in states]
        finally:
            for st in states:
                await st["db"].dispose()
            for base, name in dropped:
                import asyncpg
                admin = await asyncpg.connect(base.replace("+asyncpg", "") + "/" + args.pg_admin_db)
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                await admin.close()
    backend = "postgresql" if args.pg else "sqlite"
    print(f"incentive engine benchmark ({backend}, {args.sessions} sessions per size, sizes interleaved)")
    print(f"{'campaigns':>10} {'match p50':>10} {'match p95':>10} {'ingest p50':>11} {'ingest p95':>11} "
          f"{'examined':>9} {'granted':>8}")
    for r in results:
        print(f"{r['n']:>10} {r['match_p50']:>8.2f}ms {r['match_p95']:>8.2f}ms {r['ingest_p50']:>9.2f}ms "
              f"{r['ingest_p95']:>9.2f}ms {r['examined_mean']:>9.1f} {r['granted']:>7.0%}")
    if len(results) > 1:
        lo, hi = results[0], results[-1]
        print(f"ratio t({hi['n']})/t({lo['n']}): match p50 {hi['match_p50'] / lo['match_p50']:.2f}, "
              f"ingest p50 {hi['ingest_p50'] / lo['ingest_p50']:.2f}")
        print(f"p50 at {hi['n']} campaigns: match {hi['match_p50']:.2f} ms (target ≤ 5 ms), "
              f"ingest {hi['ingest_p50']:.2f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100,1000,10000")
    ap.add_argument("--sessions", type=int, default=300)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--pg", help="postgresql+asyncpg://user@host:port/<any>; a scratch database is created")
    ap.add_argument("--pg-admin-db", default="test")
    asyncio.run(main_async(ap.parse_args()))


if __name__ == "__main__":
    main()
