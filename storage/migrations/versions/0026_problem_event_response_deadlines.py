"""problem event response deadlines

Every problem event keeps the response deadline (受理时限) the problem ran on after it (``problem_events.
response_due_at``), as it keeps the resolution deadline since 0024, so that a past period's Excel 问题清单 shows
the response deadline a problem had then, whatever moved it since (a 时限重算, an escalation, a move to another
unit). Events written before are left empty: ``bot.domain.problem_history`` reads the deadline back from what
they say (a 时限重算 names the response deadline it moved, an escalation for a late response the one it breached)
and leaves it blank when nothing does.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('problem_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('response_due_at', storage.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('problem_events', schema=None) as batch_op:
        batch_op.drop_column('response_due_at')
