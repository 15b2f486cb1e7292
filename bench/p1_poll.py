"""P1: the poll hot path through the gateway ÷ the bare Starlette → grpc.aio echo hop.

Candidate: ``POST /v1/charging-sessions/poll`` through the real gateway and telemetry processes
(SQLite, `make run`'s default) for a driver whose car is charging, answered from the 30-second dedup
window (a cache hit: no Tesla call). Also the same endpoint with every poll reading the car from the
Tesla simulator (dedup off, budget raised), which adds one HTTP round trip to the simulator.

Baseline: ``bench.echo_hop`` — Starlette on uvicorn (uvloop, httptools) → reused grpc.aio channel →
echo servicer → JSON, the gateway's shape with nothing of ours in it; interleaved with the candidate.
Load: wrk, 32 connections, one thread, on the same two cores.
"""
from __future__ import annotations

import json

from bench import stackctl
from bench.harness import Figure, check_once, free_port, interleave, process, wrk

BODY = json.dumps({"lat": 30.3979, "lng": -97.7044})


def run(reps: int, quick: bool) -> list[Figure]:
    duration = 3.0 if quick else 8.0
    figures = []
    gp, hp = free_port(), free_port()
    with process(["-m", "bench.echo_hop", "server", "--port", str(gp)], port=gp), \
            process(["-m", "bench.echo_hop", "front", "--port", str(hp), "--upstream", f"127.0.0.1:{gp}"],
                    port=hp):
        echo_url = f"http://127.0.0.1:{hp}/echo"
        check_once(echo_url, method="POST", body=BODY)

        def baseline() -> float:
            return wrk(echo_url, method="POST", body=BODY, duration_s=duration)["rps"]

        for variant, env, title in (
            ("cache_hit", {"TESLA_SIM_CLOCK_TTL_S": "3600"}, "poll (dedup hit) via gateway ÷ echo hop"),
            ("tesla_read", {"TESLA_SIM_CLOCK_TTL_S": "3600", "POLL_DEDUP_S": "0",
                            "TESLA_DATA_BUDGET_PER_DAY": "100000000"},
             "poll (Tesla read) via gateway ÷ echo hop"),
        ):
            with stackctl.running_stack(env) as stack:
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

                def candidate() -> float:
                    return wrk(url, method="POST", body=BODY, headers=hdr, duration_s=duration)["rps"]

                series = interleave(reps, {"baseline": baseline, "candidate": candidate})
            ratio = series["candidate"].median / series["baseline"].median
            goal_met = ratio >= 0.7 if variant == "cache_hit" else None
            figures.append(Figure("P1", title, "req/s", series["candidate"].summary(),
                                  series["baseline"].summary(), round(ratio, 3),
                                  "ratio ≥ 0.7" if variant == "cache_hit" else "(reported)", goal_met,
                                  extra={"variant": variant}))
    return figures
