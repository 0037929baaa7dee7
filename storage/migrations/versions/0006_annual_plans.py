"""annual plans

Each year has its own annual plan per project (``annual_plans``), the earlier years' kept. Filled here with
the plan every project has now, for the year of its ledger baseline.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa
import storage.types


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('annual_plans',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('amount', storage.types.Wan(), nullable=False),
    sa.Column('set_at', storage.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', 'year')
    )
    op.execute("INSERT INTO annual_plans (project_id, year, amount, set_at) "
               "SELECT id, baseline_year, annual_plan, updated_at FROM projects")


def downgrade() -> None:
    op.drop_table('annual_plans')
