"""NATS JetStream for the push tests. Policy: the push tests always run — an unreachable server
FAILS them (in CI and locally), with the command that starts it; they never skip. Every test uses
its own stream / subject namespace / durable / dead-letter subject (``unique_push_names``) so
parallel runs on the shared server never collide, and deletes its streams afterwards."""
from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import uuid

import pytest

NATS_URL = os.environ.get("NERAVA_TEST_NATS_URL", "nats://127.0.0.1:4222")
NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"
START = ("start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 "
         "-p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log")


async def require_nats(url: str = NATS_URL) -> str:
    import nats

    try:
        nc = await nats.connect(url, connect_timeout=2, allow_reconnect=False, max_reconnect_attempts=0)
        try:
            await nc.jetstream().account_info()
        finally:
            await nc.close()
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"the push tests need NATS with JetStream at {url} ({type(exc).__name__}: {exc}); "
                    f"start it with: {START}", pytrace=False)
    return url


def unique_push_names() -> dict[str, str]:
    uid = uuid.uuid4().hex[:10]
    return {"stream": f"TT_{uid}", "namespace": f"tt_{uid}", "durable": f"telemetry_{uid}",
            "dead_letter_subject": f"tt_{uid}_dead"}


async def delete_streams(url: str, *names: str) -> None:
    import nats

    nc = await nats.connect(url, connect_timeout=2)
    try:
        js = nc.jetstream()
        for name in names:
            try:
                await js.delete_stream(name)
            except Exception:  # noqa: BLE001 — already gone
                pass
    finally:
        await nc.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateNatsServer:
    """A nats-server of our own (free port, temporary JetStream store) that a test may stop and
    start again without disturbing the shared server or other engineers' runs."""

    def __init__(self) -> None:
        self.port = free_port()
        self.store = tempfile.mkdtemp(prefix="nats-js-")
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.proc = subprocess.Popen([NATS_SERVER, "-a", "127.0.0.1", "-p", str(self.port), "-js",
                                      "-sd", self.store], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                await asyncio.sleep(0.05)
        raise RuntimeError("private nats-server did not start")

    async def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            await asyncio.to_thread(self.proc.wait, 10)
            self.proc = None

    async def close(self) -> None:
        await self.stop()
        shutil.rmtree(self.store, ignore_errors=True)
