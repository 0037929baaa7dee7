"""baseline date

The ledger's baseline (截至某日累计完成, ``projects.done_before``) gets the day it was counted up to:
year-to-date is the baseline plus the reports dated after that day. Baselines imported before have no
day (NULL) and keep covering no report of their year.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('projects', sa.Column('baseline_date', sa.Date(), nullable=True))


def downgrade() -> None:
    op.drop_column('projects', 'baseline_date')
