"""P3: the incentive engine, one ended session against 10,000 active campaigns (PostgreSQL).

Reuses ``bench.incentives_engine`` (the spec §10 campaign mix, the service's own rules and candidate
index, the same ``match``/``evaluate`` calls): three scratch PostgreSQL databases are seeded with 100,
1,000 and 10,000 active campaigns, then each repetition evaluates a fresh slice of sessions on all
three sizes, interleaved in small batches so a noisy neighbour slows every size alike.

- ``P3``: the engine's evaluation of one session (candidate lookup through the index + rules and caps
  until the first campaign that pays; no writes): p50 at 10,000 campaigns (goal ≤ 5 ms) and the
  scaling ratio t(10,000)/t(100) of the p50s measured in the same repetition (goal ≤ 3).
- ``P3i``: the full ``IngestSessionEnded`` unit of work (lock, dedupe, evaluate, budget, grant, Nova,
  outbox, commit) at 10,000 campaigns, with the same ratio; informational (no goal in the issue).
"""
from __future__ import annotations

import asyncio
import statistics

from bench import incentives_engine as ie
from bench.harness import Figure, Series, scratch_pg

SIZES = (100, 1_000, 10_000)
STEP = 20  # sessions per size before switching to the next size (as bench.incentives_engine does)


async def _measure(reps: int, sessions: int, seed: int = 7) -> list[dict]:
    """Per repetition: {size: summary} with match/ingest p50 and p95 (ms)."""
    async with scratch_pg("nerava_bench_p3_100") as (_, u1), scratch_pg("nerava_bench_p3_1k") as (_, u2), \
            scratch_pg("nerava_bench_p3_10k") as (_, u3):
        states = []
        try:
            for n, url in zip(SIZES, (u1, u2, u3)):
                states.append(await ie.prepare(url, n, sessions * reps, seed))
            out = []
            for rep in range(reps):
                for st in states:
                    st.update(match_ms=[], examined=[], ingest_ms=[], granted=0)
                base = rep * sessions
                for ingest in (False, True):
                    for lo in range(base, base + sessions, STEP):
                        for st in states:
                            await ie.measure(st, lo, min(lo + STEP, base + sessions), ingest)
                out.append({st["n"]: ie.summary(st) for st in states})
            return out
        finally:
            for st in states:
                await st["db"].dispose()


def run(reps: int, quick: bool) -> list[Figure]:
    sessions = 60 if quick else 200
    per_rep = asyncio.run(_measure(reps, sessions))
    lo, hi = SIZES[0], SIZES[-1]
    figures = []
    for fid, kind, title, goal_ms in (("P3", "match", "engine: 1 session vs 10k campaigns, p50 (PG)", 5.0),
                                      ("P3i", "ingest", "IngestSessionEnded at 10k campaigns, p50 (PG)", None)):
        at_hi, at_lo, ratios = Series(), Series(), Series()
        for r in per_rep:
            at_hi.add(r[hi][f"{kind}_p50"])
            at_lo.add(r[lo][f"{kind}_p50"])
            ratios.add(r[hi][f"{kind}_p50"] / r[lo][f"{kind}_p50"])
        ratio = ratios.median
        if goal_ms is not None:
            goal, met = f"≤{goal_ms:g} ms, ratio ≤ 3", at_hi.median <= goal_ms and ratio <= 3
        else:
            goal, met = "informational", None
        extra = {
            "ratio_t10k_t100": ratios.summary(),
            "per_rep": [{str(n): {k: round(v, 3) for k, v in s.items()} for n, s in r.items()} for r in per_rep],
            "p95_at_10k_ms": statistics.median(r[hi][f"{kind}_p95"] for r in per_rep),
            "sessions_per_rep_and_size": sessions,
        }
        figures.append(Figure(fid, title, "ms", at_hi.summary(), at_lo.summary(), round(ratio, 3), goal, met,
                              notes="baseline = the same p50 at 100 campaigns; ratio = median of per-rep "
                                    "t(10,000)/t(100)", extra=extra))
    return figures
