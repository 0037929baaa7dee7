"""problem event deadlines

Every problem event keeps the resolution deadline the problem ran on after it (``problem_events.
resolution_due_at``), so that a past period's bulletin counts a problem overdue (or handled in time) by the
deadline it had then, whatever was extended, counted again, sent back or moved to another unit since. Events
written before are left empty: ``bot.domain.problem_history`` reads their deadlines back from what they say
(an escalation names the deadline it breached, a 时限重算 the one it moved, an extension request the one it was
asked against) and the bulletins note the problems for which nothing does.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('problem_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resolution_due_at', storage.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('problem_events', schema=None) as batch_op:
        batch_op.drop_column('resolution_due_at')
