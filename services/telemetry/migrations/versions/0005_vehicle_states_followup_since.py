"""vehicle_states.followup_since: bounded follow-up reads of a plugged-in, stopped car (ADR 0072)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 17:50:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import kit.db


# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('vehicle_states', schema=None) as batch_op:
        batch_op.add_column(sa.Column('followup_since', kit.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('vehicle_states', schema=None) as batch_op:
        batch_op.drop_column('followup_since')
