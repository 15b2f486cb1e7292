"""Mock mode: the service's clock follows the Tesla simulator's virtual clock (spec §7)."""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time

import httpx

log = logging.getLogger("telemetry.simclock")
UTC = dt.timezone.utc


class SimulatorClock:
    """``now()`` extrapolates from the last ``GET /_sim/clock``; ``sync()`` refreshes it (TTL)."""

    def __init__(self, base_url: str, ttl_s: float = 0.0, http: httpx.AsyncClient | None = None) -> None:
        self.url = base_url.rstrip("/") + "/_sim/clock"
        self.ttl_s = ttl_s
        self.http = http or httpx.AsyncClient(timeout=httpx.Timeout(2.0))
        self._virtual = dt.datetime.now(UTC)
        self._real = time.monotonic()
        self._frozen, self._speed = False, 1.0
        self._lock = asyncio.Lock()

    def now(self) -> dt.datetime:
        if self._frozen:
            return self._virtual
        return self._virtual + dt.timedelta(seconds=(time.monotonic() - self._real) * self._speed)

    async def sync(self) -> None:
        if self.ttl_s and time.monotonic() - self._real < self.ttl_s:
            return
        try:
            resp = await self.http.get(self.url)
            body = resp.json()
            virtual = dt.datetime.fromisoformat(body["now"].replace("Z", "+00:00"))
        except (httpx.HTTPError, ValueError, KeyError):
            log.warning("simulator clock unreachable; extrapolating")
            return
        self._virtual, self._real = virtual, time.monotonic()
        self._frozen, self._speed = bool(body.get("frozen")), float(body.get("speed") or 1.0)

    async def sleep(self, seconds: float) -> None:
        """Retry sleeps follow the virtual clock when it runs; a frozen clock does not wait."""
        if seconds <= 0 or self._frozen:
            await asyncio.sleep(0)
            return
        await asyncio.sleep(seconds / max(self._speed, 1e-6))

    async def run_sync_loop(self, every_s: float = 1.0) -> None:
        while True:
            await self.sync()
            await asyncio.sleep(every_s)


class SystemSleepClock:
    """Production: the system clock; ``sync`` is a no-op."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(UTC)

    async def sync(self) -> None:
        return None

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
