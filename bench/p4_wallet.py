"""P4: concurrent wallet credits on PostgreSQL ÷ the raw asyncpg conditional UPDATE ceiling.

Baseline: 16 asyncpg connections (autocommit, no pool reset) each running
``UPDATE … SET balance = balance + $1 WHERE id = $2 AND balance + $1 >= 0 RETURNING balance`` on one of
1,000 rows — one round trip per credit, nothing else. That is the ceiling of "move money on a row"
from Python on this machine.

Candidate: the wallet service's own credit path (idempotency key, journal, postings, balance, outbox
event: the ``wallet_credit`` function, with concurrent credits grouped into one round trip and one
commit) driven in-process with the same concurrency against its migrated schema, each credit with a
fresh deterministic key on one of 1,000 wallets. Both sides run on uvloop, as the
services do, and report CPU per credit of this process and of the PostgreSQL server.
"""
from __future__ import annotations

import os
import statistics

from bench.harness import Figure, closed_loop, interleave, postgres_pids, run_async, scratch_pg

WORKERS = 16
WALLETS = 1000


async def _baseline(duration_s: float) -> dict[str, float]:
    import asyncpg

    async with scratch_pg() as (_, dsn):
        setup = await asyncpg.connect(dsn)
        await setup.execute("CREATE TABLE w (id int PRIMARY KEY, balance_cents bigint NOT NULL "
                            "CHECK (balance_cents >= 0))")
        await setup.execute(f"INSERT INTO w SELECT g, 0 FROM generate_series(1, {WALLETS}) g")
        await setup.close()
        conns = [await asyncpg.connect(dsn) for _ in range(WORKERS)]
        try:
            sql = ("UPDATE w SET balance_cents = balance_cents + $1 WHERE id = $2 "
                   "AND balance_cents + $1 >= 0 RETURNING balance_cents")

            async def op(w: int, i: int) -> None:
                row = await conns[w].fetchrow(sql, 100, 1 + (w * 7919 + i * 104729) % WALLETS)
                assert row is not None

            return await closed_loop(op, workers=WORKERS, duration_s=duration_s, server_pids=postgres_pids)
        finally:
            for c in conns:
                await c.close()


async def _candidate(duration_s: float) -> dict[str, float]:
    from bench import wallet_credit
    return await wallet_credit.measure(workers=WORKERS, wallets=WALLETS, duration_s=duration_s)


def run(reps: int, quick: bool) -> list[Figure]:
    duration = 2.0 if quick else 5.0
    extra: dict[str, list] = {"baseline": [], "candidate": []}

    def side(name, fn):
        def measure() -> float:
            r = run_async(fn(duration))
            extra[name].append(r)
            return r["ops_s"]
        return measure

    series = interleave(reps, {"baseline": side("baseline", _baseline), "candidate": side("candidate", _candidate)})
    ratio = series["candidate"].median / series["baseline"].median

    def cpu(name: str, key: str) -> float:
        return statistics.median(r[key] for r in extra[name])

    notes = ("CPU per credit (µs): candidate client {:.0f} + PostgreSQL {:.0f}, baseline client {:.0f} + "
             "PostgreSQL {:.0f}; CPU ratio {:.3f}; load avg {:.1f}").format(
        cpu("candidate", "client_cpu_us"), cpu("candidate", "server_cpu_us"),
        cpu("baseline", "client_cpu_us"), cpu("baseline", "server_cpu_us"),
        (cpu("baseline", "client_cpu_us") + cpu("baseline", "server_cpu_us"))
        / (cpu("candidate", "client_cpu_us") + cpu("candidate", "server_cpu_us")), os.getloadavg()[0])
    return [Figure("P4", "wallet credits on PostgreSQL ÷ raw asyncpg UPDATE", "ops/s",
                   series["candidate"].summary(), series["baseline"].summary(), round(ratio, 3),
                   "ratio ≥ 0.5", ratio >= 0.5, notes, extra=extra)]
