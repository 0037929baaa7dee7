"""sent messages

The messages the bot sent that are about projects (a reminder names the projects not reported today), by the
id Telegram gave them (``sent_messages``): a liaison's answer to one (Telegram's reply), 「850万 桩基完成」 without
a project code, is read as a report of the reminder's project. Downgrading drops them: such an answer is again
told to add the code.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sent_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('chat_id', sa.String(length=100), nullable=False),
    sa.Column('message_id', sa.String(length=40), nullable=False),
    sa.Column('about', sa.JSON(), nullable=False),
    sa.Column('sent_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('sent_messages', schema=None) as batch_op:
        batch_op.create_index('ix_sent_messages_message', ['channel', 'chat_id', 'message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sent_messages_sent_at'), ['sent_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sent_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sent_messages_sent_at'))
        batch_op.drop_index('ix_sent_messages_message')
    op.drop_table('sent_messages')
