"""Incentives settings (environment, validated at start-up)."""
from __future__ import annotations

from pydantic import Field

from kit.service import ServiceConfig


class IncentivesConfig(ServiceConfig):
    context: str = "incentives"
    mock_switch = ("enable_stripe_checkout", "ENABLE_STRIPE_CHECKOUT", True,
                   "allow_mock_checkout_in_production", "ALLOW_MOCK_CHECKOUT_IN_PRODUCTION")
    db_url: str | None = Field(None, alias="INCENTIVES_DATABASE_URL")
    platform_fee_bps: int = Field(2000, alias="PLATFORM_FEE_BPS", ge=0, le=10_000)
    enable_stripe_checkout: bool = Field(False, alias="ENABLE_STRIPE_CHECKOUT")
    allow_mock_checkout_in_production: bool = Field(False, alias="ALLOW_MOCK_CHECKOUT_IN_PRODUCTION")

