"""photo reason codes

Why a photo's download failed is stored as a code (``fetch_reason``: too_big, gone_wecom, gone_telegram,
refused, no_channel, unreachable, store, failed; ``bot.services.photo_reasons``) that the pages word, instead
of the channel's own words (``fetch_error``), which the pages had to read. The reasons stored before are read
here once into their codes, by the words they hold; what matches none was a failure tried until given up.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

TABLES = ('report_photos', 'problem_photos', 'node_photos')
# (what the old reason held, lower case) → its code; the first that matches wins. The words are those the
# channels' sources and the keeper wrote before this revision.
RULES = (
    (('larger than', 'too big', '照片超过'), 'too_big'),
    (('errcode 40007', 'invalid media'), 'gone_wecom'),
    (('file_id', 'file id', 'file reference', 'file is temporarily unavailable'), 'gone_telegram'),
    (('未配置',), 'no_channel'),
    (('http 4', 'forbidden', 'unauthorized'), 'refused'),
)


def _code_of_old_reason() -> str:
    """A SQL CASE giving the code of the old reason (``fetch_error``), NULL where there was none."""
    whens = []
    for words, code in RULES:
        tests = " OR ".join(f"lower(fetch_error) LIKE '%{word}%'" for word in words)
        whens.append(f"WHEN {tests} THEN '{code}'")
    return f"CASE WHEN fetch_error IS NULL OR trim(fetch_error) = '' THEN NULL {' '.join(whens)} ELSE 'failed' END"


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('fetch_reason', sa.String(length=20), nullable=True))
        op.execute(f"UPDATE {table} SET fetch_reason = {_code_of_old_reason()}")
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('fetch_error')


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('fetch_error', sa.String(length=300), nullable=True))
        op.execute(f"UPDATE {table} SET fetch_error = fetch_reason")
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('fetch_reason')
