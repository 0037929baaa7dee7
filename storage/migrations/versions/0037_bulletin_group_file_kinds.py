"""bulletin group file kinds kept with the group

A bulletin group where the bot may not send photos, documents or either keeps which kinds in a column of its own
(``bulletin_groups.files_refused``: the kinds, sorted and joined by commas), no longer only in the audit row of the
mark: the mark follows the group wherever it goes (a group upgraded to a supergroup takes a new chat id, and its
audit rows stay under the old one). The marks made before are carried over from their latest audit row; a mark
whose row names no kinds reads as both, as it did. Downgrading drops the column: the kinds are read from the audit
rows again.

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-07
"""

import json

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0037'
down_revision = '0036'
branch_labels = None
depends_on = None

KINDS = ('documents', 'photos')


def upgrade() -> None:
    with op.batch_alter_table('bulletin_groups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('files_refused', sa.String(length=40), nullable=True))
    groups = sa.table('bulletin_groups', sa.column('id', sa.Integer()), sa.column('channel', sa.String()),
                      sa.column('chat_id', sa.String()), sa.column('files_refused', sa.String()),
                      sa.column('files_refused_at', storage.types.UTCDateTime()))
    audit = sa.table('audit_log', sa.column('id', sa.Integer()), sa.column('action', sa.String()),
                     sa.column('object_key', sa.String()), sa.column('detail', sa.JSON()))
    conn = op.get_bind()
    marked = conn.execute(sa.select(groups.c.id, groups.c.channel, groups.c.chat_id)
                          .where(groups.c.files_refused_at.is_not(None))).all()
    for group_id, channel, chat_id in marked:
        detail = conn.execute(sa.select(audit.c.detail).where(audit.c.action == 'group.no_files',
                                                              audit.c.object_key == f'{channel}:{chat_id}')
                              .order_by(audit.c.id.desc()).limit(1)).scalar()
        if isinstance(detail, str):
            detail = json.loads(detail)
        kinds = sorted(set((detail or {}).get('kinds') or ()) & set(KINDS)) or list(KINDS)
        conn.execute(groups.update().where(groups.c.id == group_id).values(files_refused=','.join(kinds)))


def downgrade() -> None:
    with op.batch_alter_table('bulletin_groups', schema=None) as batch_op:
        batch_op.drop_column('files_refused')
