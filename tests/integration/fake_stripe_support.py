"""Runs the fake Stripe server in a background thread on a free port (not a test module)."""
from __future__ import annotations

import threading
import time

import httpx
import uvicorn

from cli.stack import free_port


class FakeStripe:
    def __init__(self) -> None:
        from simulators.stripe.app import build_app

        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(build_app(), host="127.0.0.1", port=self.port, log_config=None,
                                access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> "FakeStripe":
        self.thread.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base + "/_sim/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("fake Stripe did not start")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    # control API helpers (async so tests do not block their event loop)
    async def ctl(self, method: str, path: str, json: dict | None = None) -> dict:
        async with httpx.AsyncClient(timeout=30) as c:
            r = await c.request(method, self.base + "/_sim" + path, json=json)
            r.raise_for_status()
            return r.json()
