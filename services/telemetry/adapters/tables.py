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

outbox_table, inbox_table = outbox.define_tables(metadata)
job_leases = jobs.define_tables(metadata)
