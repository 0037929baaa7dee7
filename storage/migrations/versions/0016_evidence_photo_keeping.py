"""evidence photo keeping

Problem photos and node evidence photos are downloaded into the photo store like report photos (0013):
each gets its sha256 once kept, its download state (``fetch_after``, attempts, error) and when it was kept.
Photos stored before this migration are due at once (from the time their problem was raised or their node
marked done): Telegram still serves them; WeCom media older than three days are gone, and are recorded as
given up with WeCom's answer.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa
import storage.types


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def _download_columns(batch_op) -> None:  # type: ignore[no-untyped-def]
    batch_op.add_column(sa.Column('kept_at', storage.types.UTCDateTime(timezone=True), nullable=True))
    batch_op.add_column(sa.Column('fetch_after', storage.types.UTCDateTime(timezone=True), nullable=True))
    batch_op.add_column(sa.Column('fetch_attempts', sa.Integer(), server_default='0', nullable=False))
    batch_op.add_column(sa.Column('fetch_error', sa.String(length=300), nullable=True))


def upgrade() -> None:
    with op.batch_alter_table('problem_photos', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sha256', sa.String(length=64), nullable=True))
        _download_columns(batch_op)
        batch_op.create_index(batch_op.f('ix_problem_photos_fetch_after'), ['fetch_after'], unique=False)
        batch_op.create_index(batch_op.f('ix_problem_photos_sha256'), ['sha256'], unique=False)
        batch_op.create_foreign_key('fk_problem_photos_sha256', 'photo_blobs', ['sha256'], ['sha256'])
    with op.batch_alter_table('node_photos', schema=None) as batch_op:
        _download_columns(batch_op)
        batch_op.create_index(batch_op.f('ix_node_photos_fetch_after'), ['fetch_after'], unique=False)
        batch_op.create_index(batch_op.f('ix_node_photos_sha256'), ['sha256'], unique=False)
    # Photos already stored are due now (their problem's or node's time is in the past).
    op.execute("UPDATE problem_photos SET fetch_after = "
               "(SELECT problems.created_at FROM problems WHERE problems.id = problem_photos.problem_id)")
    op.execute("UPDATE node_photos SET fetch_after = created_at WHERE sha256 IS NULL")


def downgrade() -> None:
    with op.batch_alter_table('node_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_node_photos_sha256'))
        batch_op.drop_index(batch_op.f('ix_node_photos_fetch_after'))
        batch_op.drop_column('fetch_error')
        batch_op.drop_column('fetch_attempts')
        batch_op.drop_column('fetch_after')
        batch_op.drop_column('kept_at')
    with op.batch_alter_table('problem_photos', schema=None) as batch_op:
        batch_op.drop_constraint('fk_problem_photos_sha256', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_problem_photos_sha256'))
        batch_op.drop_index(batch_op.f('ix_problem_photos_fetch_after'))
        batch_op.drop_column('fetch_error')
        batch_op.drop_column('fetch_attempts')
        batch_op.drop_column('fetch_after')
        batch_op.drop_column('kept_at')
        batch_op.drop_column('sha256')
