"""bulletin group muted

A bulletin group where an admin took the bot's right to send messages (Telegram's "restricted") is marked
like one the bot was taken out of (``bulletin_groups.left_at``), with ``bulletin_groups.muted`` telling the two
apart: no bulletin is sent there, and ``/groups`` and ``diaodu groups list`` show it as 已禁言, until the bot may
send again. Downgrading drops the column: such a group then shows as taken out (已移出), and still gets nothing.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('bulletin_groups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('muted', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('bulletin_groups', schema=None) as batch_op:
        batch_op.drop_column('muted')
