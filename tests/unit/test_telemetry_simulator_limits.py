"""The simulator's per-vehicle data rate limit can be lifted for benchmarks (TESLA_SIM_DATA_PER_MINUTE=0)."""
from __future__ import annotations

import httpx

from simulators.tesla.app import build_app
from tests.unit.test_telemetry_simulator import VIN, auth, login


async def reads(monkeypatch, limit: str) -> list[int]:
    monkeypatch.setenv("TESLA_SIM_SEED", "demo")
    monkeypatch.setenv("TESLA_SIM_DATA_PER_MINUTE", limit)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app()), base_url="http://sim") as sim:
        await sim.post("/_sim/clock", json={"now": "2026-03-01T12:00:00Z", "frozen": True})
        tokens = await login(sim)
        await sim.post(f"/na/api/1/vehicles/{VIN}/wake_up", headers=auth(tokens))
        await sim.post("/_sim/clock/advance", json={"seconds": 10})
        return [(await sim.get(f"/na/api/1/vehicles/{VIN}/vehicle_data", headers=auth(tokens))).status_code
                for _ in range(8)]


async def test_a_lower_limit_applies(monkeypatch):
    assert await reads(monkeypatch, "3") == [200] * 3 + [429] * 5


async def test_zero_lifts_the_limit(monkeypatch):
    assert await reads(monkeypatch, "0") == [200] * 8
