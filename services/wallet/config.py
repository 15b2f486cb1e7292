"""Wallet settings (environment, validated at start-up)."""
from __future__ import annotations

from pydantic import Field

from kit.service import ServiceConfig


class WalletConfig(ServiceConfig):
    context: str = "wallet"
    mock_switch = ("enable_stripe_payouts", "ENABLE_STRIPE_PAYOUTS", True,
                   "allow_mock_payouts_in_production", "ALLOW_MOCK_PAYOUTS_IN_PRODUCTION")
    db_url: str | None = Field(None, alias="WALLET_DATABASE_URL")
    withdrawal_min_cents: int = Field(2000, alias="WITHDRAWAL_MIN_CENTS", ge=1)
    withdrawal_fee_threshold_cents: int = Field(2000, alias="WITHDRAWAL_FEE_THRESHOLD_CENTS", ge=0)
    enable_stripe_payouts: bool = Field(False, alias="ENABLE_STRIPE_PAYOUTS")
    allow_mock_payouts_in_production: bool = Field(False, alias="ALLOW_MOCK_PAYOUTS_IN_PRODUCTION")

