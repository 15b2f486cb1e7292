"""The P4 candidate: the wallet service's real credit use case, in-process, on PostgreSQL.

``measure(workers, wallets, duration_s)`` makes a scratch database, applies the wallet's Alembic
migrations, pre-creates ``wallets`` wallets and then runs ``WalletUseCases.credit`` — the code the
``Credit`` RPC runs — from ``workers`` concurrent tasks for ``duration_s`` seconds. Each credit has a
fresh deterministic key (``grant:<run>-<worker>-<step>``), the shape of the incentives outbox's keys. After the run it
checks that every credit was booked once (Σ balances = Σ credits, one journal per credit), so a
broken fast path cannot look fast.

    .venv/bin/python -m bench.wallet_credit [--workers 16] [--wallets 1000] [--duration 5]
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import uuid

import sqlalchemy as sa

from bench.harness import closed_loop, postgres_pids, run_async, scratch_pg

AMOUNT = 100


def driver(n: int) -> str:
    return f"driver-{n:06d}"


async def measure(workers: int, wallets: int, duration_s: float, *, warmup: int = 2) -> dict:
    from kit import migrations
    from kit.clock import SystemClock
    from kit.db import Database
    from services.wallet.__main__ import build
    from services.wallet.adapters.tables import journals, wallets as wallets_t
    from services.wallet.config import WalletConfig

    async with scratch_pg("nerava_bench_wallet") as (_, dsn):
        await asyncio.to_thread(migrations.upgrade, "wallet", dsn)
        db = Database(dsn, pool_size=workers)
        try:
            now = dt.datetime.now(dt.timezone.utc)
            async with db.transaction() as conn:
                await conn.execute(sa.insert(wallets_t), [
                    {"driver_id": driver(n), "created_at": now, "updated_at": now} for n in range(wallets)])
            uc, _, _ = build(WalletConfig(ENV="test"), db, SystemClock())

            run = uuid.uuid4().hex[:12]  # keys unique across runs; within one, by worker and step

            async def credit(w: int, i: int) -> None:
                gid = f"{run}-{w}-{i}"
                out = await uc.credit(idempotency_key=f"grant:{gid}",
                                      driver_id=driver((w * 7919 + i * 104729) % wallets),
                                      amount_cents=AMOUNT, reference_type="campaign_grant", reference_id=gid,
                                      campaign_name="Bench campaign", sponsor_name="Bench sponsor",
                                      created_by="incentives")
                assert not out["replayed"]

            # warm-up (pool connections, prepared statements), then the timed closed loop
            await asyncio.gather(*(credit(w, -1 - k) for w in range(workers) for k in range(warmup)))
            result = await closed_loop(credit, workers=workers, duration_s=duration_s, server_pids=postgres_pids)

            booked = workers * warmup + result["ops"]
            async with db.read() as conn:
                total = (await conn.execute(sa.select(sa.func.sum(wallets_t.c.balance_cents)))).scalar_one()
                n_journals = (await conn.execute(sa.select(sa.func.count()).select_from(journals))).scalar_one()
            if total != booked * AMOUNT or n_journals != booked:
                raise AssertionError(f"booked {booked} credits but Σ balances = {total}, journals = {n_journals}")
            return result
        finally:
            await db.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=16)
    ap.add_argument("--wallets", type=int, default=1000)
    ap.add_argument("--duration", type=float, default=5.0)
    a = ap.parse_args()
    r = run_async(measure(a.workers, a.wallets, a.duration))
    print(f"{r['ops_s']:.0f} credits/s  p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms  ({r['ops']} credits)")


if __name__ == "__main__":
    main()
