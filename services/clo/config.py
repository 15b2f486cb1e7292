"""CLO settings (environment, validated at start-up)."""
from __future__ import annotations

from pydantic import Field

from kit.service import ServiceConfig


class CloConfig(ServiceConfig):
    context: str = "clo"
    db_url: str | None = Field(None, alias="CLO_DATABASE_URL")
    enable_clo: bool = Field(False, alias="ENABLE_CLO")
    fidel_api_url: str = Field("http://127.0.0.1:8790/v1", alias="FIDEL_API_URL")
