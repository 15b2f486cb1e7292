"""``nerava serve <name>`` and ``nerava healthcheck [name]``: what the container image runs.

``serve`` replaces itself (``exec``) with exactly the process ``nerava up`` would start
(``python -m services.<ctx>``, ``python -m gateway``, ``python -m simulators.<x>``), so signals
reach the process directly and the image has one entrypoint for every role. Before it execs it
records the role in ``$NERAVA_RUN_DIR/serving`` (default ``/tmp``) so that a bare
``nerava healthcheck`` (the image's HEALTHCHECK) knows what to probe.
"""
from __future__ import annotations

import os
import pathlib
import sys

from cli.stack import SERVICES, SIMULATORS
from kit.settings import PORTS

ROLES = (*SERVICES, "gateway", *SIMULATORS)


def module_for(name: str) -> str:
    """The ``python -m`` module of a role name (``wallet``, ``gateway``, ``tesla`` ...)."""
    if name in SERVICES:
        return f"services.{name}"
    if name == "gateway":
        return "gateway"
    if name in SIMULATORS:
        return f"simulators.{name}"
    raise ValueError(f"unknown process {name!r}; one of: {', '.join(ROLES)}")


def run_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("NERAVA_RUN_DIR", "/tmp"))


def serve(name: str, *, execv=os.execv) -> int:
    try:
        module = module_for(name)
    except ValueError as exc:
        print(f"nerava serve: {exc}", file=sys.stderr)
        return 2
    try:
        run_dir().mkdir(parents=True, exist_ok=True)
        (run_dir() / "serving").write_text(name)
    except OSError as exc:  # a read-only /tmp must not stop the process; only the healthcheck needs it
        print(f"nerava serve: cannot record the role ({exc}); pass it to 'nerava healthcheck'",
              file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    execv(sys.executable, [sys.executable, "-m", module])
    return 0  # only reached with a test double for execv


def _port(name: str, env: dict[str, str]) -> int:
    if name in SERVICES:
        for key in ("GRPC_PORT", f"NERAVA_{name.upper()}_PORT"):
            if env.get(key):
                return int(env[key])
        return PORTS[name]
    if name == "gateway":
        return int(env.get("NERAVA_GATEWAY_PORT") or PORTS["gateway"])
    key, default = SIMULATORS[name]
    return int(env.get(key) or default)


def check(name: str, env: dict[str, str] | None = None, host: str = "127.0.0.1",
          timeout_s: float = 2.0) -> tuple[bool, str]:
    """Probe one process the way the orchestrators do: gRPC health for a service, HTTP otherwise."""
    env = dict(os.environ if env is None else env)
    module_for(name)  # validates the name
    port = _port(name, env)
    if name in SERVICES:
        import grpc
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        try:
            with grpc.insecure_channel(f"{host}:{port}") as ch:
                resp = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=timeout_s)
        except grpc.RpcError as exc:
            return False, f"{name} :{port} gRPC health failed: {exc.code().name}"
        status = health_pb2.HealthCheckResponse.ServingStatus.Name(resp.status)
        return resp.status == health_pb2.HealthCheckResponse.SERVING, f"{name} :{port} {status}"
    import httpx

    path = "/healthz" if name == "gateway" else "/_sim/health"
    try:
        resp = httpx.get(f"http://{host}:{port}{path}", timeout=timeout_s)
    except httpx.HTTPError as exc:
        return False, f"{name} :{port}{path} failed: {type(exc).__name__}"
    return resp.status_code == 200, f"{name} :{port}{path} HTTP {resp.status_code}"


def healthcheck(name: str | None) -> int:
    if name is None:
        marker = run_dir() / "serving"
        try:
            name = marker.read_text().strip()
        except OSError:
            print(f"nerava healthcheck: no process recorded in {marker}; pass its name", file=sys.stderr)
            return 1
    try:
        ok, detail = check(name)
    except ValueError as exc:
        print(f"nerava healthcheck: {exc}", file=sys.stderr)
        return 2
    print(detail)
    return 0 if ok else 1
