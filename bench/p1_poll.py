"""P1: the poll hot path through the gateway ÷ the bare Starlette → grpc.aio echo hop.

Candidate: ``POST /v1/charging-sessions/poll`` through the real gateway and telemetry processes
(SQLite, `make run`'s default) for a driver whose car is charging, answered from the 30-second dedup
window (a cache hit: no Tesla call). Also the same endpoint with every poll reading the car from the
Tesla simulator (dedup off, budget raised, the simulator's per-vehicle rate limit lifted), which adds
a lease, a budget reservation, one HTTP round trip to the simulator and the observation write. One VIN
allows one read at a time (single flight), so that variant runs one connection on both sides; it checks
that (almost) every poll really read the car (``tesla_reads_per_poll``).

Baseline: ``bench.echo_hop`` — Starlette on uvicorn (uvloop, httptools) → reused grpc.aio channel →
echo servicer → JSON, the gateway's shape with nothing of ours in it; interleaved with the candidate.
Load: wrk, 32 connections, one thread, on the same two cores.

``BENCH_P1_DB=postgres`` puts telemetry on a scratch PostgreSQL database instead of SQLite. The
figure's extra data breaks the server CPU per request down per process.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics

from bench import stackctl
from bench.harness import (PG_ADMIN_DB, PG_HOST, PG_PORT, PG_USER, Figure, check_once, interleave, process,
                           wrk_with_cpu)
from cli.stack import free_port

BODY = json.dumps({"lat": 30.3979, "lng": -97.7044})


@contextlib.contextmanager
def telemetry_db_env():
    """``{}`` (SQLite, the stack's default) or ``TELEMETRY_DATABASE_URL`` of a scratch PostgreSQL."""
    if os.environ.get("BENCH_P1_DB", "sqlite").lower() not in ("postgres", "postgresql", "pg"):
        yield {}
        return
    import uuid

    import asyncpg

    name = f"nerava_bench_p1_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database=PG_ADMIN_DB)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield {"TELEMETRY_DATABASE_URL": f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"}
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def tesla_data_reads(sim_url: str) -> int:
    """Billed ``vehicle_data`` requests so far (the simulator's billing, category ``data``)."""
    import httpx

    billing = httpx.get(sim_url + "/_sim/billing", timeout=10).json()
    billing = billing["categories"]
    return int((billing.get("data") or {}).get("requests", 0))


def run(reps: int, quick: bool) -> list[Figure]:
    duration = 3.0 if quick else 8.0
    figures = []
    gp, hp = free_port(), free_port()
    with process(["-m", "bench.echo_hop", "server", "--port", str(gp)], port=gp) as echo_server, \
            process(["-m", "bench.echo_hop", "front", "--port", str(hp), "--upstream", f"127.0.0.1:{gp}"],
                    port=hp) as echo_front:
        echo_url = f"http://127.0.0.1:{hp}/echo"
        check_once(echo_url, method="POST", body=BODY)
        cpu: dict[str, list[float]] = {}
        per_process: dict[str, list[float]] = {}

        reads_per_poll: list[float] = []

        def measured(name: str, url: str, pids: dict[str, int], sim: str = "", **kw):
            def measure() -> float:
                before = tesla_data_reads(sim) if sim else 0
                r = wrk_with_cpu(url, list(pids.values()), method="POST", body=BODY, duration_s=duration, **kw)
                if sim:
                    reads_per_poll.append((tesla_data_reads(sim) - before) / max(r["requests"], 1))
                cpu.setdefault(name, []).append(r["cpu_us_per_req"])
                for proc_name, pid in pids.items():
                    per_process.setdefault(f"{name}.{proc_name}", []).append(r["cpu_us_per_req_by_pid"][pid])
                return r["rps"]
            return measure

        for variant, env, title in (
            ("cache_hit", {"TESLA_SIM_CLOCK_TTL_S": "3600"}, "poll (dedup hit) via gateway ÷ echo hop"),
            ("tesla_read", {"TESLA_SIM_CLOCK_TTL_S": "3600", "POLL_DEDUP_S": "0",
                            "TESLA_DATA_BUDGET_PER_DAY": "100000000", "TESLA_SIM_DATA_PER_MINUTE": "0"},
             "poll (Tesla read) via gateway ÷ echo hop"),
        ):
            cpu.clear()
            per_process.clear()
            reads_per_poll.clear()
            conns = 32 if variant == "cache_hit" else 1
            with telemetry_db_env() as db_env, stackctl.running_stack({**env, **db_env}) as stack:
                tok = stackctl.token("bench-driver-1")
                stackctl.connect_and_plug_in(stack, tok)
                url = stackctl.gateway_url(stack) + "/v1/charging-sessions/poll"
                hdr = {"Authorization": f"Bearer {tok}"}
                first = check_once(url, method="POST", body=BODY, headers=hdr)
                second = check_once(url, method="POST", body=BODY, headers=hdr)
                if not (first.get("session_active") and second.get("session_active")):
                    raise RuntimeError(f"the poll is not answering an active session: {second}")
                if (variant == "cache_hit") != bool(second.get("cached")):
                    raise RuntimeError(f"{variant}: unexpected cached={second.get('cached')}")

                pids = {n: stack.procs[n].pid for n in ("gateway", "telemetry", "tesla")}
                series = interleave(reps, {
                    "baseline": measured("baseline", echo_url,
                                         {"echo_front": echo_front.pid, "echo_server": echo_server.pid},
                                         connections=conns),
                    "candidate": measured("candidate", url, pids, headers=hdr, connections=conns,
                                          sim=stackctl.sim_url(stack) if variant == "tesla_read" else "")})
            if variant == "tesla_read" and min(reads_per_poll) < 0.9:
                raise RuntimeError(f"tesla_read: only {min(reads_per_poll):.2f} Tesla reads per poll")
            ratio = series["candidate"].median / series["baseline"].median
            goal_met = ratio >= 0.7 if variant == "cache_hit" else None
            cb, cc = statistics.median(cpu["baseline"]), statistics.median(cpu["candidate"])
            med = {k: round(statistics.median(v)) for k, v in per_process.items()}
            notes = (f"{conns} connection(s); server CPU per request: candidate {cc:.0f} µs, echo hop {cb:.0f} µs"
                     f" → {cb / cc:.3f} (steadier than req/s on a shared host)\n     per process (µs/req): "
                     + ", ".join(f"{k} {v}" for k, v in med.items()))
            if reads_per_poll:
                notes += f"; Tesla reads per poll {statistics.median(reads_per_poll):.2f}"
            figures.append(Figure("P1", title, "req/s", series["candidate"].summary(),
                                  series["baseline"].summary(), round(ratio, 3),
                                  "ratio ≥ 0.7" if variant == "cache_hit" else "(reported)", goal_met, notes,
                                  extra={"variant": variant, "cpu_us_per_req": dict(cpu), "connections": conns,
                                         "tesla_reads_per_poll": list(reads_per_poll),
                                         "telemetry_db": "postgres" if db_env else "sqlite",
                                         "cpu_us_per_req_per_process": {k: list(v) for k, v in per_process.items()},
                                         "cpu_ratio_baseline_over_candidate": round(
                                             statistics.median(cpu["baseline"])
                                             / statistics.median(cpu["candidate"]), 3)}))
    return figures
