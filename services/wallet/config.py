"""Wallet settings (environment, validated at start-up)."""
from __future__ import annotations

from pydantic import Field, model_validator

from kit.service import ServiceConfig
from kit.settings import refuse_mock_in_production


class WalletConfig(ServiceConfig):
    context: str = "wallet"
    db_url: str | None = Field(None, alias="WALLET_DATABASE_URL")
    withdrawal_min_cents: int = Field(2000, alias="WITHDRAWAL_MIN_CENTS", ge=1)
    withdrawal_fee_threshold_cents: int = Field(2000, alias="WITHDRAWAL_FEE_THRESHOLD_CENTS", ge=0)
    enable_stripe_payouts: bool = Field(False, alias="ENABLE_STRIPE_PAYOUTS")
    allow_mock_payouts_in_production: bool = Field(False, alias="ALLOW_MOCK_PAYOUTS_IN_PRODUCTION")

    @model_validator(mode="after")
    def _no_silent_mock_in_production(self):
        refuse_mock_in_production(self, mock=not self.enable_stripe_payouts, flag="ENABLE_STRIPE_PAYOUTS",
                                  allow=self.allow_mock_payouts_in_production, allow_flag="ALLOW_MOCK_PAYOUTS_IN_PRODUCTION")
        return self
