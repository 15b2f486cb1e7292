"""Shared helpers for the wallet integration tests (not a test module)."""
from __future__ import annotations

import asyncio
import datetime as dt

import sqlalchemy as sa

from kit import migrations
from kit.clock import ManualClock
from kit.db import Database
from services.wallet.__main__ import build
from services.wallet.adapters.tables import postings, wallets
from services.wallet.app.payouts import internal_findings
from services.wallet.config import WalletConfig

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 11, 18, 12, 0, tzinfo=UTC)


async def make_env(url: str, clock: ManualClock | None = None, **settings):
    await asyncio.to_thread(migrations.upgrade, "wallet", url)
    db = Database(url, pool_size=20)
    config = WalletConfig(**{"ENV": "test", **settings})
    uc, engine, hooks = build(config, db, clock or ManualClock(T0))
    return db, uc, engine, hooks


async def assert_ledger_invariant(db: Database) -> None:
    """Every materialised balance = Σ its postings, each journal and the ledger sum to 0,
    pending = Σ held payouts; nothing negative."""
    async with db.read() as conn:
        assert await internal_findings(conn) == []
        neg = (await conn.execute(sa.select(sa.func.count()).select_from(wallets).where(sa.or_(
            wallets.c.balance_cents < 0, wallets.c.pending_balance_cents < 0, wallets.c.debt_cents < 0)))).scalar_one()
        assert neg == 0


async def available_sum(db: Database, driver: str) -> int:
    async with db.read() as conn:
        return int((await conn.execute(sa.select(sa.func.coalesce(sa.func.sum(postings.c.amount_cents), 0)).where(
            postings.c.wallet_id == driver, postings.c.account == "available"))).scalar_one())


async def give_account(uc, driver: str) -> None:
    """Mock mode: the driver sets up a payout account (W6)."""
    out = await uc.create_stripe_account(driver, None)
    assert out["status"] in ("mock_created", "existing")
