"""CLO settings (environment, validated at start-up; clo.md §3.11)."""
from __future__ import annotations

import json
from urllib.parse import urlparse

from pydantic import Field, model_validator

from kit.service import ServiceConfig

SIMULATOR_SECRET_KEY = "sk_test_simulator"
REAL_FIDEL_HOSTS = ("fidel.uk", "fidelapi.com")


class CloConfig(ServiceConfig):
    context: str = "clo"
    mock_switch = ("enable_clo", "ENABLE_CLO", True,
                   "allow_mock_clo_in_production", "ALLOW_MOCK_CLO_IN_PRODUCTION")
    db_url: str | None = Field(None, alias="CLO_DATABASE_URL")
    enable_clo: bool = Field(False, alias="ENABLE_CLO")
    allow_mock_clo_in_production: bool = Field(False, alias="ALLOW_MOCK_CLO_IN_PRODUCTION")
    fidel_api_url: str | None = Field(None, alias="FIDEL_API_URL")
    fidel_secret_key: str | None = Field(None, alias="FIDEL_SECRET_KEY")
    fidel_program_id: str | None = Field(None, alias="FIDEL_PROGRAM_ID")
    fidel_sdk_key: str | None = Field(None, alias="FIDEL_SDK_KEY")
    fidel_webhook_secret: str | None = Field(None, alias="FIDEL_WEBHOOK_SECRET")
    fidel_webhook_secrets: str | None = Field(None, alias="FIDEL_WEBHOOK_SECRETS")
    fidel_webhook_base_url: str | None = Field(None, alias="FIDEL_WEBHOOK_BASE_URL")
    fidel_webhook_urls: str | None = Field(None, alias="FIDEL_WEBHOOK_URLS")
    fidel_webhook_tolerance_s: int = Field(300, alias="FIDEL_WEBHOOK_TOLERANCE_S", ge=1)
    wallet_grpc_addr: str = Field("localhost:50053", alias="WALLET_GRPC_ADDR")
    telemetry_grpc_addr: str = Field("localhost:50051", alias="TELEMETRY_GRPC_ADDR")

    min_eligible_spend_cents: int = Field(500, alias="CLO_MIN_ELIGIBLE_SPEND_CENTS", ge=0)
    max_reward_cents: int = Field(10_000, alias="CLO_MAX_REWARD_CENTS", ge=1)
    max_transaction_cents: int = Field(1_000_000, alias="CLO_MAX_TRANSACTION_CENTS", ge=1)
    session_window_before_min: int = Field(30, alias="CLO_SESSION_WINDOW_BEFORE_MIN", ge=0, le=1440)
    session_window_after_min: int = Field(180, alias="CLO_SESSION_WINDOW_AFTER_MIN", ge=0, le=1440)
    session_open_assumed_minutes: int = Field(180, alias="CLO_SESSION_OPEN_ASSUMED_MINUTES", ge=0)
    telemetry_deadline_ms: int = Field(2000, alias="CLO_TELEMETRY_DEADLINE_MS", ge=1)
    auth_expiry_days: int = Field(10, alias="CLO_AUTH_EXPIRY_DAYS", ge=1)
    reward_hold_days: int = Field(0, alias="CLO_REWARD_HOLD_DAYS", ge=0, le=60)
    max_cards_per_driver: int = Field(5, alias="CLO_MAX_CARDS_PER_DRIVER", ge=1)
    refund_match_days: int = Field(120, alias="CLO_REFUND_MATCH_DAYS", ge=1)
    default_time_zone: str = Field("UTC", alias="CLO_DEFAULT_TIME_ZONE")
    merchant_offer_approval: bool = Field(True, alias="CLO_MERCHANT_OFFER_APPROVAL")
    webhook_retention_days: int = Field(90, alias="CLO_WEBHOOK_RETENTION_DAYS", ge=1)
    job_interval_s: float = Field(60.0, alias="CLO_JOB_INTERVAL_S", gt=0)

    @property
    def mock(self) -> bool:
        return not self.enable_clo

    def api_url(self) -> str:
        if self.fidel_api_url:
            return self.fidel_api_url.rstrip("/")
        return "http://127.0.0.1:8790/v1" if self.mock else "https://api.fidel.uk/v1"

    def api_key(self) -> str:
        return self.fidel_secret_key or SIMULATOR_SECRET_KEY

    def program_id(self) -> str:
        return self.fidel_program_id or "prog_sim"

    def webhook_base_url(self) -> str:
        if self.fidel_webhook_base_url:
            return self.fidel_webhook_base_url.rstrip("/")
        return "https://localhost:8080" if self.env == "production" else "http://localhost:8080"

    def secrets_for(self, key: str) -> list[str]:
        """Secrets of one hook (`event type` or `legacy`), for rotation; fallback: the single secret."""
        if self.fidel_webhook_secrets:
            table = json.loads(self.fidel_webhook_secrets)
            value = table.get(key)
            if value:
                return [s.strip() for s in str(value).split(",") if s.strip()]
        return [self.fidel_webhook_secret] if self.fidel_webhook_secret else []

    def registered_url(self, key: str) -> str:
        """The URL Fidel signs: configuration only, never rebuilt from the request."""
        if self.fidel_webhook_urls:
            url = json.loads(self.fidel_webhook_urls).get(key)
            if url:
                return str(url)
        if key == "legacy":
            return self.webhook_base_url() + "/v1/clo/fidel/webhook"
        return self.webhook_base_url() + f"/v1/clo/fidel/webhooks/{key}"

    @model_validator(mode="after")
    def _fail_fast(self):
        from zoneinfo import ZoneInfo

        for name, raw in (("FIDEL_WEBHOOK_SECRETS", self.fidel_webhook_secrets),
                          ("FIDEL_WEBHOOK_URLS", self.fidel_webhook_urls)):
            if raw:
                try:
                    if not isinstance(json.loads(raw), dict):
                        raise ValueError
                except ValueError:
                    raise ValueError(f"{name} must be a JSON object") from None
        try:
            ZoneInfo(self.default_time_zone)
        except Exception:  # noqa: BLE001
            raise ValueError("CLO_DEFAULT_TIME_ZONE must be an IANA time zone") from None
        if not self.mock:
            missing = [n for n, v in (("FIDEL_SECRET_KEY", self.fidel_secret_key),
                                      ("FIDEL_PROGRAM_ID", self.fidel_program_id),
                                      ("FIDEL_SDK_KEY", self.fidel_sdk_key)) if not v]
            if missing:
                raise ValueError(f"ENABLE_CLO=true (live) requires {', '.join(missing)}")
        else:
            host = (urlparse(self.api_url()).hostname or "").lower()
            if any(host == h or host.endswith("." + h) for h in REAL_FIDEL_HOSTS):
                raise ValueError("mock mode (ENABLE_CLO=false) refuses a real Fidel FIDEL_API_URL")
        if self.env == "production" and not (self.fidel_webhook_secret or self.fidel_webhook_secrets):
            raise ValueError("production requires FIDEL_WEBHOOK_SECRET or FIDEL_WEBHOOK_SECRETS")
        return self
