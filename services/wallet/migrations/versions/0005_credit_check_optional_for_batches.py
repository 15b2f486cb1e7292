"""wallet_credit(..., p_check): batches skip the key/reference lookup

In a group-commit batch (ADR 0076) almost every credit is new, and a replayed key or a reused
reference is caught anyway: the journal INSERT hits ``uq_journals_key`` or
``uq_journals_credit_reference``, the batch rolls back, and each of its credits is booked alone by the
checked call, which answers replay / reference_taken as before. So the batch calls pass
``p_check => false`` and skip the lookup's two index probes; every other call (a lone credit, the
one-by-one retry) keeps ``p_check`` at its default, true. The function is otherwise 0004's.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 18:40:00

"""
import importlib.util
import pathlib
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OLD_SIGNATURE = "p_event_topic text, p_event_key text, p_event_payload text,\n"
NEW_SIGNATURE = "p_event_topic text, p_event_key text, p_event_payload text, p_check boolean DEFAULT true,\n"
OLD_CHECK_START = "BEGIN\n    -- one statement, so one snapshot"
NEW_CHECK_START = "BEGIN\n  IF p_check THEN\n    -- one statement, so one snapshot"
OLD_CHECK_END = "    IF FOUND THEN\n        RETURN;\n    END IF;\n"
NEW_CHECK_END = "    IF FOUND THEN\n        RETURN;\n    END IF;\n  END IF;\n"
ARGS_0004 = ("text, text, text, bigint, text, text, text, text, text, text, text, text, timestamptz, "
             "text, text, text")


def _load(name: str):
    path = pathlib.Path(__file__).with_name(name)
    spec = importlib.util.spec_from_file_location(f"wallet_migration_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _function_of_0004() -> str:
    m4 = _load("0004_credit_lookup_without_seq_scan.py")
    return m4._function_of_0003().replace(m4.OLD_LOOKUP, m4.NEW_LOOKUP)


def _function_of_0005() -> str:
    text = _function_of_0004().replace("CREATE OR REPLACE FUNCTION", "CREATE FUNCTION", 1)
    for old, new in ((OLD_SIGNATURE, NEW_SIGNATURE), (OLD_CHECK_START, NEW_CHECK_START),
                     (OLD_CHECK_END, NEW_CHECK_END)):
        if text.count(old) != 1:
            raise RuntimeError(f"0004's wallet_credit() no longer has {old!r} once")
        text = text.replace(old, new)
    return text


def upgrade() -> None:
    """Upgrade schema."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION wallet_credit({ARGS_0004})")
        op.execute(_function_of_0005())


def downgrade() -> None:
    """Downgrade schema."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION wallet_credit({ARGS_0004}, boolean)")
        op.execute(_function_of_0004().replace("CREATE OR REPLACE FUNCTION", "CREATE FUNCTION", 1))
