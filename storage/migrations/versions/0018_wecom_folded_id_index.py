"""wecom folded id index

WeCom userids match whatever their case: an account is looked up by ``lower(external_id)``
(``storage.people.same_id``). An index of the channel and the folded id serves those lookups (SQLite and
PostgreSQL both index expressions). It is not unique: one account per id as spelled stays the rule.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_chat_accounts_channel_folded_id', 'chat_accounts', ['channel', sa.text('lower(external_id)')],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_chat_accounts_channel_folded_id', table_name='chat_accounts')
