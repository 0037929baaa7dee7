"""photo keeping

Report photos are downloaded into the photo store (``bot.services.photo_store``): ``photo_blobs`` holds one
row per sha256 (type, size, perceptual hash and its bands, thumbnail made), and each report photo gets its
sha256, its download state (``fetch_after``, attempts, error) and the photo it repeats, if any
(疑似重复照片). Photos of reports sent before this migration are due at once: Telegram still serves them;
WeCom media older than three days are gone, and are recorded as given up with WeCom's answer.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa
import storage.types


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('photo_blobs',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('content_type', sa.String(length=50), nullable=False),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('phash', sa.String(length=16), nullable=True),
    sa.Column('band0', sa.Integer(), nullable=True),
    sa.Column('band1', sa.Integer(), nullable=True),
    sa.Column('band2', sa.Integer(), nullable=True),
    sa.Column('band3', sa.Integer(), nullable=True),
    sa.Column('band4', sa.Integer(), nullable=True),
    sa.Column('has_thumbnail', sa.Boolean(), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sha256')
    )
    with op.batch_alter_table('photo_blobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_photo_blobs_band0'), ['band0'], unique=False)
        batch_op.create_index(batch_op.f('ix_photo_blobs_band1'), ['band1'], unique=False)
        batch_op.create_index(batch_op.f('ix_photo_blobs_band2'), ['band2'], unique=False)
        batch_op.create_index(batch_op.f('ix_photo_blobs_band3'), ['band3'], unique=False)
        batch_op.create_index(batch_op.f('ix_photo_blobs_band4'), ['band4'], unique=False)

    with op.batch_alter_table('report_photos', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('kept_at', storage.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('fetch_after', storage.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('fetch_attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('fetch_error', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('duplicate_of_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('duplicate_distance', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_report_photos_fetch_after'), ['fetch_after'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_photos_sha256'), ['sha256'], unique=False)
        batch_op.create_foreign_key('fk_report_photos_duplicate_of_id', 'report_photos', ['duplicate_of_id'], ['id'],
                                    ondelete='SET NULL')
        batch_op.create_foreign_key('fk_report_photos_sha256', 'photo_blobs', ['sha256'], ['sha256'])
    # Photos already stored are due now (their report's time is in the past).
    op.execute("UPDATE report_photos SET fetch_after = "
               "(SELECT reports.created_at FROM reports WHERE reports.id = report_photos.report_id)")


def downgrade() -> None:
    with op.batch_alter_table('report_photos', schema=None) as batch_op:
        batch_op.drop_constraint('fk_report_photos_sha256', type_='foreignkey')
        batch_op.drop_constraint('fk_report_photos_duplicate_of_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_report_photos_sha256'))
        batch_op.drop_index(batch_op.f('ix_report_photos_fetch_after'))
        batch_op.drop_column('duplicate_distance')
        batch_op.drop_column('duplicate_of_id')
        batch_op.drop_column('fetch_error')
        batch_op.drop_column('fetch_attempts')
        batch_op.drop_column('fetch_after')
        batch_op.drop_column('kept_at')
        batch_op.drop_column('sha256')
    with op.batch_alter_table('photo_blobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_photo_blobs_band4'))
        batch_op.drop_index(batch_op.f('ix_photo_blobs_band3'))
        batch_op.drop_index(batch_op.f('ix_photo_blobs_band2'))
        batch_op.drop_index(batch_op.f('ix_photo_blobs_band1'))
        batch_op.drop_index(batch_op.f('ix_photo_blobs_band0'))

    op.drop_table('photo_blobs')
