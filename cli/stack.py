"""Start the whole stack as separate processes, wait for health, stop cleanly.

Used by ``nerava up`` and by the end-to-end tests (with free ports and a scratch data dir)."""
from __future__ import annotations

import dataclasses
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from kit import migrations
from kit.db import default_url
from kit.settings import METRICS_PORTS, PORTS

SERVICES = ("telemetry", "incentives", "wallet", "clo")
SIMULATORS = {"tesla": ("TESLA_SIM_PORT", 8765), "stripe": ("FAKE_STRIPE_PORT", 8780),
              "fidel": ("FIDEL_SIM_PORT", 8790)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclasses.dataclass
class Ports:
    gateway: int
    services: dict[str, int]
    simulators: dict[str, int]
    metrics: dict[str, int]

    @classmethod
    def from_env(cls, env: dict[str, str]) -> "Ports":
        def port(key: str, default: int) -> int:
            return int(env.get(key, default))

        return cls(
            gateway=port("NERAVA_GATEWAY_PORT", PORTS["gateway"]),
            services={s: port(f"NERAVA_{s.upper()}_PORT", PORTS[s]) for s in SERVICES},
            simulators={n: port(k, d) for n, (k, d) in SIMULATORS.items()},
            metrics={n: port(f"NERAVA_{n.upper()}_METRICS_PORT", METRICS_PORTS[n]) for n in METRICS_PORTS},
        )

    @classmethod
    def free(cls) -> "Ports":
        return cls(free_port(), {s: free_port() for s in SERVICES},
                   {n: free_port() for n in SIMULATORS}, {n: 0 for n in METRICS_PORTS})


def database_urls(env: dict[str, str], data_dir: pathlib.Path) -> dict[str, str]:
    return {s: env.get(f"{s.upper()}_DATABASE_URL") or default_url(data_dir, s) for s in SERVICES}


def migrate_all(env: dict[str, str], data_dir: pathlib.Path, out=sys.stdout) -> None:
    for service, url in database_urls(env, data_dir).items():
        migrations.upgrade(service, url)
        print(f"migrated {service}", file=out)


def local_token_key(data_dir: pathlib.Path) -> str:
    """The local stack's Tesla-token encryption key (Fernet), generated once per data dir."""
    from cryptography.fernet import Fernet

    path = pathlib.Path(data_dir) / "token-encryption.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(Fernet.generate_key())
        path.chmod(0o600)
    return path.read_text().strip()


class Stack:
    def __init__(self, *, ports: Ports, data_dir: pathlib.Path, env: dict[str, str] | None = None,
                 with_simulators: bool = True, log_dir: pathlib.Path | None = None) -> None:
        self.ports, self.data_dir = ports, data_dir
        self.base_env = dict(env if env is not None else os.environ)
        self.with_simulators = with_simulators
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen] = {}

    def env_for(self, name: str) -> dict[str, str]:
        env = dict(self.base_env)
        env["NERAVA_DATA_DIR"] = str(self.data_dir)
        env["PYTHONUNBUFFERED"] = "1"
        for s, p in self.ports.services.items():
            env[f"{s.upper()}_GRPC_ADDR"] = f"127.0.0.1:{p}"
        env["NERAVA_GATEWAY_PORT"] = str(self.ports.gateway)
        env["TESLA_API_BASE_URL"] = env.get("TESLA_API_BASE_URL", f"http://127.0.0.1:{self.ports.simulators['tesla']}")
        env.setdefault("TESLA_SIMULATOR_URL", f"http://127.0.0.1:{self.ports.simulators['tesla']}")
        env.setdefault("API_BASE_URL", f"http://127.0.0.1:{self.ports.gateway}")
        if name == "telemetry" and not env.get("TOKEN_ENCRYPTION_KEYS"):
            env["TOKEN_ENCRYPTION_KEYS"] = local_token_key(self.data_dir)
        env["FIDEL_API_URL"] = env.get("FIDEL_API_URL", f"http://127.0.0.1:{self.ports.simulators['fidel']}/v1")
        if self.with_simulators:  # the real stripe SDK is pointed at the fake Stripe server
            env["STRIPE_API_BASE"] = env.get("STRIPE_API_BASE", f"http://127.0.0.1:{self.ports.simulators['stripe']}")
        # Fidel webhooks: the simulator signs for the gateway's URL with the service's secret (clo.md §7)
        gateway_url = f"http://127.0.0.1:{self.ports.gateway}"
        env.setdefault("FIDEL_WEBHOOK_BASE_URL", gateway_url)
        env.setdefault("SIM_WEBHOOK_BASE_URL", env["FIDEL_WEBHOOK_BASE_URL"])
        if env.get("ENV", "development") != "production":
            env.setdefault("FIDEL_WEBHOOK_SECRET", "fidel-dev-webhook-secret")
        if env.get("FIDEL_WEBHOOK_SECRET"):
            env.setdefault("SIM_WEBHOOK_SECRET", env["FIDEL_WEBHOOK_SECRET"])
        if name in SERVICES:
            env["GRPC_PORT"] = str(self.ports.services[name])
        if name in self.ports.metrics:
            env["METRICS_PORT"] = str(self.ports.metrics[name])
        for n, (key, _) in SIMULATORS.items():
            env[key] = str(self.ports.simulators[n])
        return env

    def command(self, name: str) -> list[str]:
        if name in SERVICES:
            return [sys.executable, "-m", f"services.{name}"]
        if name == "gateway":
            return [sys.executable, "-m", "gateway"]
        return [sys.executable, "-m", f"simulators.{name}"]

    def names(self) -> list[str]:
        sims = list(SIMULATORS) if self.with_simulators else []
        return [*sims, *SERVICES, "gateway"]

    def start_one(self, name: str) -> None:
        stdout = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            stdout = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        self.procs[name] = subprocess.Popen(self.command(name), env=self.env_for(name), stdout=stdout,
                                            stderr=subprocess.STDOUT if stdout else None,
                                            start_new_session=True)

    def start(self, timeout_s: float = 60.0) -> None:
        for name in self.names():
            self.start_one(name)
        self.wait_healthy(self.names(), timeout_s)

    def wait_healthy(self, names: list[str], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        pending = list(names)
        while pending:
            for name in list(pending):
                proc = self.procs[name]
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with code {proc.returncode} during start-up")
                if self.healthy(name):
                    pending.remove(name)
            if pending and time.monotonic() > deadline:
                raise RuntimeError(f"not healthy after {timeout_s:.0f}s: {', '.join(pending)}")
            if pending:
                time.sleep(0.1)

    def healthy(self, name: str) -> bool:
        try:
            if name in SERVICES:
                with grpc.insecure_channel(f"127.0.0.1:{self.ports.services[name]}") as ch:
                    resp = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=1)
                    return resp.status == health_pb2.HealthCheckResponse.SERVING
            if name == "gateway":
                return httpx.get(f"http://127.0.0.1:{self.ports.gateway}/healthz", timeout=1).status_code == 200
            return httpx.get(f"http://127.0.0.1:{self.ports.simulators[name]}/_sim/health",
                             timeout=1).status_code == 200
        except (grpc.RpcError, httpx.HTTPError):
            return False

    def stop_one(self, name: str, timeout_s: float = 10.0) -> int | None:
        proc = self.procs.pop(name, None)
        return stop_process(proc, timeout_s) if proc is not None else None

    def kill_one(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()

    def stop(self) -> None:
        for name in reversed(list(self.procs)):
            self.stop_one(name)

    def urls(self) -> dict[str, str]:
        out = {"gateway": f"http://127.0.0.1:{self.ports.gateway}"}
        for s, p in self.ports.services.items():
            out[s] = f"grpc://127.0.0.1:{p}"
        if self.with_simulators:
            for n, p in self.ports.simulators.items():
                out[f"{n} simulator"] = f"http://127.0.0.1:{p}"
        return out


def stop_process(proc: subprocess.Popen, timeout_s: float = 10.0) -> int:
    """SIGTERM (graceful shutdown), then SIGKILL if it is still running after ``timeout_s``."""
    if proc.poll() is not None:
        return proc.returncode
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()
