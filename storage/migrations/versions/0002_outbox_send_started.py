"""outbox send started

The sender records when a claimed row's send begins (``outbox.send_started_at``), so that a send cut short
by a crash is held as ``in_doubt`` instead of going out again. Downgrading turns ``in_doubt`` rows into
``failed`` ones (the older program lists those for the admins, with a retry button).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from alembic import op
import sqlalchemy as sa
import storage.types


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('send_started_at', storage.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.execute("UPDATE outbox SET state = 'failed' WHERE state = 'in_doubt'")
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('send_started_at')
