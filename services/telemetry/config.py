"""Telemetry settings (environment, validated at start-up)."""
from __future__ import annotations

from pydantic import Field, model_validator

from kit.service import ServiceConfig
from kit.settings import refuse_mock_in_production


class TelemetryConfig(ServiceConfig):
    context: str = "telemetry"
    db_url: str | None = Field(None, alias="TELEMETRY_DATABASE_URL")
    tesla_mock_mode: bool = Field(True, alias="TESLA_MOCK_MODE")
    tesla_api_base_url: str = Field("http://127.0.0.1:8765", alias="TESLA_API_BASE_URL")
    allow_mock_tesla_in_production: bool = Field(False, alias="ALLOW_MOCK_TESLA_IN_PRODUCTION")

    @model_validator(mode="after")
    def _no_silent_mock_in_production(self):
        refuse_mock_in_production(self, mock=self.tesla_mock_mode, flag="TESLA_MOCK_MODE",
                                  allow=self.allow_mock_tesla_in_production, allow_flag="ALLOW_MOCK_TESLA_IN_PRODUCTION")
        return self
