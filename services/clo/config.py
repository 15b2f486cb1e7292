"""CLO settings (environment, validated at start-up)."""
from __future__ import annotations

from pydantic import Field

from kit.service import ServiceConfig


class CloConfig(ServiceConfig):
    context: str = "clo"
    mock_switch = ("enable_clo", "ENABLE_CLO", True,
                   "allow_mock_clo_in_production", "ALLOW_MOCK_CLO_IN_PRODUCTION")
    db_url: str | None = Field(None, alias="CLO_DATABASE_URL")
    enable_clo: bool = Field(False, alias="ENABLE_CLO")
    fidel_api_url: str = Field("http://127.0.0.1:8790/v1", alias="FIDEL_API_URL")
    allow_mock_clo_in_production: bool = Field(False, alias="ALLOW_MOCK_CLO_IN_PRODUCTION")

