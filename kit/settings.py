"""Settings from the environment, validated at start-up with a clear message (pydantic-settings)."""
from __future__ import annotations

import pathlib
import sys
from typing import Literal, TypeVar

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "nerava-development-secret-do-not-use-in-production"

PORTS = {"gateway": 8080, "telemetry": 50051, "incentives": 50052, "wallet": 50053, "clo": 50054}
METRICS_PORTS = {"gateway": 9080, "telemetry": 9051, "incentives": 9052, "wallet": 9053, "clo": 9054}


class BaseConfig(BaseSettings):
    """Settings every process shares. Services subclass it and add their own."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    env: Literal["development", "test", "production"] = Field("development", alias="ENV")
    jwt_secret: str = Field(DEV_JWT_SECRET, alias="NERAVA_JWT_SECRET", min_length=32)
    data_dir: pathlib.Path = Field(pathlib.Path("var"), alias="NERAVA_DATA_DIR")
    log_level: str = Field("INFO", alias="LOG_LEVEL")

    @model_validator(mode="after")
    def _production_needs_a_real_secret(self) -> "BaseConfig":
        if self.env == "production" and self.jwt_secret == DEV_JWT_SECRET:
            raise ValueError("NERAVA_JWT_SECRET must be set to a real secret when ENV=production")
        return self

    @property
    def is_development(self) -> bool:
        return self.env == "development"


def upstream_addr(env_value: str | None, context: str) -> str:
    return env_value or f"localhost:{PORTS[context]}"


T = TypeVar("T", bound=BaseSettings)


def load(cls: type[T], **overrides) -> T:
    """Build settings or exit with a readable list of what is wrong (fail fast at start-up)."""
    try:
        return cls(**overrides)
    except ValidationError as exc:
        lines = [f"invalid configuration for {cls.__name__}:"]
        for err in exc.errors():
            loc = ".".join(str(p) for p in err.get("loc", ())) or "settings"
            field = cls.model_fields.get(loc)
            name = (field.alias if field is not None and field.alias else loc).upper()
            lines.append(f"  - {name}: {err.get('msg')}")
        print("\n".join(lines), file=sys.stderr)
        raise SystemExit(2) from None


def refuse_mock_in_production(config: BaseConfig, *, mock: bool, flag: str, allow: bool, allow_flag: str) -> None:
    """ARCHITECTURE §8: production refuses a mock or fail-open mode it did not explicitly ask for."""
    if config.env == "production" and mock and not allow:
        raise ValueError(f"{flag} selects mock mode, which production refuses unless {allow_flag}=true")
