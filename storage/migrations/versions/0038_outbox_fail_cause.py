"""outbox failures keep their cause

A notice given up on keeps why, classified when it failed (``outbox.fail_cause``: tries, config, content or
refused, ``bot.domain.give_up_reasons``), from the channel's answer (a WeCom errcode, an HTTP status, Telegram's
refusal) rather than read later from the words of the recorded error. Rows failed before keep none: their cause is
read from their recorded error, as it was. Downgrading drops the column.

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = '0038'
down_revision = '0037'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fail_cause', sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('fail_cause')
