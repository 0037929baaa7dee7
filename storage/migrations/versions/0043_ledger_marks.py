"""ledger change marks

``ledger_marks``: a counter per group of the ledger's tables (the ledger, the nodes, the reports), bumped by
database triggers whenever a transaction writes one of them (storage.ledger_marks, storage.ledger_mark_triggers).
The ledger import's 确认 checks them inside its write transaction instead of reading the whole ledger again
there. The table starts empty (a missing mark counts as 0). Downgrading drops the triggers and the table.

Revision ID: 0043
Revises: 0042
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from storage.ledger_mark_triggers import create_triggers, drop_triggers

revision = '0043'
down_revision = '0042'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ledger_marks',
                    sa.Column('name', sa.String(length=20), nullable=False),
                    sa.Column('mark', sa.BigInteger(), nullable=False),
                    sa.PrimaryKeyConstraint('name'))
    for statement in create_triggers(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_triggers(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_table('ledger_marks')
