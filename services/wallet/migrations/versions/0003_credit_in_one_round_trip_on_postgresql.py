"""credit in one round trip on postgresql

A PL/pgSQL function that books one service credit — idempotency check, reference check, debt
repayment, journal, postings, balance update and the WalletCredited outbox row — in one statement,
so the Credit use case costs one round trip on PostgreSQL (ADR 0075). SQLite keeps the portable
path; this migration does nothing there.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 15:26:33.052363

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# Outcomes: 'credited' (booked now), 'replay' (the key's journal exists: its stored result and request
# hash come back; the caller compares the hash), 'reference_taken' (another key already credited this
# reference). A concurrent twin makes the journal INSERT fail with unique_violation; the whole
# statement rolls back and the caller retries, which then finds the twin's journal.
#
# The balance moves by SQL arithmetic on the row the UPDATE locks, so the debt to repay is the debt of
# the current row version. The old values are derived from the new ones: with the CHECK
# ``debt_cents = 0 OR balance_cents = 0``, a wallet with debt has balance 0, so the balance after a
# credit of A is below A exactly when debt was repaid, and the repaid amount is A - balance after.
CREDIT_FUNCTION = """
CREATE FUNCTION wallet_credit(
    p_key text, p_hash text, p_driver text, p_amount bigint, p_source text,
    p_reference_type text, p_reference_id text, p_description text, p_campaign text,
    p_sponsor text, p_created_by text, p_journal_id text, p_now timestamptz,
    p_event_topic text, p_event_key text, p_event_payload text,
    OUT outcome text, OUT result text, OUT request_hash text,
    OUT balance_after_cents bigint, OUT debt_repaid_cents bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
    v_debt bigint;
    v_seq bigint;
BEGIN
    -- one statement, so one snapshot: a twin that commits between two separate checks could
    -- otherwise show its reference but not its key
    SELECT CASE WHEN j.idempotency_key = p_key THEN 'replay' ELSE 'reference_taken' END, j.result, j.request_hash
      INTO outcome, result, request_hash
      FROM journals j
      WHERE j.idempotency_key = p_key
         OR (j.kind = 'credit' AND j.reference_type = p_reference_type AND j.reference_id = p_reference_id)
      ORDER BY j.idempotency_key = p_key DESC
      LIMIT 1;
    IF FOUND THEN
        RETURN;
    END IF;

    FOR attempt IN 1..2 LOOP
        UPDATE wallets w SET
            balance_cents = w.balance_cents + p_amount - LEAST(p_amount, w.debt_cents),
            debt_cents = w.debt_cents - LEAST(p_amount, w.debt_cents),
            posting_seq = w.posting_seq + CASE WHEN w.debt_cents > 0 THEN 3 ELSE 1 END,
            total_earned_cents = w.total_earned_cents + p_amount,
            updated_at = p_now
          WHERE w.driver_id = p_driver
          RETURNING w.balance_cents, w.debt_cents, w.posting_seq INTO balance_after_cents, v_debt, v_seq;
        EXIT WHEN FOUND;
        INSERT INTO wallets (driver_id, created_at, updated_at) VALUES (p_driver, p_now, p_now)
          ON CONFLICT (driver_id) DO NOTHING;
    END LOOP;
    IF v_seq IS NULL THEN
        RAISE EXCEPTION 'wallet % could not be created', p_driver;
    END IF;
    debt_repaid_cents := CASE WHEN balance_after_cents >= p_amount THEN 0
                              ELSE p_amount - balance_after_cents END;

    result := json_build_object('journal_id', p_journal_id, 'balance_after_cents', balance_after_cents,
                                'debt_repaid_cents', debt_repaid_cents)::text;
    INSERT INTO journals (id, idempotency_key, request_hash, kind, driver_id, amount_cents, reference_type,
                          reference_id, description, campaign_name, sponsor_name, created_by, result, created_at)
      VALUES (p_journal_id, p_key, p_hash, 'credit', p_driver, p_amount, p_reference_type, p_reference_id,
              p_description, p_campaign, p_sponsor, p_created_by, result, p_now);
    IF debt_repaid_cents = 0 THEN
        INSERT INTO postings (journal_id, wallet_id, account, amount_cents, balance_after_cents,
                              transaction_type, seq, created_at)
          VALUES (p_journal_id, NULL, p_source, -p_amount, NULL, NULL, NULL, p_now),
                 (p_journal_id, p_driver, 'available', p_amount, balance_after_cents, 'credit', v_seq, p_now);
    ELSE
        -- the wallet had debt, hence a zero balance: +A, then -repaid to the debt account
        INSERT INTO postings (journal_id, wallet_id, account, amount_cents, balance_after_cents,
                              transaction_type, seq, created_at)
          VALUES (p_journal_id, NULL, p_source, -p_amount, NULL, NULL, NULL, p_now),
                 (p_journal_id, p_driver, 'available', p_amount, p_amount, 'credit', v_seq - 2, p_now),
                 (p_journal_id, p_driver, 'available', -debt_repaid_cents, balance_after_cents,
                  'debt_repayment', v_seq - 1, p_now),
                 (p_journal_id, p_driver, 'debt', debt_repaid_cents, v_debt, NULL, v_seq, p_now);
    END IF;
    INSERT INTO outbox (topic, key, payload, created_at, available_at, attempts)
      VALUES (p_event_topic, p_event_key, p_event_payload, p_now, p_now, 0)
      ON CONFLICT (key) DO NOTHING;
    outcome := 'credited';
    request_hash := p_hash;
END
$fn$
"""


def upgrade() -> None:
    """Upgrade schema."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CREDIT_FUNCTION)


def downgrade() -> None:
    """Downgrade schema."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION wallet_credit(text, text, text, bigint, text, text, text, text, text, text, "
                   "text, text, timestamptz, text, text, text)")
