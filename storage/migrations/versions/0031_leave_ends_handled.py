"""leave start and end handled

A 包抓领导's leave naming a substitute records when its start was handled (``leaves.start_handled_at``: the
stand-in told what waited at the lead's level, or found to have nothing waiting) and when its end was
(``leaves.end_handled_at``: the lead told he holds his level again, by the tick the day after, or at 销假). The
escalation tick then looks at a leave once at each end, not every tick of the week after. Leaves entered before
have neither and are looked at once more (a notice sent before is not sent again: its key is used; and a stand-in
is told a leave ran out only with its lead, so not late for one whose lead was told before).
Downgrading drops the columns: the tick then looks again every tick for a week, as before.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('leaves', schema=None) as batch_op:
        batch_op.add_column(sa.Column('start_handled_at', storage.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('end_handled_at', storage.types.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('leaves', schema=None) as batch_op:
        batch_op.drop_column('end_handled_at')
        batch_op.drop_column('start_handled_at')
