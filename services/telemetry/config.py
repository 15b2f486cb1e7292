"""Telemetry settings (environment, validated at start-up; telemetry spec §3.1, §3.7, §7)."""
from __future__ import annotations

from pydantic import AliasChoices, Field, model_validator

from kit.service import ServiceConfig


class TelemetryConfig(ServiceConfig):
    context: str = "telemetry"
    mock_switch = ("tesla_mock_mode", "TESLA_MOCK_MODE", False,
                   "allow_mock_tesla_in_production", "ALLOW_MOCK_TESLA_IN_PRODUCTION")
    db_url: str | None = Field(None, alias="TELEMETRY_DATABASE_URL")
    tesla_mock_mode: bool = Field(True, alias="TESLA_MOCK_MODE")
    # The simulator (mock mode); TESLA_API_BASE_URL is the older name the stack also sets.
    tesla_simulator_url: str = Field("http://127.0.0.1:8765",
                                     validation_alias=AliasChoices("TESLA_SIMULATOR_URL", "TESLA_API_BASE_URL"))
    allow_mock_tesla_in_production: bool = Field(False, alias="ALLOW_MOCK_TESLA_IN_PRODUCTION")
    tesla_client_id: str = Field("nerava-local", alias="TESLA_CLIENT_ID")
    tesla_client_secret: str = Field("nerava-local-secret", alias="TESLA_CLIENT_SECRET")
    tesla_auth_url: str = Field("https://auth.tesla.com", alias="TESLA_AUTH_URL")
    tesla_token_url: str = Field("https://fleet-auth.prd.vn.cloud.tesla.com", alias="TESLA_TOKEN_URL")
    tesla_command_proxy_url: str | None = Field(None, alias="TESLA_COMMAND_PROXY_URL")
    api_base_url: str = Field("http://localhost:8080", alias="API_BASE_URL")
    driver_app_url: str = Field("https://app.nerava.network", alias="DRIVER_APP_URL")
    # Fernet keys, comma separated: the first encrypts, all decrypt. Required (no plaintext fallback).
    token_encryption_keys: str = Field("", alias="TOKEN_ENCRYPTION_KEYS")
    vin_hash_key: str = Field("nerava-development-vin-hash-key", alias="VIN_HASH_KEY", min_length=16)
    incentives_grpc_addr: str = Field("localhost:50052", alias="INCENTIVES_GRPC_ADDR")
    chargers_seed_file: str | None = Field(None, alias="CHARGERS_SEED_FILE")
    telemetry_webhook_enabled: bool = Field(False, alias="TELEMETRY_WEBHOOK_ENABLED")
    telemetry_hostname: str = Field("telemetry.nerava.network", alias="TELEMETRY_HOSTNAME")
    telemetry_ca: str = Field("", alias="TELEMETRY_CA")
    # Fleet Telemetry push (docs/services/telemetry-push.md): on when NATS_URL is set
    tesla_telemetry_hmac_secret: str = Field("", alias="TESLA_TELEMETRY_HMAC_SECRET")
    nats_url: str = Field("", alias="NATS_URL")
    nats_stream: str = Field("TESLA_TELEMETRY", alias="NATS_STREAM")
    nats_namespace: str = Field("tesla_telemetry", alias="NATS_NAMESPACE")
    nats_durable: str = Field("nerava-telemetry", alias="NATS_DURABLE")
    nats_dead_letter_subject: str = Field("nerava.telemetry.dead_letter", alias="NATS_DEAD_LETTER_SUBJECT")
    nats_max_deliver: int = Field(6, alias="NATS_MAX_DELIVER", ge=1)
    nats_backoff_s: str = Field("1,5,30,60,300", alias="NATS_BACKOFF_S")
    push_end_hold_s: float = Field(60.0, alias="PUSH_END_HOLD_S", ge=0)
    push_gap_minutes: int = Field(10, alias="PUSH_GAP_MINUTES", ge=1)
    # rules (telemetry §3.1)
    dedup_s: int = Field(30, alias="POLL_DEDUP_S", ge=0)
    # ADR 0085: how long a replica may answer polls from its in-process dedup cache (0 = off), and the
    # minimum interval between two trail points at the same place (0 = append every device point)
    poll_cache_max_s: float = Field(3.0, alias="POLL_CACHE_MAX_S", ge=0, le=30)
    trail_min_interval_s: int = Field(30, alias="POLL_TRAIL_MIN_INTERVAL_S", ge=0)
    stale_minutes: int = Field(15, alias="STALE_SESSION_MINUTES", ge=1)
    pause_grace_minutes: int = Field(15, alias="PAUSE_GRACE_MINUTES", ge=0)
    reopen_window_minutes: int = Field(30, alias="REOPEN_WINDOW_MINUTES", ge=0)
    max_session_hours: int = Field(24, alias="MAX_SESSION_HOURS", ge=1)
    data_budget_per_day: int = Field(200, alias="TESLA_DATA_BUDGET_PER_DAY", ge=1)
    data_budget_reserved: int = Field(40, alias="TESLA_DATA_BUDGET_RESERVED", ge=0)
    wake_budget_per_day: int = Field(5, alias="TESLA_WAKE_BUDGET_PER_DAY", ge=0)
    wake_retry_s: float = Field(5.0, alias="TESLA_WAKE_RETRY_S", ge=0)
    job_interval_s: float = Field(60.0, alias="TELEMETRY_JOB_INTERVAL_S", gt=0)
    # poll scheduling (ADR 0070): the scheduler's own tick, and the read cadence of a charging session
    scheduler_interval_s: float = Field(15.0, alias="TELEMETRY_SCHEDULER_INTERVAL_S", gt=0)
    charging_poll_s: float = Field(50.0, alias="POLL_CHARGING_INTERVAL_S", ge=31)
    # ADR 0072: a charge the data budget cannot read at that cadence to its end is read this sparsely
    # while its end is far, and at the cadence for as long before the end as the budget pays for
    charging_sparse_gap_s: float = Field(300.0, alias="POLL_CHARGING_SPARSE_GAP_S", ge=31, le=600)
    # mock mode: how long the simulator clock may be cached (0 = fetch on every request)
    sim_clock_ttl_s: float = Field(0.0, alias="TESLA_SIM_CLOCK_TTL_S", ge=0)

    @model_validator(mode="after")
    def _token_keys(self):
        from cryptography.fernet import Fernet

        keys = [k.strip() for k in self.token_encryption_keys.split(",") if k.strip()]
        if not keys:
            raise ValueError("TOKEN_ENCRYPTION_KEYS is required (Fernet key; `make run` / `nerava up` "
                             "generate one): Tesla tokens are never stored in plaintext")
        for k in keys:
            try:
                Fernet(k)
            except (ValueError, TypeError):
                raise ValueError("TOKEN_ENCRYPTION_KEYS holds an invalid Fernet key") from None
        if self.telemetry_webhook_enabled and not self.tesla_telemetry_hmac_secret and self.env != "development":
            raise ValueError("TESLA_TELEMETRY_HMAC_SECRET is required with TELEMETRY_WEBHOOK_ENABLED outside "
                             "development (the webhook fails closed)")
        self.backoff()
        if self.env == "production" and self.vin_hash_key == "nerava-development-vin-hash-key":
            raise ValueError("VIN_HASH_KEY must be set when ENV=production")
        return self

    @property
    def push_enabled(self) -> bool:
        return bool(self.nats_url) or self.telemetry_webhook_enabled

    def backoff(self) -> tuple[float, ...]:
        try:
            values = tuple(float(x) for x in self.nats_backoff_s.split(",") if x.strip())
        except ValueError:
            raise ValueError("NATS_BACKOFF_S must be comma-separated seconds") from None
        if not values or any(v <= 0 for v in values):
            raise ValueError("NATS_BACKOFF_S needs at least one positive delay")
        return values

    def fleet_base(self, region: str) -> str:
        if self.tesla_mock_mode:
            return f"{self.tesla_simulator_url.rstrip('/')}/{region}"
        return f"https://fleet-api.prd.{region}.vn.cloud.tesla.com"

    def auth_base(self) -> str:
        return self.tesla_simulator_url.rstrip("/") if self.tesla_mock_mode else self.tesla_auth_url

    def token_base(self) -> str:
        return self.tesla_simulator_url.rstrip("/") if self.tesla_mock_mode else self.tesla_token_url
