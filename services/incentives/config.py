"""Incentives settings (environment, validated at start-up)."""
from __future__ import annotations

import json

from pydantic import Field, field_validator, model_validator

from kit.service import ServiceConfig
from kit.settings import upstream_addr


class IncentivesConfig(ServiceConfig):
    context: str = "incentives"
    mock_switch = ("enable_stripe_checkout", "ENABLE_STRIPE_CHECKOUT", True,
                   "allow_mock_checkout_in_production", "ALLOW_MOCK_CHECKOUT_IN_PRODUCTION")
    db_url: str | None = Field(None, alias="INCENTIVES_DATABASE_URL")
    platform_fee_bps: int = Field(2000, alias="PLATFORM_FEE_BPS", ge=0, le=10_000)
    enable_stripe_checkout: bool = Field(False, alias="ENABLE_STRIPE_CHECKOUT")
    allow_mock_checkout_in_production: bool = Field(False, alias="ALLOW_MOCK_CHECKOUT_IN_PRODUCTION")
    stripe_secret_key: str | None = Field(None, alias="STRIPE_SECRET_KEY")
    stripe_api_base: str = Field("https://api.stripe.com", alias="STRIPE_API_BASE")
    stripe_max_network_retries: int = Field(2, alias="STRIPE_MAX_NETWORK_RETRIES", ge=0, le=5)
    console_url: str = Field("http://localhost:3000", alias="CONSOLE_URL")
    wallet_grpc_addr: str | None = Field(None, alias="WALLET_GRPC_ADDR")
    telemetry_grpc_addr: str | None = Field(None, alias="TELEMETRY_GRPC_ADDR")
    default_driver_time_zone: str = Field("America/Chicago", alias="DEFAULT_DRIVER_TIMEZONE")
    # JSON object {"alias": "canonical network name"}; empty = the built-in table
    network_aliases: str = Field("", alias="NETWORK_ALIASES")
    fraud_blocking_flags: str = Field("location_jump,energy_implausible,vin_shared_attempt,reconstructed",
                                      alias="FRAUD_BLOCKING_FLAGS")
    sweeper_interval_s: float = Field(60.0, alias="CAMPAIGN_SWEEPER_INTERVAL_S", gt=0)

    @field_validator("network_aliases")
    @classmethod
    def _aliases_json(cls, v: str) -> str:
        if v.strip():
            data = json.loads(v)
            if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(x, str) for k, x in data.items()):
                raise ValueError("NETWORK_ALIASES must be a JSON object of strings")
        return v

    @field_validator("default_driver_time_zone")
    @classmethod
    def _zone(cls, v: str) -> str:
        import zoneinfo
        zoneinfo.ZoneInfo(v)
        return v

    @model_validator(mode="after")
    def _live_checkout_needs_a_key(self):
        if self.enable_stripe_checkout and self.env == "production" and not self.stripe_secret_key:
            raise ValueError("ENABLE_STRIPE_CHECKOUT=true needs STRIPE_SECRET_KEY in production")
        return self

    def wallet_addr(self) -> str:
        return upstream_addr(self.wallet_grpc_addr, "wallet")

    def telemetry_addr(self) -> str:
        return upstream_addr(self.telemetry_grpc_addr, "telemetry")

    def blocking_flags(self) -> frozenset[str]:
        return frozenset(f.strip() for f in self.fraud_blocking_flags.split(",") if f.strip())
