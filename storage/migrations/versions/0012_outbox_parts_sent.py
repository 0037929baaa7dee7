"""outbox parts sent

A notice too long for one message goes out as several (``outbox.parts_sent``: how many of them reached
the chat). A send that fails part-way records it, and the retry sends only the rest, on whichever
process sends it next. Downgrading drops the count: such a retry sends the whole notice again.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parts_sent', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('parts_sent')
