"""one report a day, messages handled once

``reports.replaces_id``: a report that replaced the same day's earlier report of its project names it (the
earlier one is kept, withdrawn, as a superseded version). ``processed_messages``: the key of every chat
message whose changes were stored, in the same transaction, so that a message delivered again (a webhook
re-delivery, a client retry, another process) is not handled twice. Existing reports are left as they are.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa
import storage.types
from storage.report_sums import create_triggers


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('processed_messages',
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('handled_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('channel', 'key')
    )
    with op.batch_alter_table('processed_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_processed_messages_handled_at'), ['handled_at'], unique=False)
    if op.get_bind().dialect.name == 'sqlite':
        # SQLite adds a column with its REFERENCES in place: no table rebuild, so the triggers of
        # storage.report_sums and the partial covering index stay as they are.
        op.execute('ALTER TABLE reports ADD COLUMN replaces_id INTEGER REFERENCES reports (id)')
    else:
        op.add_column('reports', sa.Column('replaces_id', sa.Integer(), sa.ForeignKey('reports.id'),
                                           nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        # SQLite cannot drop a column with a REFERENCES in place: the table is rebuilt, and what a rebuild
        # loses (the triggers, the partial covering index) is made again.
        with op.batch_alter_table('reports', schema=None) as batch_op:
            batch_op.drop_column('replaces_id')
        op.execute('DROP INDEX IF EXISTS ix_reports_standings')
        op.execute('CREATE INDEX ix_reports_standings ON reports (project_id, local_day, amount, created_at) '
                   'WHERE withdrawn_at IS NULL')
        for statement in create_triggers('sqlite'):
            op.execute(statement)
    else:
        op.drop_constraint('reports_replaces_id_fkey', 'reports', type_='foreignkey')
        op.drop_column('reports', 'replaces_id')
    with op.batch_alter_table('processed_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_processed_messages_handled_at'))
    op.drop_table('processed_messages')
