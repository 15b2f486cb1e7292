"""credit lookup that cannot fall back to a sequential scan

0003's ``wallet_credit`` found the key's journal or the reference's credit with one ``WHERE key = …
OR (reference …)`` lookup. PL/pgSQL caches a generic plan per connection; planned while ``journals``
was small or not yet analysed, that plan was a sequential scan (the OR needs a BitmapOr, which costs
more than scanning ten pages), and the connection kept it: every credit then read the whole table.
Measured on one connection: 470 → 820 → 1,130 µs of backend CPU per credit over three batches of
2,000 credits, i.e. linear in the ledger's size (P4, issue 9).

The lookup is now two equality probes, one per unique index, in one statement (one snapshot, as
before) with the key's row first: each branch is an index scan whatever the statistics say. The rest
of the function is unchanged.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 17:30:00

"""
import importlib.util
import pathlib
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OLD_LOOKUP = """    SELECT CASE WHEN j.idempotency_key = p_key THEN 'replay' ELSE 'reference_taken' END, j.result, j.request_hash
      INTO outcome, result, request_hash
      FROM journals j
      WHERE j.idempotency_key = p_key
         OR (j.kind = 'credit' AND j.reference_type = p_reference_type AND j.reference_id = p_reference_id)
      ORDER BY j.idempotency_key = p_key DESC
      LIMIT 1;
"""

NEW_LOOKUP = """    SELECT x.outcome, x.result, x.request_hash
      INTO outcome, result, request_hash
      FROM ((SELECT 1 AS rank, 'replay' AS outcome, j.result, j.request_hash
               FROM journals j WHERE j.idempotency_key = p_key)
            UNION ALL
            (SELECT 2, 'reference_taken', j.result, j.request_hash
               FROM journals j
              WHERE j.kind = 'credit' AND j.reference_type = p_reference_type
                AND j.reference_id = p_reference_id)) x
      ORDER BY x.rank
      LIMIT 1;
"""


def _function_of_0003() -> str:
    """0003's CREATE FUNCTION text (migrations are not a package, so load the file itself)."""
    path = pathlib.Path(__file__).with_name("0003_credit_in_one_round_trip_on_postgresql.py")
    spec = importlib.util.spec_from_file_location("wallet_migration_0003", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = module.CREDIT_FUNCTION.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)
    if OLD_LOOKUP not in text:
        raise RuntimeError("0003's wallet_credit() no longer has the lookup this migration replaces")
    return text


def upgrade() -> None:
    """Upgrade schema."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_function_of_0003().replace(OLD_LOOKUP, NEW_LOOKUP))


def downgrade() -> None:
    """Downgrade schema."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_function_of_0003())
