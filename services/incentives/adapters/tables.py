"""Incentives' own tables (SQLAlchemy Core)."""
from __future__ import annotations

import sqlalchemy as sa

from kit import jobs, outbox
from kit.db import UTCDateTime

metadata = sa.MetaData()

campaigns = sa.Table(
    "campaigns", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("owner_id", sa.String(128), nullable=False, index=True),
    sa.Column("sponsor_name", sa.String(200), nullable=False),
    sa.Column("sponsor_email", sa.String(320)),
    sa.Column("sponsor_logo_url", sa.String(2000)),
    sa.Column("sponsor_type", sa.String(50)),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("campaign_type", sa.String(50), nullable=False, server_default="custom"),
    sa.Column("status", sa.String(20), nullable=False, server_default="draft"),
    sa.Column("priority", sa.Integer, nullable=False, server_default="100"),
    sa.Column("budget_cents", sa.BigInteger, nullable=False),
    sa.Column("spent_cents", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("cost_per_session_cents", sa.Integer, nullable=False),
    sa.Column("sessions_granted", sa.Integer, nullable=False, server_default="0"),
    sa.Column("max_sessions", sa.Integer),
    sa.Column("start_date", sa.String(32), nullable=False),   # campaign-local wall clock
    sa.Column("end_date", sa.String(32)),
    sa.Column("time_zone", sa.String(64), nullable=False, server_default="America/Chicago"),
    sa.Column("auto_renew", sa.Boolean, nullable=False, server_default=sa.text("false")),
    sa.Column("auto_renew_budget_cents", sa.Integer),
    sa.Column("rules", sa.JSON, nullable=False),
    sa.Column("caps", sa.JSON, nullable=False),
    sa.Column("funding_status", sa.String(20), nullable=False, server_default="unfunded"),
    sa.Column("funded_at", UTCDateTime()),
    sa.Column("gross_funding_cents", sa.Integer),
    sa.Column("platform_fee_cents", sa.Integer),
    sa.Column("version", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    # 0002: the UTC window, partner controls, checkout and lifecycle fields (spec §2)
    sa.Column("starts_at", UTCDateTime()),
    sa.Column("ends_at", UTCDateTime()),
    sa.Column("end_date_only", sa.Boolean, nullable=False, server_default=sa.text("false")),
    sa.Column("allow_partner_sessions", sa.Boolean, nullable=False, server_default=sa.text("false")),
    sa.Column("partner_ids", sa.JSON),
    sa.Column("max_partner_trust_tier", sa.Integer),
    sa.Column("checkout_attempt", sa.Integer, nullable=False, server_default="0"),
    sa.Column("stripe_checkout_session_id", sa.String(255)),
    sa.Column("platform_fee_bps", sa.Integer),
    sa.Column("paused_at", UTCDateTime()),
    sa.Column("pause_reason", sa.String(500)),
    sa.Column("canceled_at", UTCDateTime()),
    sa.Column("cancel_reason", sa.String(500)),
    sa.Column("completed_at", UTCDateTime()),
    sa.Column("completion_reason", sa.String(100)),
    sa.Column("index_dimension", sa.String(20), nullable=False, server_default="any"),
    sa.Column("create_request_id", sa.String(200)),
    sa.CheckConstraint("spent_cents >= 0 AND spent_cents <= budget_cents", name="ck_campaigns_spent"),
    sa.CheckConstraint("priority >= 0", name="ck_campaigns_priority"),
    sa.CheckConstraint("max_sessions IS NULL OR sessions_granted <= max_sessions", name="ck_campaigns_max_sessions"),
    sa.CheckConstraint("ends_at IS NULL OR starts_at IS NULL OR ends_at > starts_at", name="ck_campaigns_window"),
    sa.Index("ix_campaigns_pick", "status", "priority", "created_at", "id"),
    sa.Index("ix_campaigns_owner_created", "owner_id", "created_at"),
    sa.Index("ix_campaigns_status_ends", "status", "ends_at"),
    sa.Index("uq_campaigns_create_request", "owner_id", "create_request_id", unique=True),
    sa.Index("uq_campaigns_checkout_session", "stripe_checkout_session_id", unique=True),
    sa.CheckConstraint("cost_per_session_cents > 0", name="ck_campaigns_cost_positive"),
    sa.CheckConstraint("status IN ('draft','active','paused','exhausted','completed','canceled')",
                       name="ck_campaigns_status"),
    sa.CheckConstraint("funding_status IN ('unfunded','pending','funded')", name="ck_campaigns_funding"),
)

# The candidate index (spec §3.10): each campaign's primary dimension and its keys.
campaign_targets = sa.Table(
    "campaign_targets", metadata,
    sa.Column("campaign_id", sa.String(36), primary_key=True),
    sa.Column("dim", sa.String(20), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    # the engine order, copied from the campaign so one (dim, key) is read in order with a LIMIT
    sa.Column("priority", sa.Integer, nullable=False, server_default="100"),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Index("ix_campaign_targets_dim_key", "dim", "key"),
    sa.Index("ix_campaign_targets_lookup", "dim", "key", "priority", "created_at", "campaign_id"),
)

campaign_status_history = sa.Table(
    "campaign_status_history", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("campaign_id", sa.String(36), nullable=False, index=True),
    sa.Column("from_status", sa.String(20)),
    sa.Column("to_status", sa.String(20), nullable=False),
    sa.Column("actor", sa.String(128)),
    sa.Column("reason", sa.String(500)),
    sa.Column("at", UTCDateTime(), nullable=False),
)

campaign_fundings = sa.Table(
    "campaign_fundings", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("stripe_event_id", sa.String(255), nullable=False, unique=True),
    sa.Column("event_type", sa.String(100), nullable=False),
    sa.Column("checkout_session_id", sa.String(255)),
    sa.Column("campaign_id", sa.String(36)),
    sa.Column("state", sa.String(30), nullable=False),
    sa.Column("gross_cents", sa.Integer),
    sa.Column("fee_cents", sa.Integer),
    sa.Column("fee_bps", sa.Integer),
    sa.Column("net_cents", sa.Integer),
    sa.Column("result", sa.JSON),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Index("uq_campaign_fundings_applied_session", "checkout_session_id", unique=True,
             sqlite_where=sa.text("state = 'applied'"), postgresql_where=sa.text("state = 'applied'")),
)

incentive_grants = sa.Table(
    "incentive_grants", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("campaign_id", sa.String(36), nullable=False),
    sa.Column("driver_id", sa.String(128), nullable=False),
    sa.Column("session_id", sa.String(64), nullable=False, unique=True),
    sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
    sa.Column("amount_cents", sa.Integer, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False, server_default="usd"),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("reward_destination", sa.String(20), nullable=False, server_default="nerava_wallet"),
    sa.Column("charger_id", sa.String(128)),
    sa.Column("duration_minutes", sa.Integer),
    sa.Column("session_start", UTCDateTime(), nullable=False),
    sa.Column("local_day", sa.String(10), nullable=False),
    sa.Column("local_week", sa.String(8), nullable=False),
    sa.Column("partner_id", sa.String(128)),
    sa.Column("granted_at", UTCDateTime(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("clawed_back_at", UTCDateTime()),
    sa.Column("clawback_reason", sa.String(500)),
    sa.Column("clawback_actor", sa.String(128)),
    sa.Column("nova_reversed", sa.Integer),
    sa.Column("nova_shortfall", sa.Integer),
    sa.CheckConstraint("amount_cents > 0", name="ck_grants_amount_positive"),
    sa.CheckConstraint("status IN ('granted','clawed_back')", name="ck_grants_status"),
    sa.Index("ix_grants_campaign_created", "campaign_id", "created_at", "id"),
    sa.Index("ix_grants_cap_day", "campaign_id", "driver_id", "status", "local_day"),
    sa.Index("ix_grants_cap_week", "campaign_id", "driver_id", "status", "local_week"),
    sa.Index("ix_grants_cap_charger", "campaign_id", "driver_id", "status", "charger_id"),
    sa.Index("ix_grants_driver_created", "driver_id", "created_at"),
)

ended_sessions = sa.Table(
    "ended_sessions", metadata,
    sa.Column("session_id", sa.String(64), primary_key=True),
    sa.Column("driver_id", sa.String(128), nullable=False),
    sa.Column("session_start", UTCDateTime(), nullable=False),
    sa.Column("duration_minutes", sa.Integer),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("reason", sa.String(50)),
    sa.Column("grant_id", sa.String(36)),
    sa.Column("candidates_examined", sa.Integer, nullable=False, server_default="0"),
    sa.Column("event", sa.JSON, nullable=False),
    sa.Column("evaluated_at", UTCDateTime(), nullable=False),
    sa.Index("ix_ended_sessions_driver_start", "driver_id", "session_start"),
)

nova_accounts = sa.Table(
    "nova_accounts", metadata,
    sa.Column("account", sa.String(200), primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("balance", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint("kind = 'system' OR balance >= 0", name="ck_nova_accounts_balance"),
)

nova_transactions = sa.Table(
    "nova_transactions", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("type", sa.String(40), nullable=False),
    sa.Column("amount", sa.Integer, nullable=False),
    sa.Column("idempotency_key", sa.String(255), unique=True),
    sa.Column("payload_hash", sa.String(16)),
    sa.Column("driver_id", sa.String(128)),
    sa.Column("merchant_id", sa.String(128)),
    sa.Column("session_id", sa.String(64)),
    sa.Column("reference", sa.String(500)),
    sa.Column("reverses_transaction_id", sa.String(36)),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint("amount > 0", name="ck_nova_transactions_amount"),
)

nova_entries = sa.Table(
    "nova_entries", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("transaction_id", sa.String(36), nullable=False, index=True),
    sa.Column("account", sa.String(200), nullable=False, index=True),
    sa.Column("delta", sa.BigInteger, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint("delta <> 0", name="ck_nova_entries_delta"),
)

nova_merchants = sa.Table(
    "nova_merchants", metadata,
    sa.Column("merchant_id", sa.String(128), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

drivers = sa.Table(
    "drivers", metadata,
    sa.Column("driver_id", sa.String(128), primary_key=True),
    sa.Column("points", sa.Integer, nullable=False, server_default="0"),
    sa.Column("email", sa.String(320)),
    sa.Column("time_zone", sa.String(64)),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint("points >= 0", name="ck_drivers_points"),
)

reputation_events = sa.Table(
    "reputation_events", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("driver_id", sa.String(128), nullable=False),
    sa.Column("source_type", sa.String(40), nullable=False),
    sa.Column("source_id", sa.String(255), nullable=False),
    sa.Column("points", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("source_type", "source_id", name="uq_reputation_events_source"),
)

outbox_table, inbox_table = outbox.define_tables(metadata)
job_leases = jobs.define_tables(metadata)
