"""Reliability suite harness: ONE stack of real processes (four services, gateway, three simulators)
on PostgreSQL, shared by every module of this package (starting it costs ~10 s on a 2-core box).

Tests isolate themselves by unique driver / sponsor / card ids, never by resetting the databases.
Modules that need a different wallet mode or kill processes restore the stack before they end
(``RelStack.restart`` with per-process env overrides)."""
from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Callable
from typing import Any

import grpc
import httpx
import pytest
import sqlalchemy as sa

from cli.stack import Ports, Stack, migrate_all
from kit.db import Database
from tests.conftest import create_database, drop_database, pg_url, require_postgres
from tests.e2e.conftest import SECRET, token

SERVICES = ("telemetry", "incentives", "wallet", "clo")
PAYOUT_SECRET, PLATFORM_SECRET = "whsec_rel_payout", "whsec_rel_platform"
FIDEL_SECRET = "fidel-rel-webhook-secret"
STRIPE_KEY = "sk_test_reliability"
LIVE_WALLET = {"ENABLE_STRIPE_PAYOUTS": "true"}


def pytest_collection_modifyitems(config, items):
    """Everything in this package carries the ``reliability`` marker (``pytest -m reliability``)."""
    for item in items:
        if "tests/reliability/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.reliability)


class RelStack(Stack):
    """``cli.stack.Stack`` plus per-process env overrides, so one process can be restarted in
    another mode (wallet live/mock) or with other settings while the rest keeps running."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.overrides: dict[str, dict[str, str]] = {}

    def env_for(self, name: str) -> dict[str, str]:
        env = super().env_for(name)
        env.update(self.overrides.get(name, {}))
        return env

    def restart(self, name: str, overrides: dict[str, str] | None = None, *, kill: bool = False) -> None:
        if kill:
            self.kill_one(name)
        else:
            self.stop_one(name)
        if overrides is not None:
            self.overrides[name] = overrides
        self.start_one(name)
        self.wait_healthy([name], 60)
        # "back" means the gateway serves it again: its channel reconnects with a backoff of ≤ 2 s
        # (kit.clients.CHANNEL_OPTIONS); until then the edge answers 503 (a retryable answer)
        def served() -> bool:
            return httpx.get(self.gw() + "/readyz", timeout=5).json()["upstreams"].get(name) == "SERVING"
        assert wait_for(served, 20), httpx.get(self.gw() + "/readyz", timeout=5).text

    def gw(self) -> str:
        return f"http://127.0.0.1:{self.ports.gateway}"

    def sim(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports.simulators[name]}"

    def grpc_addr(self, service: str) -> str:
        return f"127.0.0.1:{self.ports.services[service]}"


@pytest.fixture(scope="session")
async def rstack(tmp_path_factory):
    await require_postgres()
    names = {s: await create_database(f"nerava_rel_{s}") for s in SERVICES}
    tmp = tmp_path_factory.mktemp("reliability")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")}
    env.update({f"{s.upper()}_DATABASE_URL": pg_url(n) for s, n in names.items()})
    env.update({
        "NERAVA_JWT_SECRET": SECRET, "ENV": "test", "LOG_LEVEL": "INFO",
        "GATEWAY_UPSTREAM_TIMEOUT_S": "30",  # CI hosts run at load 10+; the edge must not time out first
        "GATEWAY_RATE_LIMIT_ENABLED": "false", "TESLA_WAKE_RETRY_S": "0.1",
        "STRIPE_SECRET_KEY": STRIPE_KEY, "STRIPE_PAYOUT_WEBHOOK_SECRET": PAYOUT_SECRET,
        "STRIPE_WEBHOOK_SECRET": PLATFORM_SECRET, "STRIPE_TIMEOUT_SECONDS": "2",
        "STRIPE_MAX_NETWORK_RETRIES": "0", "FIDEL_WEBHOOK_SECRET": FIDEL_SECRET,
        # the wallet's hourly jobs are driven by RunPayoutJob in the tests, never by the timer
        "PAYOUT_JOB_INTERVAL_SECONDS": "86400",
    })
    await asyncio.to_thread(migrate_all, env, tmp, open(os.devnull, "w"))
    stack = RelStack(ports=Ports.free(), data_dir=tmp, env=env, log_dir=tmp / "logs")
    stack.db_urls = {s: env[f"{s.upper()}_DATABASE_URL"] for s in SERVICES}
    try:
        await asyncio.to_thread(stack.start, 90)
    except Exception:
        await asyncio.to_thread(stack.stop)
        for log in sorted((tmp / "logs").glob("*.log")):
            print(f"--- {log.name}\n{log.read_text()[-3000:]}")
        raise
    register_stripe_webhooks(stack)
    try:
        yield stack
    finally:
        await asyncio.to_thread(stack.stop)
        for n in names.values():
            await drop_database(n)


def register_stripe_webhooks(stack: RelStack) -> None:
    gw = stack.gw()
    httpx.post(stack.sim("stripe") + "/_sim/webhooks", json={"endpoints": [
        {"url": gw + "/v1/wallet/stripe/webhook", "secrets": [PAYOUT_SECRET], "connect": True},
        {"url": gw + "/v1/stripe/webhooks", "secrets": [PLATFORM_SECRET], "connect": False}]},
        timeout=5).raise_for_status()


@pytest.fixture(scope="session")
async def dbs(rstack):
    out = {s: Database(url, pool_size=5) for s, url in rstack.db_urls.items()}
    yield out
    for db in out.values():
        await db.dispose()


# ------------------------------------------------------------------------------------------- helpers

def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def bearer(sub: str, *roles: str, **kw: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(sub, *roles, **kw)}"}


def service_md(name: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token(f'service:{name}', 'service')}"),)


def wait_for(predicate: Callable[[], Any], timeout_s: float = 20.0, interval_s: float = 0.1) -> Any:
    """Poll ``predicate`` until it returns something truthy or the deadline passes (then one last try)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval_s)
    return predicate()


async def await_for(predicate: Callable[[], Any], timeout_s: float = 20.0, interval_s: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        await asyncio.sleep(interval_s)
    value = predicate()
    return await value if asyncio.iscoroutine(value) else value


def grpc_channel(stack: RelStack, service: str) -> grpc.Channel:
    return grpc.insecure_channel(stack.grpc_addr(service))


# ---------------------------------------------------------------------------------------- invariants

async def wallet_invariants(db: Database) -> None:
    """Ledger invariants over the whole wallet database: every materialised balance = Σ its postings,
    each journal and the ledger sum to 0, pending = Σ held payouts, nothing negative."""
    from services.wallet.adapters.tables import wallets
    from services.wallet.app.payouts import internal_findings

    async with db.read() as conn:
        assert await internal_findings(conn) == []
        neg = (await conn.execute(sa.select(sa.func.count()).select_from(wallets).where(sa.or_(
            wallets.c.balance_cents < 0, wallets.c.pending_balance_cents < 0,
            wallets.c.debt_cents < 0)))).scalar_one()
        assert neg == 0


async def incentives_invariants(db: Database) -> None:
    """Per campaign: spent = Σ active grants = grants × cost; spent ≤ budget; one grant per session."""
    async with db.read() as conn:
        rows = (await conn.execute(sa.text(
            "SELECT c.id, c.budget_cents, c.spent_cents, c.cost_per_session_cents, c.sessions_granted, "
            " (SELECT count(*) FROM incentive_grants g WHERE g.campaign_id = c.id AND g.status <> 'clawed_back'),"
            " (SELECT coalesce(sum(g.amount_cents), 0) FROM incentive_grants g"
            "   WHERE g.campaign_id = c.id AND g.status <> 'clawed_back')"
            " FROM campaigns c"))).all()
        for cid, budget, spent, cost, granted, n_grants, amount in rows:
            assert spent == amount == n_grants * cost, (cid, spent, amount, n_grants, cost)
            assert granted == n_grants and spent <= budget, (cid, granted, n_grants, spent, budget)
        dup = (await conn.execute(sa.text(
            "SELECT session_id FROM incentive_grants GROUP BY session_id HAVING count(*) > 1"))).all()
        assert dup == []


async def wallet_balance_row(db: Database, driver: str) -> tuple[int, int, int, int] | None:
    async with db.read() as conn:
        row = (await conn.execute(sa.text(
            "SELECT balance_cents, pending_balance_cents, debt_cents, total_withdrawn_cents FROM wallets "
            "WHERE driver_id = :d"), {"d": driver})).first()
    return tuple(row) if row else None
