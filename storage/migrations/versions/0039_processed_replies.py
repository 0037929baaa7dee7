"""the replies of a handled message, kept with its key

``processed_messages.replies``: the replies a message that changed something was answered with, written in the
transaction of its changes (with the process that handled it), so that the same message delivered again after
that process died between the commit and the send (Telegram re-delivering it, WeCom's inbox after a restart) is
answered with them, once: the delivery that takes them sets the column back to NULL. Downgrading drops the column:
such a message is again neither stored nor answered a second time.

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = '0039'
down_revision = '0038'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('processed_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('replies', sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('processed_messages', schema=None) as batch_op:
        batch_op.drop_column('replies')
