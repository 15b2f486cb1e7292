"""CLO settings (environment, validated at start-up)."""
from __future__ import annotations

from pydantic import Field, model_validator

from kit.service import ServiceConfig
from kit.settings import refuse_mock_in_production


class CloConfig(ServiceConfig):
    context: str = "clo"
    db_url: str | None = Field(None, alias="CLO_DATABASE_URL")
    enable_clo: bool = Field(False, alias="ENABLE_CLO")
    fidel_api_url: str = Field("http://127.0.0.1:8790/v1", alias="FIDEL_API_URL")
    allow_mock_clo_in_production: bool = Field(False, alias="ALLOW_MOCK_CLO_IN_PRODUCTION")

    @model_validator(mode="after")
    def _no_silent_mock_in_production(self):
        refuse_mock_in_production(self, mock=not self.enable_clo, flag="ENABLE_CLO",
                                  allow=self.allow_mock_clo_in_production, allow_flag="ALLOW_MOCK_CLO_IN_PRODUCTION")
        return self
