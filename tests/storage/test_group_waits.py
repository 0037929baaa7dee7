"""The notices of a bulletin group marked out or muted wait, on SQLite and PostgreSQL: no claim takes them (nor
counts them as due), and once the mark goes they are due again, but for a bulletin a later one of its kind
waiting there too superseded."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.clock import FrozenClock
from bot.domain.messages import Reply
from storage import outbox, outbox_sending, outbox_views
from storage.audit import Actor
from storage.db import Database
from storage.group_chats import mark_back, mark_left
from storage.group_waits import Notices
from storage.models import Bulletin, BulletinGroup, OutboxMessage
from storage.outbox import SUPERSEDED


async def test_a_marked_groups_notices_wait_and_stale_bulletins_are_superseded_when_it_is_back(
        db: Database, clock: FrozenClock, actor: Actor) -> None:
    now = clock.now()
    async with db.session() as session:
        group = BulletinGroup(channel="telegram", chat_id="-1001", name="领导小组", created_at=now, created_by="t")
        session.add(group)
        await session.flush()
        for key in (f"bulletin:weekly:2026-W41:g{group.id}:0", f"bulletin:monthly:2026-10:g{group.id}:0", "reply:1"):
            await outbox.enqueue_for_chat(session, channel="telegram", chat_id="-1001", reply=Reply(html=key),
                                          key=key, now=now)
        await outbox.enqueue_for_chat(session, channel="telegram", chat_id="-2002", reply=Reply(html="其他群"),
                                      key="other", now=now)
        assert await mark_left(session, group=group, at=now, actor=actor, muted=True)
    later = now + timedelta(days=7)
    lease = later + timedelta(hours=1)
    async with db.session() as session:
        claimed = await outbox_sending.claim_due_messages(session, now=later, limit=10, lease_until=lease)
        assert [m.chat_id for m in claimed] == ["-2002"]
        assert await outbox_sending.next_due_at(session) == lease  # the claimed one's lease; none waiting counts
        session.add(Bulletin(kind="weekly", period="2026-W42", produced_at=later, recipients=0, summary={}))
        await outbox.enqueue_for_chat(session, channel="telegram", chat_id="-1001", reply=Reply(html="W42"),
                                      key=f"bulletin:weekly:2026-W42:g{group.id}:0", now=later)
    async with db.session() as session:
        group = await session.get(BulletinGroup, group.id)
        assert group is not None
        released = await mark_back(session, group=group, at=later, actor=actor)
    assert released is not None and released.superseded == [("weekly", "2026-W41")]
    assert released.sent == Notices([("monthly", "2026-10"), ("weekly", "2026-W42")], 1)
    async with db.session() as session:
        claimed = await outbox_sending.claim_due_messages(session, now=later, limit=10, lease_until=later)
        assert sorted(str(m.dedupe_key).split("|")[0] for m in claimed) == [
            f"bulletin:monthly:2026-10:g{group.id}:0", f"bulletin:weekly:2026-W42:g{group.id}:0", "reply:1"]
    async with db.session() as session:
        row = await session.scalar(select(OutboxMessage).where(
            OutboxMessage.dedupe_key.startswith("bulletin:weekly:2026-W41")))
    assert row is not None and row.state == SUPERSEDED


async def test_notices_waiting_for_a_group_are_no_backlog_but_counted_apart(
        db: Database, clock: FrozenClock, actor: Actor) -> None:
    """A week's wait for a group the bot is muted in is planned: the backlog (metrics, /readyz) neither counts
    those notices nor ages with them; they are counted apart, and join the backlog when the mark goes."""
    now = clock.now()
    async with db.session() as session:
        group = BulletinGroup(channel="telegram", chat_id="-1001", name="领导小组", created_at=now, created_by="t")
        session.add(group)
        await session.flush()
        for index in range(2):
            await outbox.enqueue_for_chat(session, channel="telegram", chat_id="-1001", reply=Reply(html="通报"),
                                          key=f"bulletin:weekly:2026-W41:g{group.id}:{index}", now=now)
        await outbox.enqueue_for_chat(session, channel="telegram", chat_id="-2002", reply=Reply(html="其他群"),
                                      key="other", now=now + timedelta(days=1))
        assert await mark_left(session, group=group, at=now, actor=actor, muted=True)
    later = now + timedelta(days=7)
    async with db.session() as session:
        backlog = await outbox_views.backlog(session, now=later)
    assert backlog == (1, now + timedelta(days=1), 2)
    async with db.session() as session:
        group = await session.get(BulletinGroup, group.id)
        assert group is not None and await mark_back(session, group=group, at=later, actor=actor)
    async with db.session() as session:
        assert await outbox_views.backlog(session, now=later) == (3, now, 0)
