"""Incentives settings (environment, validated at start-up)."""
from __future__ import annotations

from pydantic import Field, model_validator

from kit.service import ServiceConfig
from kit.settings import refuse_mock_in_production


class IncentivesConfig(ServiceConfig):
    context: str = "incentives"
    db_url: str | None = Field(None, alias="INCENTIVES_DATABASE_URL")
    platform_fee_bps: int = Field(2000, alias="PLATFORM_FEE_BPS", ge=0, le=10_000)
    enable_stripe_checkout: bool = Field(False, alias="ENABLE_STRIPE_CHECKOUT")
    allow_mock_checkout_in_production: bool = Field(False, alias="ALLOW_MOCK_CHECKOUT_IN_PRODUCTION")

    @model_validator(mode="after")
    def _no_silent_mock_in_production(self):
        refuse_mock_in_production(self, mock=not self.enable_stripe_checkout, flag="ENABLE_STRIPE_CHECKOUT",
                                  allow=self.allow_mock_checkout_in_production, allow_flag="ALLOW_MOCK_CHECKOUT_IN_PRODUCTION")
        return self
