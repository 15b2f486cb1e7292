"""wallet_credit_batch(): a group-commit batch of credits booked set-based

0005's batches call ``wallet_credit()`` once per credit: six statements each (executor start-up, CHECK
constraints rebuilt, trigger queue) for what is, per table, the same INSERT repeated. This function
books the whole batch with two statements (ADR 0077):

1. lock every wallet of the batch in driver order (one lock order for every batch, so two batches
   cannot deadlock), creating the missing ones first;
2. one statement whose CTEs compute each credit's running balance, debt repayment and posting
   sequence with window functions over the locked wallet rows, then write one UPDATE of ``wallets``
   and one INSERT each into ``journals``, ``postings`` and ``outbox``.

The arithmetic is ``wallet_credit()``'s applied in input order: for a wallet with balance B, debt D
(the CHECK ``debt_cents = 0 OR balance_cents = 0`` holds) and credits a1, a2, … with running sums S,
credit i repays min(ai, max(D − S(i−1), 0)), leaves the balance at B + Si − min(Si, D), and takes
three wallet postings if debt was left before it, else one. Like 0005's batches there is no
key/reference lookup: a replayed key or a reused reference fails the journal INSERT on its unique
index, the batch rolls back and each credit is booked alone by the checked ``wallet_credit()``.

Planner settings are fixed on the function: its plans are cached per connection (PL/pgSQL), so they
must not depend on statistics taken while the tables were young (the trap of migration 0004). A
generic plan always (re-planning the statement costs more than executing it), and no sequential
scans or hash/merge joins, so ``wallets`` is reached through its primary key whatever its size.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 20:20:00

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# The batch is a JSON array with one object per credit, keyed by wallet_credit()'s parameter names
# without the p_ (``amount``, ``driver``, ``now``, …; see WalletRepository.CREDIT_FIELDS); the result
# rows come back in the array's order. JSON because asyncpg encodes sixteen text[] parameters at
# ≈ 20 µs of client CPU per credit and a JSON text at ≈ 5 (P4); jsonb is parsed once per call.
# A missing key is NULL, which the NOT NULL columns refuse.
BATCH_FUNCTION = """
CREATE FUNCTION wallet_credit_batch(p_credits jsonb)
RETURNS TABLE (credit_balance_after_cents bigint, credit_debt_repaid_cents bigint)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $fn$
DECLARE
    v_locked bigint;
    v_wanted bigint;
BEGIN
    FOR attempt IN 1..2 LOOP
        SELECT count(*), (SELECT count(DISTINCT e ->> 'driver') FROM jsonb_array_elements(p_credits) AS e)
          INTO v_locked, v_wanted
          FROM (SELECT 1 FROM wallets w
                 WHERE w.driver_id IN (SELECT e ->> 'driver' FROM jsonb_array_elements(p_credits) AS e)
                 ORDER BY w.driver_id FOR UPDATE) AS l;
        EXIT WHEN v_locked = v_wanted;
        INSERT INTO wallets (driver_id, created_at, updated_at)
          SELECT DISTINCT ON (t.driver) t.driver, t.now, t.now FROM jsonb_to_recordset(p_credits) AS t(driver text, now timestamptz)
           ORDER BY t.driver
          ON CONFLICT (driver_id) DO NOTHING;
    END LOOP;
    IF v_locked <> v_wanted THEN
        RAISE EXCEPTION 'wallets of the batch could not be created';
    END IF;

    RETURN QUERY
    WITH c AS (
        SELECT t.*, (sum(t.amount) OVER (PARTITION BY t.driver ORDER BY t.ord))::bigint AS upto
          FROM ROWS FROM (jsonb_to_recordset(p_credits) AS (
                   key text, hash text, driver text, amount bigint, source text, reference_type text,
                   reference_id text, description text, campaign text, sponsor text, created_by text,
                   journal_id text, now timestamptz, event_topic text, event_key text, event_payload text))
               WITH ORDINALITY AS t(key, hash, driver, amount, source, rtype, rid, descr, campaign, sponsor,
                                    created_by, jid, at, topic, ekey, payload, ord)
    ), s AS (
        -- the wallet rows are locked by this transaction, so this statement reads their latest values
        SELECT c.*, w.balance_cents + c.upto - LEAST(c.upto, w.debt_cents) AS bal_after,
               GREATEST(w.debt_cents - (c.upto - c.amount), 0) AS debt_before, w.posting_seq AS seq0
          FROM c JOIN wallets w ON w.driver_id = c.driver
    ), r AS (
        SELECT s.*, LEAST(s.amount, s.debt_before) AS repaid,
               s.debt_before - LEAST(s.amount, s.debt_before) AS debt_after,
               s.seq0 + (sum(CASE WHEN s.debt_before > 0 THEN 3 ELSE 1 END)
                         OVER (PARTITION BY s.driver ORDER BY s.ord))::bigint AS seq_end
          FROM s
    ), wallet_update AS (
        UPDATE wallets w SET balance_cents = a.bal_after, debt_cents = a.debt_after, posting_seq = a.seq_end,
                             total_earned_cents = w.total_earned_cents + a.upto, updated_at = a.at
          FROM (SELECT DISTINCT ON (r.driver) r.driver, r.bal_after, r.debt_after, r.seq_end, r.upto, r.at
                  FROM r ORDER BY r.driver, r.ord DESC) AS a
         WHERE w.driver_id = a.driver
    ), journal_rows AS (
        INSERT INTO journals (id, idempotency_key, request_hash, kind, driver_id, amount_cents, reference_type,
                              reference_id, description, campaign_name, sponsor_name, created_by, result, created_at)
        SELECT r.jid, r.key, r.hash, 'credit', r.driver, r.amount, r.rtype, r.rid, r.descr, r.campaign, r.sponsor,
               r.created_by, json_build_object('journal_id', r.jid, 'balance_after_cents', r.bal_after,
                                               'debt_repaid_cents', r.repaid)::text, r.at
          FROM r ORDER BY r.ord
    ), posting_rows AS (
        -- as wallet_credit(): the source account's -A; then +A to available, or, when the wallet had
        -- debt (hence a zero balance), +A, -repaid to debt_repayment and +repaid to the debt account
        INSERT INTO postings (journal_id, wallet_id, account, amount_cents, balance_after_cents,
                              transaction_type, seq, created_at)
        SELECT r.jid, v.wallet_id, v.account, v.amount_cents, v.balance_after_cents, v.transaction_type, v.seq, r.at
          FROM r CROSS JOIN LATERAL (VALUES
                (0, NULL, r.source, -r.amount, NULL::bigint, NULL, NULL::bigint),
                (1, r.driver, 'available', r.amount, CASE WHEN r.repaid = 0 THEN r.bal_after ELSE r.amount END,
                 'credit', CASE WHEN r.repaid = 0 THEN r.seq_end ELSE r.seq_end - 2 END),
                (2, r.driver, 'available', -r.repaid, r.bal_after, 'debt_repayment', r.seq_end - 1),
                (3, r.driver, 'debt', r.repaid, r.debt_after, NULL, r.seq_end))
               AS v(k, wallet_id, account, amount_cents, balance_after_cents, transaction_type, seq)
         WHERE v.k < 2 OR r.repaid > 0
         ORDER BY r.ord, v.k
    ), event_rows AS (
        INSERT INTO outbox (topic, key, payload, created_at, available_at, attempts)
        SELECT r.topic, r.ekey, r.payload, r.at, r.at, 0 FROM r ORDER BY r.ord
        ON CONFLICT (key) DO NOTHING
    )
    SELECT r.bal_after, r.repaid FROM r ORDER BY r.ord;
END
$fn$
"""



def upgrade() -> None:
    """Upgrade schema."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(BATCH_FUNCTION)


def downgrade() -> None:
    """Downgrade schema."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION wallet_credit_batch(jsonb)")
