"""Wallet settings (environment, validated at start-up)."""
from __future__ import annotations

from pydantic import Field

from kit.service import ServiceConfig


class WalletConfig(ServiceConfig):
    context: str = "wallet"
    db_url: str | None = Field(None, alias="WALLET_DATABASE_URL")
    withdrawal_min_cents: int = Field(2000, alias="WITHDRAWAL_MIN_CENTS", ge=1)
    withdrawal_fee_threshold_cents: int = Field(2000, alias="WITHDRAWAL_FEE_THRESHOLD_CENTS", ge=0)
    enable_stripe_payouts: bool = Field(False, alias="ENABLE_STRIPE_PAYOUTS")
