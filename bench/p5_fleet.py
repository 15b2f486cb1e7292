"""P5: Fleet API cost and accuracy — ``nerava simulate`` on a simulated fleet's day.

Each repetition is one fleet (seed 1, 2, …): the telemetry service's production poll path and
scheduler against the Tesla simulator on its virtual clock, and a naive 60-second poller (every
vehicle's ``vehicle_data`` every minute, a wake whenever it is asleep) on the same fleet and day.
Both are scored against the simulator's ground truth (``cli.simulate``).

Figures: sessions found (goal 100 %), start and end error p95 (goal ≤ 60 s each), and billable Fleet
API calls per detected session ÷ the naive poller's (goal ≤ 0.1). Full size: 1,000 vehicles × 24 h;
``quick``: 100 vehicles × 6 h.
"""
from __future__ import annotations

from bench.harness import Figure, Series


def run(reps: int, quick: bool) -> list[Figure]:
    from cli.simulate import simulate

    vehicles, hours = (100, 6.0) if quick else (1000, 24.0)
    s = {k: Series() for k in ("found", "nfound", "start", "nstart", "end", "nend", "calls", "ncalls", "ratio")}
    reports = []
    for rep in range(max(1, reps)):
        r = simulate(vehicles, hours, seed=rep + 1)
        reports.append({k: r[k] for k in ("seed", "patterns", "ratio_calls_per_session", "ratio_usd_per_session")}
                       | {"service": {k: r["service"][k] for k in (
                           "found_pct", "start_error_s", "end_error_s", "end_over_60s_by_reason", "cost", "extra",
                           "wall_s", "by_pattern")},
                          "naive": {k: r["naive"][k] for k in ("found_pct", "start_error_s", "end_error_s", "cost")}})
        sv, nv = r["service"], r["naive"]
        s["found"].add(sv["found_pct"])
        s["nfound"].add(nv["found_pct"])
        s["start"].add(sv["start_error_s"]["p95"] or 0.0)
        s["nstart"].add(nv["start_error_s"]["p95"] or 0.0)
        s["end"].add(sv["end_error_s"]["p95"] or 0.0)
        s["nend"].add(nv["end_error_s"]["p95"] or 0.0)
        s["calls"].add(sv["cost"]["calls_per_session"])
        s["ncalls"].add(nv["cost"]["calls_per_session"])
        s["ratio"].add(r["ratio_calls_per_session"])
    size = f"{vehicles} vehicles × {hours:g} h"
    extra = {"size": size, "runs": reports}
    found_ok = min(s["found"].values) >= 100.0
    start_ok = max(s["start"].values) <= 60.0
    end_ok = max(s["end"].values) <= 60.0
    ratio = s["ratio"].median
    return [
        Figure("P5", f"sessions found vs ground truth ({size})", "%", s["found"].summary(), s["nfound"].summary(),
               None, "100 %", found_ok, notes="baseline: the naive 60 s poller", extra=extra),
        Figure("P5", "session start error p95", "s", s["start"].summary(), s["nstart"].summary(), None,
               "≤ 60 s", start_ok),
        Figure("P5", "session end error p95", "s", s["end"].summary(), s["nend"].summary(), None, "≤ 60 s", end_ok),
        Figure("P5", "Fleet API calls per session ÷ naive 60 s poller", "calls", s["calls"].summary(),
               s["ncalls"].summary(), round(ratio, 4), "ratio ≤ 0.1", max(s["ratio"].values) <= 0.1),
    ]
