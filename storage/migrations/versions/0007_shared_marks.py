"""shared marks

Short-lived facts every process shares (``shared_marks``): the WeCom messages seen, the numbered choices
last shown to a WeCom user, the slots of a group robot's rate window. See ``storage.shared``.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa
import storage.types


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('shared_marks',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('value', sa.JSON(), nullable=True),
    sa.Column('expires_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    with op.batch_alter_table('shared_marks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shared_marks_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('shared_marks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shared_marks_expires_at'))
    op.drop_table('shared_marks')
