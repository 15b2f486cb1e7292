"""Wallet persistence (Core statements; one round trip where it can)."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from kit.db import Database
from services.wallet.adapters.tables import wallets
from services.wallet.domain.wallet import Wallet

_COLUMNS = (wallets.c.driver_id, wallets.c.balance_cents, wallets.c.pending_balance_cents,
            wallets.c.total_earned_cents, wallets.c.total_withdrawn_cents, wallets.c.debt_cents,
            wallets.c.payout_ready)
_SELECT = sa.select(*_COLUMNS)


def _to_domain(row) -> Wallet:
    return Wallet(driver_id=row.driver_id, balance_cents=row.balance_cents,
                  pending_balance_cents=row.pending_balance_cents,
                  total_earned_cents=row.total_earned_cents,
                  total_withdrawn_cents=row.total_withdrawn_cents, debt_cents=row.debt_cents,
                  payout_ready=row.payout_ready)


class WalletRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, conn: AsyncConnection, driver_id: str) -> Wallet | None:
        row = (await conn.execute(_SELECT.where(wallets.c.driver_id == driver_id))).first()
        return _to_domain(row) if row is not None else None

    async def create_if_absent(self, conn: AsyncConnection, driver_id: str, now: dt.datetime) -> None:
        """Race-free first use: concurrent creators insert once, nobody fails."""
        await self.db.insert_ignore(conn, wallets, {"driver_id": driver_id, "created_at": now,
                                                    "updated_at": now}, index_elements=["driver_id"])
