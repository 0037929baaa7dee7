"""a 补报 marked on the report

``reports.backfill``: the report was entered by the 项目办 after its day (补报), or corrects one that was. It
counts in the money like any report but not as the liaison's report (填报率, 按时填报, the 连续未填报 streaks:
``storage.reports.reported_by_liaison``). The day index and the standings index cover it, so those counts still read no table rows.
Upgrading marks the 补报 made before (their ``report.backfill`` audit entries) and the versions correcting them;
the report path's INSERT does not name the column (the default is false). Downgrading drops the column and
puts the index back as it was.

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-07
"""

import json

import sqlalchemy as sa
from alembic import op

revision = '0041'
down_revision = '0040'
branch_labels = None
depends_on = None

_DAY_INDEX = 'ix_reports_local_day'
_STANDINGS_INDEX = 'ix_reports_standings'
_LIVE = sa.text('withdrawn_at IS NULL')


def _indexes(*, backfill: list[str]) -> None:
    """The two covering indexes of the reports, with the mark (``backfill``) or without it."""
    op.drop_index(_DAY_INDEX, table_name='reports')
    op.create_index(_DAY_INDEX, 'reports', ['local_day', 'project_id', 'withdrawn_at', *backfill])
    op.drop_index(_STANDINGS_INDEX, table_name='reports')
    op.create_index(_STANDINGS_INDEX, 'reports', ['project_id', 'local_day', 'amount', 'created_at', *backfill],
                    sqlite_where=_LIVE, postgresql_where=_LIVE)


def upgrade() -> None:
    # Not a batch operation: SQLite would rebuild the table and lose the triggers keeping the yearly sums.
    op.add_column('reports', sa.Column('backfill', sa.Boolean(), nullable=False, server_default=sa.false()))
    _indexes(backfill=['backfill'])
    bind = op.get_bind()
    ids = set()
    for (detail,) in bind.execute(sa.text("SELECT detail FROM audit_log WHERE action = 'report.backfill'")):
        found = json.loads(detail) if isinstance(detail, str) else detail
        if found and found.get('report_id'):
            ids.add(int(found['report_id']))
    reports = sa.table('reports', sa.column('id', sa.Integer), sa.column('replaces_id', sa.Integer),
                       sa.column('backfill', sa.Boolean))
    while ids:  # the 补报, then the versions correcting them, until none is left
        bind.execute(reports.update().where(reports.c.id.in_(sorted(ids))).values(backfill=True))
        ids = {row[0] for row in bind.execute(sa.select(reports.c.id).where(
            reports.c.replaces_id.in_(sorted(ids)), reports.c.backfill.is_(False)))}


def downgrade() -> None:
    _indexes(backfill=[])
    op.drop_column('reports', 'backfill')  # not a batch: SQLite would lose the triggers (ALTER TABLE DROP COLUMN)
