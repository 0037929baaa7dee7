"""album waits

The albums whose parts came without their caption, kept in the database (``album_waits``): the notice that
their photos were not saved is put off after a restart until a caption still queued behind the backlog has had
its turn, and goes out at most once.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('album_waits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('chat_id', sa.String(length=100), nullable=False),
    sa.Column('user_id', sa.String(length=100), nullable=False),
    sa.Column('album', sa.String(length=100), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('parts', sa.Integer(), nullable=False),
    sa.Column('busy', sa.Boolean(), nullable=False),
    sa.Column('seen_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('notice_due', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('channel', 'chat_id', 'user_id', 'album')
    )
    with op.batch_alter_table('album_waits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_album_waits_state'), ['state'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('album_waits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_album_waits_state'))
    op.drop_table('album_waits')
