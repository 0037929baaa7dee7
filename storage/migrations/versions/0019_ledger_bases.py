"""ledger bases

Each year has its own ledger base per project (``ledger_bases``: 截至某日累计完成 and its day), the earlier
years' kept, so that a new year's ledger leaves the old year's year-to-date as it was. Filled here with the
base every project has now, for its year.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ledger_bases',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('done_before', storage.types.Wan(), nullable=False),
    sa.Column('baseline_date', sa.Date(), nullable=True),
    sa.Column('set_at', storage.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', 'year')
    )
    op.execute("INSERT INTO ledger_bases (project_id, year, done_before, baseline_date, set_at) "
               "SELECT id, baseline_year, done_before, baseline_date, updated_at FROM projects "
               "WHERE baseline_year IS NOT NULL AND done_before IS NOT NULL")


def downgrade() -> None:
    op.drop_table('ledger_bases')
