"""The admins' notices of a bulletin group taken out, muted or let back in (``bot.services.group_left``) are keyed
by the change's audit entry: changes within one second are each told, and the same change told again is not."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.clock import FrozenClock
from bot.render import shared_renderer
from bot.services.group_left import bot_back_in_group, bot_left_group
from storage.audit import Actor
from storage.db import Database
from storage.models import BulletinGroup, ChatAccount, OutboxMessage
from tests.storage.factories import build_world

CHAT = "-1001"


async def test_two_changes_of_a_group_within_a_second_are_both_told(db: Database, clock: FrozenClock) -> None:
    now = clock.now()
    world = await build_world(db, now)
    async with db.session() as session:
        session.add_all([ChatAccount(person_id=world.admin, channel="telegram", external_id="9", chat_id="9",
                                     display_name="管理员", created_at=now),
                         BulletinGroup(channel="telegram", chat_id=CHAT, name="领导小组群", created_at=now,
                                       created_by="管理员")])
    renderer, actor = shared_renderer(), Actor(label="Telegram", channel="telegram")
    moments = [now + timedelta(milliseconds=ms) for ms in (100, 400, 700)]  # all in one second: out, back, out
    assert await bot_left_group(db, renderer, channel="telegram", chat_id=CHAT, title=None, at=moments[0],
                                actor=actor)
    assert await bot_back_in_group(db, renderer, channel="telegram", chat_id=CHAT, title=None, at=moments[1],
                                   actor=actor)
    assert await bot_left_group(db, renderer, channel="telegram", chat_id=CHAT, title=None, at=moments[2],
                                actor=actor)
    # the same change delivered again: nothing changes, nobody is told twice
    assert not await bot_left_group(db, renderer, channel="telegram", chat_id=CHAT, title=None, at=moments[2],
                                    actor=actor)
    async with db.session() as session:
        keys = list((await session.scalars(select(OutboxMessage.dedupe_key).where(
            OutboxMessage.person_id == world.admin).order_by(OutboxMessage.id))).all())
    assert [key.split(":")[0] for key in keys] == ["group-left", "group-back", "group-left"], keys
