"""reports indexed by day with their project and withdrawal

``ix_reports_local_day`` indexed the day alone; it now holds the project and ``withdrawn_at`` too, so that the
queries over a range of days that read only those (填报情况's day masks, the reported days of a bulletin's
window) are answered from the index without reading the table. Replacing the index rather than adding one
keeps the reports' inserts at four indexes. Downgrading puts the index on the day alone back.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-07
"""

from alembic import op

revision = '0035'
down_revision = '0034'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_reports_local_day', table_name='reports')
    op.create_index('ix_reports_local_day', 'reports', ['local_day', 'project_id', 'withdrawn_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_reports_local_day', table_name='reports')
    op.create_index('ix_reports_local_day', 'reports', ['local_day'], unique=False)
