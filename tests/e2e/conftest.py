"""End-to-end fixtures: the real processes (four services, gateway, simulators) on free ports."""
from __future__ import annotations

import os
import pathlib

import pytest

from cli.stack import Ports, Stack, migrate_all
from kit import auth
from kit.settings import DEV_JWT_SECRET

SECRET = DEV_JWT_SECRET


def token(sub: str, *roles: str, ttl_s: int = 3600) -> str:
    return auth.mint(SECRET, sub, roles or ("driver",), ttl_s=ttl_s)


def start_stack(tmp: pathlib.Path, extra_env: dict[str, str] | None = None) -> Stack:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")}
    env.update({"NERAVA_JWT_SECRET": SECRET, "ENV": "test", "LOG_LEVEL": "INFO",
                "GATEWAY_UPSTREAM_TIMEOUT_S": "3",
                # test loops poll faster than any client may; the edge limits have their own tests
                # (tests/integration/test_gateway_edge.py, tests/e2e/test_gateway_process.py)
                "GATEWAY_RATE_LIMIT_ENABLED": "false"})
    env.update(extra_env or {})
    migrate_all(env, tmp, out=open(os.devnull, "w"))
    stack = Stack(ports=Ports.free(), data_dir=tmp, env=env, log_dir=tmp / "logs")
    try:
        stack.start(timeout_s=60)
    except Exception:
        stack.stop()
        for log in sorted((tmp / "logs").glob("*.log")):
            print(f"--- {log.name}\n{log.read_text()[-3000:]}")
        raise
    return stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    s = start_stack(tmp_path_factory.mktemp("stack"))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def base_url(stack) -> str:
    return f"http://127.0.0.1:{stack.ports.gateway}"
