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
    # bumped before each transaction of the card: serialises a card's transactions (clo.md §3.4)
    sa.Column("version", sa.Integer, nullable=False, server_default="0"),
    # created by the `card.linked` webhook and not yet confirmed by the driver through C2
    sa.Column("confirmed", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.CheckConstraint("expiry_month BETWEEN 1 AND 12", name="ck_cards_expiry_month"),
    sa.Index("uq_cards_active_fidel_card", "fidel_card_id", unique=True,
             postgresql_where=sa.text("active"), sqlite_where=sa.text("active")),
)

offers = sa.Table(
    "clo_offers", metadata,
    sa.Column("offer_id", sa.String(36), primary_key=True),
    sa.Column("merchant_id", sa.String(64), nullable=False),
    sa.Column("reward_cents", sa.Integer, nullable=False, server_default="0"),
    sa.Column("reward_bps", sa.Integer),
    sa.Column("max_reward_cents", sa.Integer),
    sa.Column("min_spend_cents", sa.Integer, nullable=False, server_default="0"),
    sa.Column("days_of_week", sa.String(20), nullable=False, server_default=""),
    sa.Column("valid_from", sa.String(19)),   # naive local wall clock, ISO text
    sa.Column("valid_until", sa.String(19)),
    sa.Column("max_rewards_per_card", sa.Integer),
    sa.Column("budget_cents", sa.BigInteger),
    sa.Column("budget_reserved_cents", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("session_policy", sa.String(20), nullable=False, server_default="not_required"),
    sa.Column("session_window_before_minutes", sa.Integer),
    sa.Column("session_window_after_minutes", sa.Integer),
    sa.Column("return_period_days", sa.Integer),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("request_id", sa.String(128)),
    sa.Column("last_request_id", sa.String(200)),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.CheckConstraint("reward_cents >= 0 AND min_spend_cents >= 0 AND budget_reserved_cents >= 0",
                       name="ck_clo_offers_non_negative"),
    sa.CheckConstraint("(reward_bps IS NULL AND reward_cents > 0) OR (reward_bps IS NOT NULL AND reward_cents = 0)",
                       name="ck_clo_offers_one_reward_kind"),
    sa.CheckConstraint("budget_cents IS NULL OR budget_reserved_cents <= budget_cents",
                       name="ck_clo_offers_budget"),
    sa.UniqueConstraint("created_by", "request_id", name="uq_clo_offers_request"),
    sa.Index("ix_clo_offers_merchant_active", "merchant_id", "active"),
)

merchant_mappings = sa.Table(
    "clo_merchant_mappings", metadata,
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("external_id", sa.String(128), primary_key=True),
    sa.Column("merchant_id", sa.String(64), nullable=False),
    sa.Column("time_zone", sa.String(64)),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

transactions = sa.Table(
    "clo_transactions", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("external_id", sa.String(128), nullable=False, unique=True),
    sa.Column("driver_id", sa.String(128), nullable=False),
    sa.Column("card_id", sa.String(36), nullable=False),
    sa.Column("merchant_id", sa.String(64)),
    sa.Column("merchant_name", sa.String(200)),
    sa.Column("offer_id", sa.String(36)),
    sa.Column("auth_amount_cents", sa.BigInteger),
    sa.Column("cleared_amount_cents", sa.BigInteger),
    sa.Column("amount_cents", sa.BigInteger, nullable=False),
    sa.Column("refunded_amount_cents", sa.BigInteger, nullable=False, server_default="0"),
    # §3.8 bookkeeping: the net amount and reward computed at evaluation (and the refunds booked
    # by then), and the net amount the credit was computed on (and the refunds booked by then)
    sa.Column("reward_base_cents", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("base_reward_cents", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("refunded_at_eval_cents", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("credit_base_cents", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("refunded_at_credit_cents", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("transaction_time", UTCDateTime(), nullable=False),
    sa.Column("local_time", sa.String(19)),
    sa.Column("reward_state", sa.String(32), nullable=False),
    sa.Column("reward_cents", sa.BigInteger),
    sa.Column("reserved_cents", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("credited_cents", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("clawed_back_cents", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("eligibility_code", sa.String(40)),
    sa.Column("eligibility_reason", sa.String(200)),
    sa.Column("session_check", sa.String(20), nullable=False, server_default="not_required"),
    sa.Column("charging_session_id", sa.String(128)),
    sa.Column("available_at", UTCDateTime()),
    sa.Column("processed_at", UTCDateTime()),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.CheckConstraint("clawed_back_cents >= 0 AND clawed_back_cents <= credited_cents",
                       name="ck_clo_transactions_clawback"),
    sa.Index("ix_clo_transactions_driver_created", "driver_id", "created_at"),
    sa.Index("ix_clo_transactions_state_time", "reward_state", "transaction_time"),
    sa.Index("ix_clo_transactions_state_available", "reward_state", "available_at"),
    sa.Index("ix_clo_transactions_offer_card_state", "offer_id", "card_id", "reward_state"),
)

refunds = sa.Table(
    "clo_refunds", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("external_id", sa.String(128), nullable=False, unique=True),
    sa.Column("transaction_id", sa.String(36), nullable=False, index=True),
    sa.Column("amount_cents", sa.BigInteger, nullable=False),
    sa.Column("matched_by", sa.String(32), nullable=False),
    sa.Column("clawback_cents", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

webhook_inbox = sa.Table(
    "clo_webhook_inbox", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("external_id", sa.String(128), nullable=False),
    sa.Column("raw_body", sa.LargeBinary, nullable=False),
    sa.Column("outcome", sa.Text),
    sa.Column("delivery_count", sa.Integer, nullable=False, server_default="1"),
    sa.Column("received_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("event_type", "external_id", name="uq_clo_webhook_inbox_event"),
    sa.Index("ix_clo_webhook_inbox_received", "received_at"),
)

audit = sa.Table(
    "clo_audit", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

outbox_table, inbox_table = outbox.define_tables(metadata)
job_leases = jobs.define_tables(metadata)
