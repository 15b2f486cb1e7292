"""The wallet's own tables (SQLAlchemy Core). Invariants live in the database."""
from __future__ import annotations

import sqlalchemy as sa

from kit import jobs, outbox
from kit.db import UTCDateTime

metadata = sa.MetaData()

PAYOUT_STATES = ("pending", "processing", "unknown", "transferred", "paid", "reversing", "failed")

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
    # ledger sequence of this wallet's postings (one counter for all its accounts)
    sa.Column("posting_seq", sa.BigInteger, nullable=False, server_default="0"),
    # Stripe Express account state: mode mock/test/live, flags as Stripe last reported them
    sa.Column("stripe_account_mode", sa.String(8)),
    sa.Column("payouts_enabled", sa.Boolean, nullable=False, server_default=sa.text("false")),
    sa.Column("charges_enabled", sa.Boolean, nullable=False, server_default=sa.text("false")),
    sa.Column("details_submitted", sa.Boolean, nullable=False, server_default=sa.text("false")),
    sa.Column("transfers_capability", sa.String(32)),
    sa.Column("disabled_reason", sa.String(200)),
    sa.Column("past_due_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("account_synced_at", UTCDateTime()),
    sa.CheckConstraint("balance_cents >= 0", name="ck_wallets_balance_nonneg"),
    sa.CheckConstraint("pending_balance_cents >= 0", name="ck_wallets_pending_nonneg"),
    sa.CheckConstraint("debt_cents >= 0", name="ck_wallets_debt_nonneg"),
    sa.CheckConstraint("total_withdrawn_cents >= 0", name="ck_wallets_withdrawn_nonneg"),
    sa.CheckConstraint("debt_cents = 0 OR balance_cents = 0", name="ck_wallets_debt_xor_balance"),
    sa.UniqueConstraint("stripe_account_id", name="uq_wallets_stripe_account"),
)

# One journal per business event (unique idempotency key); its postings sum to zero.
journals = sa.Table(
    "journals", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("idempotency_key", sa.String(200), nullable=False),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("driver_id", sa.String(128), nullable=False),
    sa.Column("amount_cents", sa.BigInteger, nullable=False),
    sa.Column("reference_type", sa.String(32)),
    sa.Column("reference_id", sa.String(128)),
    sa.Column("original_key", sa.String(200)),
    sa.Column("description", sa.String(500)),
    sa.Column("campaign_name", sa.String(200)),
    sa.Column("sponsor_name", sa.String(200)),
    sa.Column("created_by", sa.String(128)),
    sa.Column("result", sa.Text),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("idempotency_key", name="uq_journals_key"),
    sa.Index("uq_journals_credit_reference", "reference_type", "reference_id", unique=True,
             postgresql_where=sa.text("kind = 'credit'"), sqlite_where=sa.text("kind = 'credit'")),
    sa.Index("ix_journals_original_key", "original_key"),
)

postings = sa.Table(
    "postings", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("journal_id", sa.String(36), sa.ForeignKey("journals.id"), nullable=False),
    # NULL = a platform account
    sa.Column("wallet_id", sa.String(128)),
    sa.Column("account", sa.String(32), nullable=False),
    sa.Column("amount_cents", sa.BigInteger, nullable=False),
    sa.Column("balance_after_cents", sa.BigInteger),
    sa.Column("transaction_type", sa.String(32)),
    sa.Column("seq", sa.BigInteger),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint("amount_cents <> 0", name="ck_postings_nonzero"),
    sa.UniqueConstraint("wallet_id", "account", "seq", name="uq_postings_wallet_account_seq"),
    sa.Index("ix_postings_journal", "journal_id"),
)

payouts = sa.Table(
    "payouts", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("driver_id", sa.String(128), nullable=False),
    sa.Column("amount_cents", sa.BigInteger, nullable=False),
    sa.Column("fee_cents", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False, server_default="1"),
    sa.Column("mock", sa.Boolean, nullable=False, server_default=sa.text("false")),
    sa.Column("request_id", sa.String(200)),
    sa.Column("destination_account", sa.String(64)),
    sa.Column("stripe_transfer_id", sa.String(64)),
    sa.Column("stripe_payout_id", sa.String(64)),
    sa.Column("stripe_payout_status", sa.String(32)),
    sa.Column("stripe_reversal_id", sa.String(64)),
    sa.Column("amount_reversed_cents", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("no_transfer_confirmed", sa.Boolean, nullable=False, server_default=sa.text("false")),
    sa.Column("failure_code", sa.String(64)),
    sa.Column("failure_reason", sa.String(500)),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("attempt_started_at", UTCDateTime()),
    sa.Column("paid_at", UTCDateTime()),
    sa.Column("failed_at", UTCDateTime()),
    sa.Column("reconciled_at", UTCDateTime()),
    sa.CheckConstraint("amount_cents > 0", name="ck_payouts_amount_pos"),
    sa.CheckConstraint("fee_cents >= 0", name="ck_payouts_fee_nonneg"),
    sa.CheckConstraint("amount_reversed_cents >= 0 AND amount_reversed_cents <= amount_cents",
                       name="ck_payouts_reversed_range"),
    sa.CheckConstraint("state IN ('pending','processing','unknown','transferred','paid','reversing','failed')",
                       name="ck_payouts_state"),
    sa.UniqueConstraint("stripe_transfer_id", name="uq_payouts_transfer"),
    sa.UniqueConstraint("stripe_payout_id", name="uq_payouts_bank_payout"),
    sa.Index("uq_payouts_driver_request", "driver_id", "request_id", unique=True,
             postgresql_where=sa.text("request_id IS NOT NULL"), sqlite_where=sa.text("request_id IS NOT NULL")),
    sa.Index("ix_payouts_driver_created", "driver_id", "created_at"),
    sa.Index("ix_payouts_state_updated", "state", "updated_at"),
)

payout_attempts = sa.Table(
    "payout_attempts", metadata,
    sa.Column("payout_id", sa.String(36), sa.ForeignKey("payouts.id"), primary_key=True),
    sa.Column("attempt", sa.Integer, primary_key=True),
    sa.Column("stripe_idempotency_key", sa.String(200), nullable=False),
    sa.Column("amount_cents", sa.BigInteger, nullable=False),
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("outcome", sa.String(16)),
    sa.Column("error_code", sa.String(64)),
    sa.Column("finished_at", UTCDateTime()),
    sa.UniqueConstraint("stripe_idempotency_key", name="uq_payout_attempts_key"),
    sa.Index("ix_payout_attempts_started", "started_at"),
)

idempotency_records = sa.Table(
    "idempotency_records", metadata,
    sa.Column("scope", sa.String(200), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("result_ref", sa.String(64)),
    sa.Column("response", sa.Text),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

stripe_events = sa.Table(
    "stripe_events", metadata,
    sa.Column("event_id", sa.String(64), primary_key=True),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("account", sa.String(64)),
    sa.Column("livemode", sa.Boolean, nullable=False, server_default=sa.text("false")),
    sa.Column("created", sa.BigInteger),
    sa.Column("outcome", sa.String(64)),
    sa.Column("payout_id", sa.String(36)),
    sa.Column("received_at", UTCDateTime(), nullable=False),
)

payout_breaker = sa.Table(
    "payout_breaker", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("state", sa.String(16), nullable=False, server_default="closed"),
    sa.Column("reason", sa.String(500), nullable=False, server_default=""),
    sa.Column("open_until", UTCDateTime()),
    sa.Column("changed_by", sa.String(128), nullable=False, server_default="system"),
    sa.Column("changed_at", UTCDateTime()),
    sa.CheckConstraint("state IN ('closed','open','half_open')", name="ck_breaker_state"),
)

reconciliation_runs = sa.Table(
    "reconciliation_runs", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("window_start", UTCDateTime(), nullable=False),
    sa.Column("window_end", UTCDateTime(), nullable=False),
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("finished_at", UTCDateTime()),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("transfers_checked", sa.Integer, nullable=False, server_default="0"),
    sa.Column("payouts_checked", sa.Integer, nullable=False, server_default="0"),
    sa.Column("findings_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("internal_checks_ok", sa.Boolean, nullable=False, server_default=sa.text("true")),
)

reconciliation_findings = sa.Table(
    "reconciliation_findings", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("run_id", sa.String(36)),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("payout_id", sa.String(36)),
    sa.Column("driver_id", sa.String(128)),
    sa.Column("stripe_object_id", sa.String(64)),
    sa.Column("local_amount_cents", sa.BigInteger),
    sa.Column("remote_amount_cents", sa.BigInteger),
    sa.Column("details", sa.Text),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("resolved_by", sa.String(128)),
    sa.Column("resolved_at", UTCDateTime()),
    sa.Index("ix_findings_created", "created_at"),
)

admin_audit = sa.Table(
    "admin_audit", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("admin_sub", sa.String(128), nullable=False),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("driver_id", sa.String(128)),
    sa.Column("amount_cents", sa.BigInteger),
    sa.Column("reason", sa.String(500)),
    sa.Column("request_id", sa.String(200)),
    sa.Column("request_hash", sa.String(64)),
    sa.Column("result", sa.Text),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Index("ix_admin_audit_admin_created", "admin_sub", "created_at"),
)

outbox_table, inbox_table = outbox.define_tables(metadata)
job_leases = jobs.define_tables(metadata)
