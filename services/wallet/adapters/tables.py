"""The wallet's own tables (SQLAlchemy Core). Invariants live in the database."""
from __future__ import annotations

import sqlalchemy as sa

from kit import jobs, outbox
from kit.db import UTCDateTime

metadata = sa.MetaData()

wallets = sa.Table(
    "wallets", metadata,
    sa.Column("driver_id", sa.String(128), primary_key=True),
    sa.Column("balance_cents", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("pending_balance_cents", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("total_earned_cents", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("total_withdrawn_cents", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("debt_cents", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("stripe_account_id", sa.String(64)),
    sa.Column("payout_ready", sa.Boolean, nullable=False, server_default=sa.text("false")),
    sa.Column("version", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint("balance_cents >= 0", name="ck_wallets_balance_nonneg"),
    sa.CheckConstraint("pending_balance_cents >= 0", name="ck_wallets_pending_nonneg"),
    sa.CheckConstraint("debt_cents >= 0", name="ck_wallets_debt_nonneg"),
)

outbox_table, inbox_table = outbox.define_tables(metadata)
job_leases = jobs.define_tables(metadata)
