"""Profile the P1 poll under load: ``python -m bench.profile_p1 [--seconds 15] [--db postgres]``.

Starts the real stack like the P1 figure (a driver connected through the Tesla simulator, plugged in,
the dedup window held open by the frozen simulator clock), loads ``POST /v1/charging-sessions/poll``
with wrk and records the telemetry and gateway processes with py-spy (``pip install -e '.[bench]'``;
it needs ptrace rights). Prints the functions with the largest inclusive share of samples per process
and writes the collapsed stacks (flamegraph input) under ``--out``.
"""
from __future__ import annotations

import argparse
import collections
import os
import pathlib
import shutil
import subprocess
import sys
import threading

from bench import stackctl
from bench.harness import ROOT, check_once, wrk_with_cpu
from bench.p1_poll import BODY, telemetry_db_env


def summarise(collapsed: pathlib.Path, top: int) -> str:
    """Inclusive share of samples per function (each function counted once per stack)."""
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        seen = set()
        for frame in stack.split(";"):
            name, _, where = frame.partition(" (")
            path = where.rstrip(")").rsplit(":", 1)[0]
            key = f"{name.strip()} ({'/'.join(path.split('/')[-2:])})"
            if key not in seen:
                seen.add(key)
                inclusive[key] += n
    rows = [f"  {100 * n / max(total, 1):5.1f}%  {k}" for k, n in inclusive.most_common(top)]
    return f"{total} samples\n" + "\n".join(rows)


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.profile_p1", description=__doc__)
    p.add_argument("--seconds", type=int, default=15)
    p.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--gil", action="store_true", help="py-spy --gil: only samples holding the GIL")
    p.add_argument("--variant", choices=["cache_hit", "tesla_read"], default="cache_hit",
                   help="tesla_read: dedup off, every poll reads the simulator (one connection)")
    p.add_argument("--top", type=int, default=45)
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "profile-p1"))
    a = p.parse_args()
    spy = shutil.which("py-spy") or str(pathlib.Path(sys.executable).parent / "py-spy")
    if not os.path.exists(spy):
        raise SystemExit("py-spy is not installed: pip install -e '.[bench]'")
    os.environ["BENCH_P1_DB"] = a.db
    out = pathlib.Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    env = {"TESLA_SIM_CLOCK_TTL_S": "3600"}
    if a.variant == "tesla_read":
        env.update({"POLL_DEDUP_S": "0", "TESLA_DATA_BUDGET_PER_DAY": "100000000", "TESLA_SIM_DATA_PER_MINUTE": "0"})
    with telemetry_db_env() as db_env, stackctl.running_stack({**env, **db_env}) as stack:
        tok = stackctl.token("bench-driver-1")
        stackctl.connect_and_plug_in(stack, tok)
        url = stackctl.gateway_url(stack) + "/v1/charging-sessions/poll"
        hdr = {"Authorization": f"Bearer {tok}"}
        check_once(url, method="POST", body=BODY, headers=hdr)
        if bool(check_once(url, method="POST", body=BODY, headers=hdr).get("cached")) != (a.variant == "cache_hit"):
            raise SystemExit(f"the poll does not answer as the {a.variant} variant expects")
        spies = []
        for name in ("telemetry", "gateway"):
            cmd = [spy, "record", "--pid", str(stack.procs[name].pid), "--duration", str(a.seconds),
                   "--format", "raw", "--rate", "200", "--output", str(out / f"{name}.{a.variant}.{a.db}.collapsed")]
            if a.gil:
                cmd.append("--gil")
            spies.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        result: dict = {}
        load = threading.Thread(target=lambda: result.update(wrk_with_cpu(
            url, [stack.procs[n].pid for n in ("gateway", "telemetry")], method="POST", body=BODY,
            headers=hdr, duration_s=a.seconds, connections=32 if a.variant == "cache_hit" else 1)))
        load.start()
        load.join()
        for s in spies:
            s.wait()
    print(f"load: {result.get('rps', 0):.0f} req/s, server CPU {result.get('cpu_us_per_req', 0):.0f} µs/req")
    for name in ("telemetry", "gateway"):
        print(f"\n== {name} ({a.db}) ==")
        print(summarise(out / f"{name}.{a.variant}.{a.db}.collapsed", a.top))


if __name__ == "__main__":
    main()
