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
    sa.CheckConstraint("spent_cents >= 0 AND spent_cents <= budget_cents", name="ck_campaigns_spent"),
    sa.CheckConstraint("cost_per_session_cents > 0", name="ck_campaigns_cost_positive"),
    sa.CheckConstraint("status IN ('draft','active','paused','exhausted','completed','canceled')",
                       name="ck_campaigns_status"),
    sa.CheckConstraint("funding_status IN ('unfunded','pending','funded')", name="ck_campaigns_funding"),
)

outbox_table, inbox_table = outbox.define_tables(metadata)
job_leases = jobs.define_tables(metadata)
