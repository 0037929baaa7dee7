"""bulletin group left

A bulletin group the bot was taken out of (a member removed it, or the group banned it) is marked
(``bulletin_groups.left_at``): no bulletin is sent there, and ``/groups`` and ``diaodu groups list`` show it as
taken out, until the bot is added back. Downgrading drops the mark: the bulletins are tried there again.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('bulletin_groups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('left_at', storage.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('bulletin_groups', schema=None) as batch_op:
        batch_op.drop_column('left_at')
