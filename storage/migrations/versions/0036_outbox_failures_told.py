"""outbox failures told to the admins

A notice given up on is told to the admins from the outbox row itself, not from a sender's memory: the row keeps
when it was given up (``outbox.failed_at``), since when nothing of its channel had got through then
(``outbox.quiet_since``) and when the admins were told (``outbox.told_at``). A sender claims the failed rows not
told yet by setting ``told_at`` in the transaction that writes the admins' notice, so a crash or a new leader loses
none and two senders never tell one twice. The rows failed before are set told (they were, or the news is stale).
Downgrading drops the columns: the telling is in a sender's memory again.

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0036'
down_revision = '0035'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_at', storage.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('quiet_since', storage.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('told_at', storage.types.UTCDateTime(), nullable=True))
    outbox = sa.table('outbox', sa.column('state', sa.String()), sa.column('told_at', storage.types.UTCDateTime()),
                      sa.column('created_at', storage.types.UTCDateTime()))
    op.execute(outbox.update().where(outbox.c.state == 'failed').values(told_at=outbox.c.created_at))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('told_at')
        batch_op.drop_column('quiet_since')
        batch_op.drop_column('failed_at')
