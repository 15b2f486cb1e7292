"""Wallet rules as plain Python (no gRPC, no SQL)."""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Wallet:
    driver_id: str
    balance_cents: int = 0
    pending_balance_cents: int = 0
    total_earned_cents: int = 0
    total_withdrawn_cents: int = 0
    debt_cents: int = 0
    payout_ready: bool = False


@dataclasses.dataclass(frozen=True)
class WithdrawalPolicy:
    min_cents: int = 2000
    fee_threshold_cents: int = 2000


def can_withdraw(wallet: Wallet, policy: WithdrawalPolicy) -> bool:
    """A driver can withdraw when the payout account is ready and the balance covers the minimum.
    (Daily/weekly limits join this rule with withdrawals.)"""
    return wallet.payout_ready and wallet.balance_cents >= policy.min_cents
