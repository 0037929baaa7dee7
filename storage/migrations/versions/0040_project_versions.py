"""project versions: what the ledger said of a project, dated

A project's name, town, lead unit (牵头单位), 包抓领导 and liaison were kept only as they are now, so a past
period's bulletin made again ranked a project handed over since under its new unit and leader. Every change of
those fields now writes a version valid from its instant (``project_versions``), people and units by id. Each
project is seeded with its version as it stands, valid from the project's creation: a database upgraded reads
every past period as the ledger stands today, as before, and dated history from now on.
Downgrading drops the table.

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0040'
down_revision = '0039'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'project_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('valid_from', storage.types.UTCDateTime(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('location', sa.String(length=100), nullable=True),
        sa.Column('lead_unit_id', sa.Integer(), nullable=False),
        sa.Column('lead_official_id', sa.Integer(), nullable=True),
        sa.Column('liaison_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['lead_official_id'], ['people.id'], ),
        sa.ForeignKeyConstraint(['lead_unit_id'], ['units.id'], ),
        sa.ForeignKeyConstraint(['liaison_id'], ['people.id'], ),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_project_versions_project_from', 'project_versions', ['project_id', 'valid_from'])
    op.create_index(op.f('ix_project_versions_valid_from'), 'project_versions', ['valid_from'])
    projects = sa.table('projects', *(sa.column(name) for name in (
        'id', 'created_at', 'name', 'location', 'lead_unit_id', 'lead_official_id', 'liaison_id')))
    versions = sa.table('project_versions', *(sa.column(name) for name in (
        'project_id', 'valid_from', 'name', 'location', 'lead_unit_id', 'lead_official_id', 'liaison_id')))
    op.execute(versions.insert().from_select(
        ['project_id', 'valid_from', 'name', 'location', 'lead_unit_id', 'lead_official_id', 'liaison_id'],
        sa.select(projects.c.id, projects.c.created_at, projects.c.name, projects.c.location,
                  projects.c.lead_unit_id, projects.c.lead_official_id, projects.c.liaison_id)))


def downgrade() -> None:
    op.drop_index(op.f('ix_project_versions_valid_from'), table_name='project_versions')
    op.drop_index('ix_project_versions_project_from', table_name='project_versions')
    op.drop_table('project_versions')
