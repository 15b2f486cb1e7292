"""In-process harness for telemetry integration tests: the real use cases on a real database (SQLite
or PostgreSQL) talking httpx to the real Tesla simulator app through an ASGI transport."""
from __future__ import annotations

import asyncio
import dataclasses
from urllib.parse import parse_qs, urlparse

import httpx
from cryptography.fernet import Fernet

from kit import migrations
from kit.db import Database
from services.telemetry.__main__ import DEMO_SEED, build_usecases
from services.telemetry.adapters.simclock import SimulatorClock
from services.telemetry.app.usecases import TelemetryUseCases
from services.telemetry.config import TelemetryConfig
from simulators.tesla.app import build_app

SIM = "http://sim"
VIN = "5YJ3E1EA1NF000001"


@dataclasses.dataclass
class Harness:
    db: Database
    uc: TelemetryUseCases
    sim: httpx.AsyncClient
    app: object

    async def advance(self, seconds: float) -> None:
        await self.sim.post("/_sim/clock/advance", json={"seconds": seconds})

    async def script(self, vin: str, *steps: tuple[float, str, dict]) -> None:
        r = await self.sim.post(f"/_sim/vehicles/{vin}/script", json={"steps": [
            {"after_s": a, "action": act, "params": p} for a, act, p in steps]})
        assert r.status_code == 200, r.text

    async def connect(self, driver_id: str, login_hint: str | None = None) -> str:
        url, state = await self.uc.create_authorize_url("connect", driver_id)
        if login_hint:
            url += "&login_hint=" + login_hint
        r = await self.sim.get(url.replace(SIM, ""))
        assert r.status_code == 302, r.text
        q = parse_qs(urlparse(r.headers["location"]).query)
        return await self.uc.handle_callback(q["code"][0], q["state"][0])

    async def close(self) -> None:
        await self.sim.aclose()
        await self.db.dispose()


async def make_harness(database_url: str, **env) -> Harness:
    await asyncio.to_thread(migrations.upgrade, "telemetry", database_url)
    db = Database(database_url)
    app = build_app()
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=SIM)
    await http.post("/_sim/clock", json={"now": "2026-03-02T10:00:00Z", "frozen": True})
    config = TelemetryConfig(**{"TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(), "TESLA_SIMULATOR_URL": SIM,
                                "TESLA_WAKE_RETRY_S": 0, "API_BASE_URL": "http://gw", "ENV": "test", **env})
    clock = SimulatorClock(SIM, http=http)
    uc = build_usecases(config, db, clock=clock, http=http)
    await uc.seed_chargers(DEMO_SEED)
    return Harness(db, uc, http, app)
