"""The same stack with every service on its own PostgreSQL database (required in CI)."""
from __future__ import annotations

import asyncio

import httpx
import pytest
import sqlalchemy as sa

from kit.db import Database
from services.wallet.adapters.tables import wallets
from tests.conftest import create_database, drop_database, pg_url, require_postgres
from tests.e2e.conftest import start_stack, token

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

SERVICES = ("telemetry", "incentives", "wallet", "clo")


@pytest.fixture(scope="module")
async def pg_stack(tmp_path_factory):
    await require_postgres()
    names = {s: await create_database(f"nerava_e2e_{s}") for s in SERVICES}
    env = {f"{s.upper()}_DATABASE_URL": pg_url(n) for s, n in names.items()}
    stack = await asyncio.to_thread(start_stack, tmp_path_factory.mktemp("pg"), env)
    try:
        yield stack, env
    finally:
        await asyncio.to_thread(stack.stop)
        for n in names.values():
            await drop_database(n)


async def test_first_use_race_creates_one_wallet_and_no_errors(pg_stack):
    stack, env = pg_stack
    base = f"http://127.0.0.1:{stack.ports.gateway}"
    tok = token("pg-driver-race")
    async with httpx.AsyncClient(base_url=base, timeout=20,
                                 headers={"Authorization": f"Bearer {tok}"}) as client:
        responses = await asyncio.gather(*(client.get("/v1/wallet/balance") for _ in range(50)))
    assert [r.status_code for r in responses] == [200] * 50
    db = Database(env["WALLET_DATABASE_URL"])
    try:
        async with db.read() as conn:
            count = (await conn.execute(sa.select(sa.func.count()).select_from(wallets)
                                        .where(wallets.c.driver_id == "pg-driver-race"))).scalar_one()
    finally:
        await db.dispose()
    assert count == 1


async def test_each_service_answers_on_postgres(pg_stack):
    stack, _ = pg_stack
    base = f"http://127.0.0.1:{stack.ports.gateway}"
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        d = {"Authorization": f"Bearer {token('pg-d')}"}
        s = {"Authorization": f"Bearer {token('pg-s', 'sponsor')}"}
        assert (await client.get("/v1/auth/tesla/status", headers=d)).json()["connected"] is False
        assert (await client.get("/v1/campaigns/", headers=s)).json() == {"campaigns": [], "count": 0, "total": 0}
        assert (await client.get("/v1/clo/cards", headers=d)).json() == {"cards": []}
        assert (await client.get("/readyz")).status_code == 200
