"""A bulletin group's refusal that marks it (its notices wait) hands the chat's other rows back for a minute, but
never shortens a longer flood-control hold Telegram asked for on that chat."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest

from bot.channels.base import RecipientBlocked
from bot.clock import SHANGHAI, FrozenClock
from bot.domain.messages import Reply
from bot.services.outbox import OutboxSender
from storage import outbox, outbox_sending
from storage.audit import Actor
from storage.db import Database
from storage.group_chats import mark_left
from storage.models import BulletinGroup
from tests.databases import BACKENDS, fresh_database

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture(params=BACKENDS)
async def db(request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    async with fresh_database(request.param) as database:
        yield database


async def test_a_refusal_that_marks_a_group_keeps_a_longer_flood_control_hold(db: Database) -> None:
    clock = FrozenClock(NOW)
    sender = OutboxSender(db, clock, {})
    key = ("telegram", "-1001")
    async with db.session() as session:
        await outbox.enqueue_for_chat(session, channel="telegram", chat_id="-1001", reply=Reply(html="通报"),
                                      key="bulletin:weekly:2026-W48:g1:0", now=NOW)
    async with db.session() as session:
        [message] = await outbox_sending.claim_due_messages(session, now=NOW, limit=5,
                                                            lease_until=NOW + timedelta(minutes=5))
        group = BulletinGroup(channel="telegram", chat_id="-1001", name="领导小组", created_at=NOW, created_by="t")
        session.add(group)
        await session.flush()
        assert await mark_left(session, group=group, at=NOW, actor=Actor(label="t", channel="cli"), muted=True)
    flood = NOW + timedelta(minutes=10)  # flood control on the chat, asked for by another send of it
    sender.outcomes.holds[key] = flood
    outcome, _ = await sender.outcomes.conclude(message, key, RecipientBlocked("not enough rights to send text"))
    assert outcome == "released"
    assert sender.outcomes.hold_on(key) == flood
    sender.outcomes.holds.clear()
    async with db.session() as session:  # with no hold before, the chat is held a minute
        await outbox.enqueue_for_chat(session, channel="telegram", chat_id="-1001", reply=Reply(html="通报"),
                                      key="bulletin:weekly:2026-W48:g1:1", now=NOW)
    await sender.outcomes.conclude(message, key, RecipientBlocked("not enough rights to send text"))
    assert sender.outcomes.hold_on(key) == NOW + timedelta(minutes=1)
