"""The real stack for benchmarks: every process on free ports in a scratch directory, plus the steps
a user takes to get a driver polling (Tesla OAuth against the simulator, plug in)."""
from __future__ import annotations

import contextlib
import os
import pathlib
import tempfile
from collections.abc import Iterator

import httpx

from cli.stack import Ports, Stack, migrate_all
from kit import auth
from kit.settings import DEV_JWT_SECRET

DEMO_VIN = "5YJ3E1EA1NF000001"


def token(sub: str, *roles: str, ttl_s: int = 6 * 3600) -> str:
    return auth.mint(DEV_JWT_SECRET, sub, roles or ("driver",), ttl_s=ttl_s)


@contextlib.contextmanager
def running_stack(extra_env: dict[str, str] | None = None) -> Iterator[Stack]:
    with tempfile.TemporaryDirectory(prefix="nerava-bench-") as d:
        tmp = pathlib.Path(d)
        env = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")}
        env.update({"NERAVA_JWT_SECRET": DEV_JWT_SECRET, "ENV": "test", "LOG_LEVEL": "WARNING",
                    # a load generator is one client hammering one path: the edge limit would answer 429
                    "GATEWAY_RATE_LIMIT_ENABLED": "false"})
        env.update(extra_env or {})
        with open(os.devnull, "w") as null:
            migrate_all(env, tmp, out=null)
        stack = Stack(ports=Ports.free(), data_dir=tmp, env=env, log_dir=tmp / "logs")
        try:
            stack.start(timeout_s=90)
            yield stack
        finally:
            stack.stop()


def gateway_url(stack: Stack) -> str:
    return f"http://127.0.0.1:{stack.ports.gateway}"


def sim_url(stack: Stack) -> str:
    return f"http://127.0.0.1:{stack.ports.simulators['tesla']}"


def connect_and_plug_in(stack: Stack, driver_token: str, vin: str = DEMO_VIN) -> str:
    """Tesla OAuth through the gateway (the simulator auto-approves), plug the car in, open a session
    with one poll; returns the session id. The simulator's clock is frozen so the poll's dedup window
    never lapses during a measurement."""
    hdr = {"Authorization": f"Bearer {driver_token}"}
    with httpx.Client(base_url=gateway_url(stack), timeout=15) as gw, \
            httpx.Client(base_url=sim_url(stack), timeout=15) as sim:
        sim.post("/_sim/clock", json={"frozen": True}).raise_for_status()
        r = gw.get("/v1/auth/tesla/connect", headers=hdr)
        r.raise_for_status()
        approved = httpx.get(r.json()["authorization_url"], follow_redirects=False, timeout=10)
        callback = approved.headers["location"].replace(gateway_url(stack), "")
        done = gw.get(callback, follow_redirects=False)
        if done.status_code != 307:
            raise RuntimeError(f"Tesla connect failed: {done.status_code} {done.text}")
        sim.post(f"/_sim/vehicles/{vin}/script", json={"steps": [
            {"after_s": 0, "action": "plug_in", "params": {"dc": False, "power_kw": 11}}]}).raise_for_status()
        sim.post("/_sim/clock/advance", json={"seconds": 60}).raise_for_status()
        p = gw.post("/v1/charging-sessions/poll", headers=hdr, json={"lat": 30.3979, "lng": -97.7044}).json()
        if not p.get("session_active"):
            raise RuntimeError(f"no session opened: {p}")
        return p["session_id"]
