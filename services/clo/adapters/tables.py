"""CLO's own tables (SQLAlchemy Core). No PAN or CVV column exists anywhere."""
from __future__ import annotations

import sqlalchemy as sa

from kit import jobs, outbox
from kit.db import UTCDateTime

metadata = sa.MetaData()

cards = sa.Table(
    "cards", metadata,
    sa.Column("card_id", sa.String(36), primary_key=True),
    sa.Column("driver_id", sa.String(128), nullable=False, index=True),
    sa.Column("fidel_card_id", sa.String(64), nullable=False),
    sa.Column("last4", sa.String(4), nullable=False),
    sa.Column("scheme", sa.String(20), nullable=False),
    sa.Column("expiry_month", sa.Integer, nullable=False),
    sa.Column("expiry_year", sa.Integer, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.text("true")),
    sa.Column("linked_at", UTCDateTime(), nullable=False),
    sa.Column("unlinked_at", UTCDateTime()),
    sa.CheckConstraint("expiry_month BETWEEN 1 AND 12", name="ck_cards_expiry_month"),
    sa.Index("uq_cards_active_fidel_card", "fidel_card_id", unique=True,
             postgresql_where=sa.text("active"), sqlite_where=sa.text("active")),
)

outbox_table, inbox_table = outbox.define_tables(metadata)
job_leases = jobs.define_tables(metadata)
