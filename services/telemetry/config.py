"""Telemetry settings (environment, validated at start-up)."""
from __future__ import annotations

from pydantic import Field

from kit.service import ServiceConfig


class TelemetryConfig(ServiceConfig):
    context: str = "telemetry"
    mock_switch = ("tesla_mock_mode", "TESLA_MOCK_MODE", False,
                   "allow_mock_tesla_in_production", "ALLOW_MOCK_TESLA_IN_PRODUCTION")
    db_url: str | None = Field(None, alias="TELEMETRY_DATABASE_URL")
    tesla_mock_mode: bool = Field(True, alias="TESLA_MOCK_MODE")
    tesla_api_base_url: str = Field("http://127.0.0.1:8765", alias="TESLA_API_BASE_URL")
    allow_mock_tesla_in_production: bool = Field(False, alias="ALLOW_MOCK_TESLA_IN_PRODUCTION")

