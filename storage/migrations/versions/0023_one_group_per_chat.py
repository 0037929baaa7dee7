"""one group per chat

Before topics were handled, ``/groups add`` typed in two topics of one forum supergroup (or in a topic and in
General) registered the chat twice, as ``-100…/5`` and ``-100…/7``: every bulletin went to it twice. Now a
second ``/groups add`` moves the group to its topic; the duplicates registered before are merged here into the
group registered last (its topic and its name, as ``/groups add`` there would have made it), the notices still
waiting for the others go to it, and each merge is audited as a move. Done once, at the upgrade: the
项目办 need not notice or remember anything, and no duplicate is made any more (a group id typed in a private
chat or to ``diaodu groups add`` names the group of that chat, whichever topic it is in). Not undone by a
downgrade.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""

from collections import defaultdict
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

WHEN = storage.types.UTCDateTime(timezone=True)
groups = sa.table('bulletin_groups', sa.column('id', sa.Integer), sa.column('channel', sa.String),
                  sa.column('chat_id', sa.String), sa.column('name', sa.String), sa.column('created_at', WHEN))
outbox = sa.table('outbox', sa.column('channel', sa.String), sa.column('chat_id', sa.String),
                  sa.column('state', sa.String))
audit_log = sa.table('audit_log', sa.column('at', WHEN), sa.column('actor_person_id', sa.Integer),
                     sa.column('actor', sa.String), sa.column('channel', sa.String), sa.column('action', sa.String),
                     sa.column('object_type', sa.String), sa.column('object_key', sa.String),
                     sa.column('detail', sa.JSON))


def _chat(chat_id: str) -> str:
    """The chat of a group's address, without its topic ("<chat id>/<topic id>", bot.domain.chat_ids as of
    this revision)."""
    return chat_id.partition('/')[0].strip()


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(groups.c.id, groups.c.channel, groups.c.chat_id, groups.c.name,
                                  groups.c.created_at).order_by(groups.c.id)).all()
    by_chat: dict[tuple[str, str], list[sa.Row]] = defaultdict(list)
    for row in rows:
        if row.channel == 'telegram':  # only Telegram has topics (a WeCom robot's name may hold a "/")
            by_chat[(row.channel, _chat(row.chat_id))].append(row)
    now = datetime.now(UTC)
    for (channel, _), same in by_chat.items():
        if len(same) < 2:
            continue
        kept = max(same, key=lambda r: (r.created_at, r.id))
        for row in same:
            if row.id == kept.id:
                continue
            bind.execute(outbox.update().where(outbox.c.channel == channel, outbox.c.chat_id == row.chat_id,
                                               outbox.c.state == 'pending').values(chat_id=kept.chat_id))
            bind.execute(groups.delete().where(groups.c.id == row.id))
            bind.execute(audit_log.insert().values(
                at=now, actor_person_id=None, actor='upgrade', channel='cli', action='group.move',
                object_type='group', object_key=f'{channel}:{kept.chat_id}',
                detail={'name': kept.name, 'from': row.chat_id, 'to': kept.chat_id, 'merged': row.name}))


def downgrade() -> None:
    pass  # the duplicates are not made again
