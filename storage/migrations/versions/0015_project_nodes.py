"""project nodes

A project's milestones (节点计划) and the photos sent as evidence that one was done. See
``storage.models.ProjectNode``.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa
import storage.types


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('project_nodes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('planned_on', sa.Date(), nullable=False),
    sa.Column('done_on', sa.Date(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('done_by_id', sa.Integer(), nullable=True),
    sa.Column('done_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('overdue_told_on', sa.Date(), nullable=True),
    sa.Column('problem_id', sa.Integer(), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('removed_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['done_by_id'], ['people.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['problem_id'], ['problems.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('project_id', 'name')
    )
    with op.batch_alter_table('project_nodes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_nodes_project_id'), ['project_id'], unique=False)
        batch_op.create_index('ix_project_nodes_planned_on', ['planned_on'], unique=False)
    op.create_table('node_photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('node_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('file_id', sa.String(length=300), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['node_id'], ['project_nodes.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sha256'], ['photo_blobs.sha256']),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('node_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_node_photos_node_id'), ['node_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('node_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_node_photos_node_id'))
    op.drop_table('node_photos')
    with op.batch_alter_table('project_nodes', schema=None) as batch_op:
        batch_op.drop_index('ix_project_nodes_planned_on')
        batch_op.drop_index(batch_op.f('ix_project_nodes_project_id'))
    op.drop_table('project_nodes')
