"""bulletin group where the bot may not send files

A bulletin group where the bot may send text but not photos or files (Telegram's ``can_send_photos`` or
``can_send_documents`` taken from it) is marked with when that was found (``bulletin_groups.files_refused_at``):
its bulletins still go there, each chart and workbook replaced by a line saying where to get it, and ``/groups``
and ``diaodu groups list`` show it as 不能发文件 until a file gets through again. Downgrading drops the column: the
group then shows as receiving, and its files are still replaced by that line while the right is missing.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0034'
down_revision = '0033'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('bulletin_groups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('files_refused_at', storage.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('bulletin_groups', schema=None) as batch_op:
        batch_op.drop_column('files_refused_at')
