"""``make bench`` / ``python -m bench``: run the performance figures and print them with ratios.

Each figure is measured against a baseline taken in the same run (interleaved repetitions), and the
ratio is what is compared with the goal. Results go to ``bench/results/latest.json``; see
``docs/performance.md`` for what each figure means.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import importlib
import json
import pathlib
import platform
import sys
import traceback

from bench.harness import ROOT, header

FIGURES = {
    "P1": "bench.p1_poll",
    "P3": "bench.p3_engine",
    "P4": "bench.p4_wallet",
    "P5": "bench.p5_fleet",
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--only", default="", help="comma-separated figure ids, e.g. P1,P4 (default: all)")
    p.add_argument("--reps", type=int, default=3, help="repetitions per side (≥3 for a median and a spread)")
    p.add_argument("--quick", action="store_true", help="shorter loads (a smoke run, not a measurement)")
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "latest.json"))
    a = p.parse_args(argv)
    wanted = [f.strip().upper() for f in a.only.split(",") if f.strip()] or list(FIGURES)
    unknown = [f for f in wanted if f not in FIGURES]
    if unknown:
        p.error(f"unknown figure(s) {unknown}; known: {', '.join(FIGURES)}")

    results, failures = [], {}
    print(header())
    for fid in wanted:
        try:
            module = importlib.import_module(FIGURES[fid])
            for fig in module.run(reps=a.reps, quick=a.quick):
                results.append(fig)
                print(fig.line(), flush=True)
        except Exception as exc:  # one broken figure must not hide the others
            failures[fid] = f"{type(exc).__name__}: {exc}"
            print(f"{fid:<4} FAILED: {failures[fid]}", flush=True)
            traceback.print_exc(file=sys.stderr)

    doc = {
        "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count(),
                    "platform": platform.platform()},
        "reps": a.reps, "quick": a.quick,
        "figures": [dataclasses.asdict(f) for f in results],
        "failures": failures,
    }
    pathlib.Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=2)
    print(f"\nwrote {a.out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
