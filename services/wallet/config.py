"""Wallet settings (environment, validated at start-up)."""
from __future__ import annotations

from pydantic import Field, model_validator

from kit.service import ServiceConfig


class WalletConfig(ServiceConfig):
    context: str = "wallet"
    mock_switch = ("enable_stripe_payouts", "ENABLE_STRIPE_PAYOUTS", True,
                   "allow_mock_payouts_in_production", "ALLOW_MOCK_PAYOUTS_IN_PRODUCTION")
    db_url: str | None = Field(None, alias="WALLET_DATABASE_URL")
    incentives_addr: str | None = Field(None, alias="INCENTIVES_GRPC_ADDR")

    # withdrawals (§3)
    withdrawal_min_cents: int = Field(2000, alias="WITHDRAWAL_MIN_CENTS", ge=1)
    withdrawal_fee_threshold_cents: int = Field(2000, alias="WITHDRAWAL_FEE_THRESHOLD_CENTS", ge=0)
    withdrawal_fee_fixed_cents: int = Field(25, alias="WITHDRAWAL_FEE_FIXED_CENTS", ge=0)
    withdrawal_fee_bps: int = Field(25, alias="WITHDRAWAL_FEE_BPS", ge=0, le=10_000)
    withdrawal_max_per_day: int = Field(3, alias="WITHDRAWAL_MAX_PER_DAY", ge=1)
    withdrawal_max_per_week_cents: int = Field(100_000, alias="WITHDRAWAL_MAX_PER_WEEK_CENTS", ge=1)
    withdraw_dedup_window_seconds: int = Field(10, alias="WITHDRAW_DEDUP_WINDOW_SECONDS", ge=0)
    idempotency_ttl_hours: int = Field(168, alias="IDEMPOTENCY_TTL_HOURS", ge=1)

    # credits
    admin_credit_max_cents: int = Field(50_000, alias="ADMIN_CREDIT_MAX_CENTS", ge=1)
    admin_credit_daily_cap_cents: int = Field(200_000, alias="ADMIN_CREDIT_DAILY_CAP_CENTS", ge=1)
    credit_max_cents: int = Field(1_000_000, alias="CREDIT_MAX_CENTS", ge=1)
    # group commit on PostgreSQL (ADRs 0076, 0077): credits that arrive while this many batches are
    # being booked wait and go together in the next one, up to CREDIT_BATCH_MAX per round trip and
    # commit. Two in flight: one batch's client work overlaps the other's database work (P4; one is
    # cheaper in CPU per credit but leaves the cores idle in turn on a quiet host).
    credit_batch_max: int = Field(64, alias="CREDIT_BATCH_MAX", ge=1, le=1000)
    credit_batches_in_flight: int = Field(2, alias="CREDIT_BATCHES_IN_FLIGHT", ge=1)

    # Stripe
    enable_stripe_payouts: bool = Field(False, alias="ENABLE_STRIPE_PAYOUTS")
    allow_mock_payouts_in_production: bool = Field(False, alias="ALLOW_MOCK_PAYOUTS_IN_PRODUCTION")
    stripe_secret_key: str | None = Field(None, alias="STRIPE_SECRET_KEY")
    stripe_api_base: str | None = Field(None, alias="STRIPE_API_BASE")
    stripe_api_version: str = Field("2024-06-20", alias="STRIPE_API_VERSION")
    stripe_allow_test_key_in_production: bool = Field(False, alias="STRIPE_ALLOW_TEST_KEY_IN_PRODUCTION")
    stripe_webhook_secret: str | None = Field(None, alias="STRIPE_WEBHOOK_SECRET")
    stripe_payout_webhook_secret: str | None = Field(None, alias="STRIPE_PAYOUT_WEBHOOK_SECRET")
    stripe_webhook_allow_unsigned: bool = Field(False, alias="STRIPE_WEBHOOK_ALLOW_UNSIGNED")
    stripe_webhook_tolerance_seconds: int = Field(300, alias="STRIPE_WEBHOOK_TOLERANCE_SECONDS", ge=1)
    stripe_timeout_seconds: float = Field(20.0, alias="STRIPE_TIMEOUT_SECONDS", gt=0)
    stripe_max_network_retries: int = Field(2, alias="STRIPE_MAX_NETWORK_RETRIES", ge=0)
    account_link_allowed_hosts: str = Field("nerava.network,app.nerava.network,localhost,127.0.0.1",
                                            alias="ACCOUNT_LINK_ALLOWED_HOSTS")

    # payout timers and jobs
    payout_stuck_seconds: int = Field(300, alias="PAYOUT_STUCK_SECONDS", ge=1)
    payout_unknown_grace_seconds: int = Field(120, alias="PAYOUT_UNKNOWN_GRACE_SECONDS", ge=0)
    payout_unknown_alert_hours: int = Field(24, alias="PAYOUT_UNKNOWN_ALERT_HOURS", ge=1)
    payout_max_pending_hours: int = Field(72, alias="PAYOUT_MAX_PENDING_HOURS", ge=1)
    payout_job_interval_seconds: int = Field(3600, alias="PAYOUT_JOB_INTERVAL_SECONDS", ge=1)
    recon_hour_utc: int = Field(3, alias="RECON_HOUR_UTC", ge=0, le=23)
    recon_lookback_days: int = Field(3, alias="RECON_LOOKBACK_DAYS", ge=1)

    # breaker
    payout_breaker_window_seconds: int = Field(3600, alias="PAYOUT_BREAKER_WINDOW_SECONDS", ge=1)
    payout_breaker_max_count: int = Field(1000, alias="PAYOUT_BREAKER_MAX_COUNT", ge=1)
    payout_breaker_max_amount_cents: int = Field(5_000_000, alias="PAYOUT_BREAKER_MAX_AMOUNT_CENTS", ge=1)
    payout_breaker_failures: int = Field(5, alias="PAYOUT_BREAKER_FAILURES", ge=1)

    @model_validator(mode="after")
    def _stripe_guard(self):
        """§3 production guard: never a silent fallback to mock, never a test key or an API override
        in production unless explicitly allowed."""
        if self.enable_stripe_payouts and not self.stripe_secret_key:
            raise ValueError("ENABLE_STRIPE_PAYOUTS=true needs STRIPE_SECRET_KEY")
        if self.env == "production" and self.enable_stripe_payouts:
            key = self.stripe_secret_key or ""
            if not key.startswith("sk_live_") and not self.stripe_allow_test_key_in_production:
                raise ValueError("production payouts need an sk_live_ STRIPE_SECRET_KEY "
                                 "(or STRIPE_ALLOW_TEST_KEY_IN_PRODUCTION=true)")
            if not (self.stripe_webhook_secret or self.stripe_payout_webhook_secret):
                raise ValueError("production payouts need STRIPE_PAYOUT_WEBHOOK_SECRET / STRIPE_WEBHOOK_SECRET")
            if self.stripe_api_base:
                raise ValueError("STRIPE_API_BASE must not be overridden in production")
        if self.env == "production" and self.stripe_webhook_allow_unsigned:
            raise ValueError("STRIPE_WEBHOOK_ALLOW_UNSIGNED is refused in production")
        return self

    @property
    def live(self) -> bool:
        return self.enable_stripe_payouts

    def allowed_link_hosts(self) -> frozenset[str]:
        return frozenset(h.strip().lower() for h in self.account_link_allowed_hosts.split(",") if h.strip())
