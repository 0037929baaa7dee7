"""passed days

Whether reports were due on each day that has passed, by the calendar as it stood then (``passed_days``), so
that a later ruling or a new release of the holidays package does not make a past rest day owe a report.
Empty here: the running bot keeps the days from the year before the current one on, the first time it keeps.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('passed_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('reporting', sa.Boolean(), nullable=False),
    sa.Column('weekend', sa.Boolean(), nullable=False),
    sa.Column('kept_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('day')
    )


def downgrade() -> None:
    op.drop_table('passed_days')
