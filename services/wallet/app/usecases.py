"""Wallet use cases: open a unit of work, load, apply rules, save (+ outbox in the same transaction)."""
from __future__ import annotations

import dataclasses

from kit.clock import Clock
from kit.db import Database
from services.wallet.adapters.repository import WalletRepository
from services.wallet.domain.wallet import Wallet, WithdrawalPolicy, can_withdraw


@dataclasses.dataclass(frozen=True)
class BalanceView:
    wallet: Wallet
    policy: WithdrawalPolicy
    can_withdraw: bool


class WalletUseCases:
    def __init__(self, db: Database, clock: Clock, policy: WithdrawalPolicy) -> None:
        self.db, self.clock, self.policy = db, clock, policy
        self.wallets = WalletRepository(db)

    async def get_balance(self, driver_id: str) -> BalanceView:
        """W1: the wallet is created on first use (concurrent first reads create one row)."""
        async with self.db.read() as conn:
            wallet = await self.wallets.get(conn, driver_id)
        if wallet is None:
            async with self.db.transaction() as conn:
                await self.wallets.create_if_absent(conn, driver_id, self.clock.now())
                wallet = await self.wallets.get(conn, driver_id)
        assert wallet is not None
        return BalanceView(wallet, self.policy, can_withdraw(wallet, self.policy))
