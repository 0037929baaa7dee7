"""report sums

Running sums of the live reports per project and calendar year (``report_sums``), kept by triggers on
``reports`` (storage.report_sums) and filled here from the reports already stored. Storing a report reads
them instead of summing the project's whole history.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from alembic import op
import sqlalchemy as sa
import storage.types
from storage.report_sums import create_triggers, drop_triggers, fill


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('report_sums',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('amount', storage.types.Wan(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ),
    sa.PrimaryKeyConstraint('project_id', 'year')
    )
    dialect = op.get_bind().dialect.name
    op.execute(fill(dialect))
    for statement in create_triggers(dialect):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_triggers(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_table('report_sums')
