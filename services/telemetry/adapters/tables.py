"""Telemetry's own tables (SQLAlchemy Core)."""
from __future__ import annotations

import sqlalchemy as sa

from kit import jobs, outbox
from kit.db import UTCDateTime

metadata = sa.MetaData()

tesla_connections = sa.Table(
    "tesla_connections", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("driver_id", sa.String(128), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # active | reauth_required | disconnected
    sa.Column("region", sa.String(8), nullable=False, server_default="na"),
    sa.Column("access_token_enc", sa.Text),
    sa.Column("refresh_token_enc", sa.Text),
    sa.Column("token_version", sa.Integer, nullable=False, server_default="0"),
    sa.Column("access_expires_at", UTCDateTime()),
    sa.Column("refresh_lease_until", UTCDateTime()),
    sa.Column("refresh_lease_owner", sa.String(64)),
    sa.Column("tesla_sub", sa.String(128)),
    sa.Column("email", sa.String(320)),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint("status IN ('active','reauth_required','disconnected')", name="ck_conn_status"),
    sa.Index("uq_tesla_connections_active_driver", "driver_id", unique=True,
             postgresql_where=sa.text("status = 'active'"), sqlite_where=sa.text("status = 'active'")),
)

vehicles = sa.Table(
    "vehicles", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("connection_id", sa.String(36), sa.ForeignKey("tesla_connections.id"), nullable=False),
    sa.Column("tesla_vehicle_id", sa.String(64), nullable=False),
    sa.Column("vin", sa.String(17)),
    sa.Column("display_name", sa.String(200)),
    sa.Column("model", sa.String(100)),
    sa.Column("year", sa.Integer),
    sa.Column("color", sa.String(50)),
    sa.Column("selected", sa.Boolean, nullable=False, server_default=sa.text("false")),
    sa.Column("claim_active", sa.Boolean, nullable=False, server_default=sa.text("false")),
    sa.Column("last_battery_level", sa.Integer),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Index("uq_vehicles_claimed_vin", "vin", unique=True,
             postgresql_where=sa.text("claim_active"), sqlite_where=sa.text("claim_active")),
    sa.Index("uq_vehicles_selected_per_connection", "connection_id", unique=True,
             postgresql_where=sa.text("selected"), sqlite_where=sa.text("selected")),
)

_TS = UTCDateTime

# Merged last observation per VIN, the per-VIN read lease / dedup time, Retry-After and wake times.
vehicle_states = sa.Table(
    "vehicle_states", metadata,
    sa.Column("vin", sa.String(17), primary_key=True),
    sa.Column("observed_at", _TS()),
    sa.Column("charging_state", sa.String(32)),
    sa.Column("battery_level", sa.Integer),
    sa.Column("charge_energy_added", sa.Float),
    sa.Column("charger_power", sa.Float),
    sa.Column("minutes_to_full", sa.Float),
    sa.Column("charger_voltage", sa.Float),
    sa.Column("charger_actual_current", sa.Float),
    sa.Column("conn_charge_cable", sa.String(32)),
    sa.Column("fast_charger_brand", sa.String(32)),
    sa.Column("fast_charger_type", sa.String(32)),
    sa.Column("lat", sa.Float),
    sa.Column("lng", sa.Float),
    sa.Column("last_unplugged_at", _TS()),
    sa.Column("last_read_at", _TS()),
    sa.Column("read_lease_until", _TS()),
    sa.Column("read_lease_owner", sa.String(64)),
    sa.Column("rate_limited_until", _TS()),
    sa.Column("last_wake_at", _TS()),
    sa.Column("telemetry_at", _TS()),
    # Fleet Telemetry push: merged fields, last write wins per field by record time (app/push.py)
    sa.Column("push_fields", sa.Text),
    # a read the scheduler makes without an open session: a scheduled charging start (StartAt)
    sa.Column("next_read_at", _TS()),
    # since when the car has been seen plugged in and not charging without an open session: the
    # bounded follow-up reads (ADR 0072) grow with it and stop after a window
    sa.Column("followup_since", _TS()),
    sa.Index("ix_vehicle_states_next_read_at", "next_read_at"),
)

charging_sessions = sa.Table(
    "charging_sessions", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("driver_id", sa.String(128), nullable=False),
    sa.Column("vin", sa.String(17), nullable=False),
    sa.Column("source", sa.String(20), nullable=False, server_default="tesla_api"),
    sa.Column("source_session_id", sa.String(64), nullable=False),
    sa.Column("session_start", _TS(), nullable=False),
    sa.Column("session_end", _TS()),
    sa.Column("end_detected_at", _TS()),
    sa.Column("last_charging_at", _TS(), nullable=False),
    sa.Column("last_observed_at", _TS(), nullable=False),
    sa.Column("paused_since", _TS()),
    sa.Column("paused_reason", sa.String(20)),
    sa.Column("duration_minutes", sa.Integer),
    sa.Column("charger_id", sa.String(64)),
    sa.Column("charger_network", sa.String(100)),
    sa.Column("connector_type", sa.String(32)),
    sa.Column("zone_id", sa.String(64)),
    sa.Column("power_kw", sa.Float),
    sa.Column("max_power_kw", sa.Float),
    sa.Column("kwh_delivered", sa.Float),
    sa.Column("energy_baseline", sa.Float, nullable=False, server_default="0"),
    sa.Column("last_energy", sa.Float),
    sa.Column("battery_start_pct", sa.Integer),
    sa.Column("battery_end_pct", sa.Integer),
    sa.Column("lat", sa.Float),
    sa.Column("lng", sa.Float),
    sa.Column("end_lat", sa.Float),
    sa.Column("end_lng", sa.Float),
    sa.Column("conn_charge_cable", sa.String(32)),
    sa.Column("fast_charger_brand", sa.String(32)),
    sa.Column("quality_score", sa.Integer),
    sa.Column("verified", sa.Boolean, nullable=False, server_default=sa.text("true")),
    sa.Column("verification_method", sa.String(20), nullable=False, server_default="api_polling"),
    sa.Column("ended_reason", sa.String(32)),
    sa.Column("charging_observations", sa.Integer, nullable=False, server_default="1"),
    sa.Column("location_trail", sa.Text, nullable=False, server_default="[]"),
    sa.Column("fraud_flags", sa.Text, nullable=False, server_default="[]"),
    sa.Column("next_poll_at", _TS()),
    sa.Column("poll_lease_until", _TS()),
    sa.Column("settle_at", _TS()),
    sa.Column("emitted_at", _TS()),
    sa.Column("close_note", sa.Text),
    sa.Column("created_at", _TS(), nullable=False),
    sa.Column("updated_at", _TS(), nullable=False),
    sa.CheckConstraint("session_end IS NULL OR session_end >= session_start", name="ck_session_end_after_start"),
    sa.CheckConstraint("duration_minutes IS NULL OR duration_minutes >= 0", name="ck_session_duration"),
    sa.CheckConstraint("quality_score IS NULL OR (quality_score >= 0 AND quality_score <= 100)",
                       name="ck_session_quality"),
    sa.UniqueConstraint("source", "source_session_id", name="uq_sessions_source_id"),
    sa.Index("uq_sessions_open_vin", "vin", unique=True,
             postgresql_where=sa.text("session_end IS NULL"), sqlite_where=sa.text("session_end IS NULL")),
    sa.Index("ix_sessions_driver_start", "driver_id", "session_start"),
    sa.Index("ix_sessions_charger_start", "charger_id", "session_start"),
    sa.Index("ix_sessions_open_next_poll", "next_poll_at",
             postgresql_where=sa.text("session_end IS NULL"), sqlite_where=sa.text("session_end IS NULL")),
    sa.Index("ix_sessions_unemitted_settle", "settle_at",
             postgresql_where=sa.text("emitted_at IS NULL AND settle_at IS NOT NULL"),
             sqlite_where=sa.text("emitted_at IS NULL AND settle_at IS NOT NULL")),
)

session_incentives = sa.Table(
    "session_incentives", metadata,
    sa.Column("session_id", sa.String(36), primary_key=True),
    sa.Column("grant_id", sa.String(64), nullable=False),
    sa.Column("campaign_id", sa.String(64), nullable=False),
    sa.Column("amount_cents", sa.Integer, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("granted_at", _TS()),
    sa.Column("updated_at", _TS(), nullable=False),
    sa.CheckConstraint("status IN ('granted','clawed_back')", name="ck_incentive_status"),
)

tesla_oauth_states = sa.Table(
    "tesla_oauth_states", metadata,
    sa.Column("state", sa.String(64), primary_key=True),
    sa.Column("purpose", sa.String(10), nullable=False),
    sa.Column("driver_id", sa.String(128)),
    sa.Column("verifier_enc", sa.Text, nullable=False),
    sa.Column("nonce", sa.String(64), nullable=False),
    sa.Column("created_at", _TS(), nullable=False),
    sa.Column("expires_at", _TS(), nullable=False),
    sa.Column("consumed_at", _TS()),
    sa.CheckConstraint("purpose IN ('connect','login')", name="ck_oauth_purpose"),
)

tesla_identities = sa.Table(
    "tesla_identities", metadata,
    sa.Column("tesla_sub", sa.String(128), primary_key=True),
    sa.Column("driver_id", sa.String(128), nullable=False, unique=True),
    sa.Column("email", sa.String(320)),
    sa.Column("display_name", sa.String(200)),
    sa.Column("created_at", _TS(), nullable=False),
)

ev_codes = sa.Table(
    "ev_codes", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("code", sa.String(8), nullable=False),
    sa.Column("driver_id", sa.String(128), nullable=False),
    sa.Column("merchant_place_id", sa.String(200)),
    sa.Column("merchant_name", sa.String(200)),
    sa.Column("charger_id", sa.String(64)),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("charge_rate_kw", sa.Integer),
    sa.Column("battery_level", sa.Integer),
    sa.Column("lat", sa.Float),
    sa.Column("lng", sa.Float),
    sa.Column("created_at", _TS(), nullable=False),
    sa.Column("expires_at", _TS(), nullable=False),
    sa.Index("uq_ev_codes_active_code", "code", unique=True,
             postgresql_where=sa.text("status = 'active'"), sqlite_where=sa.text("status = 'active'")),
    sa.Index("uq_ev_codes_active_driver_merchant", "driver_id", sa.text("coalesce(merchant_place_id, '')"),
             unique=True, postgresql_where=sa.text("status = 'active'"), sqlite_where=sa.text("status = 'active'")),
)

chargers = sa.Table(
    "chargers", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("network_name", sa.String(100)),
    sa.Column("lat", sa.Float),
    sa.Column("lng", sa.Float),
    sa.Column("address", sa.String(300)),
    sa.Column("city", sa.String(100)),
    sa.Column("state", sa.String(20)),
    sa.Column("zone_id", sa.String(64)),
    sa.Column("connector_types", sa.Text, nullable=False, server_default="[]"),
    sa.Column("power_kw", sa.Float),
    sa.Column("num_evse", sa.Integer),
    sa.Column("pricing_per_kwh", sa.Float),
    sa.Column("is_public", sa.Boolean, nullable=False, server_default=sa.text("true")),
    sa.Index("ix_chargers_lat_lng", "lat", "lng"),
)

merchant_locations = sa.Table(
    "merchant_locations", metadata,
    sa.Column("place_id", sa.String(200), primary_key=True),
    sa.Column("name", sa.String(200)),
    sa.Column("lat", sa.Float, nullable=False),
    sa.Column("lng", sa.Float, nullable=False),
)

tesla_api_usage = sa.Table(
    "tesla_api_usage", metadata,
    sa.Column("vin", sa.String(17), primary_key=True),
    sa.Column("day", sa.String(10), primary_key=True),
    sa.Column("category", sa.String(10), primary_key=True),
    sa.Column("count", sa.Integer, nullable=False, server_default="0"),
    sa.CheckConstraint("count >= 0", name="ck_usage_nonnegative"),
)

# Fleet Telemetry push: record identities seen (de-dup, deleted after 48 h) and dead letters.
telemetry_seen = sa.Table(
    "telemetry_seen", metadata,
    sa.Column("key", sa.String(64), primary_key=True),  # SHA-256(vin, created_at, canonical data)
    sa.Column("vin", sa.String(17), nullable=False),
    sa.Column("created_at", _TS(), nullable=False),
    sa.Column("seen_at", _TS(), nullable=False),
    sa.Index("ix_telemetry_seen_seen_at", "seen_at"),
)

telemetry_dead_letters = sa.Table(
    "telemetry_dead_letters", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("reason", sa.String(32), nullable=False),  # undecodable | unknown_vin | vin_mismatch | processing_error
    sa.Column("source", sa.String(16), nullable=False),  # nats | webhook
    sa.Column("subject", sa.String(200)),
    sa.Column("vin_tail", sa.String(8)),
    sa.Column("payload_b64", sa.Text, nullable=False),
    sa.Column("created_at", _TS(), nullable=False),
    sa.Index("ix_telemetry_dead_letters_created", "created_at"),
)

outbox_table, inbox_table = outbox.define_tables(metadata)
job_leases = jobs.define_tables(metadata)
