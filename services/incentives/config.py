"""Incentives settings (environment, validated at start-up)."""
from __future__ import annotations

from pydantic import Field

from kit.service import ServiceConfig


class IncentivesConfig(ServiceConfig):
    context: str = "incentives"
    db_url: str | None = Field(None, alias="INCENTIVES_DATABASE_URL")
    platform_fee_bps: int = Field(2000, alias="PLATFORM_FEE_BPS", ge=0, le=10_000)
    enable_stripe_checkout: bool = Field(False, alias="ENABLE_STRIPE_CHECKOUT")
