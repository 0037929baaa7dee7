"""The admins told of the notices the outbox gave up on, from the outbox's failed rows: none lost to a crash or a
change of sender within the minute, none told twice, none dropped while no admin can be reached, and each worded
by why it was given up."""

from __future__ import annotations

import asyncio
import random

import pytest
from sqlalchemy import select

from bot.channels.base import ChannelDown, PermanentError
from bot.clock import FrozenClock
from bot.domain import give_up_reasons
from bot.render import Renderer
from bot.services.channel_notices import ChannelNotices
from bot.services.given_up import GATHER
from bot.services.outbox import OutboxSender
from storage.db import Database
from storage.models import ChatAccount, OutboxMessage, PersonRole
from tests.outbox.test_outbox import FAST, HANG, NOW, FakeTransport, add_person, clock, db, notify  # noqa: F401

ADMIN = "XiangMuBan"


def sender(db: Database, clock: FrozenClock, *transports: FakeTransport) -> OutboxSender:  # noqa: F811
    return OutboxSender(db, clock, {t.channel: t for t in transports}, limits={t.channel: FAST for t in transports},
                        rng=random.Random(5), notices=ChannelNotices(db, clock, Renderer()))


async def admin(db: Database, *accounts: tuple[str, str]) -> int:  # noqa: F811
    person_id = await add_person(db, "项目办管理员", *accounts)
    async with db.session() as session:
        session.add(PersonRole(person_id=person_id, role="admin"))
    return person_id


async def told(db: Database) -> list[OutboxMessage]:  # noqa: F811
    """The admins' notices of notices given up."""
    async with db.session() as session:
        found = await session.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key.startswith("gave-up:"))
                                      .order_by(OutboxMessage.id))
        return list(found.all())


async def test_a_notice_given_up_just_before_a_crash_is_told_by_the_next_sender(
        db: Database, clock: FrozenClock) -> None:  # noqa: F811
    """The sender that gave up on the notice dies within the minute: the next leader's sender tells it, once."""
    await admin(db, ("wecom", ADMIN))
    await notify(db, await add_person(db, "郝芳", ("telegram", "1001")), "请于今日18:00前填报进度", key="n1")
    telegram, wecom = FakeTransport("telegram"), FakeTransport("wecom")
    telegram.fail("1001", PermanentError("Bad Request: chat not found in this bot's setup"))
    await sender(db, clock, telegram, wecom).run_once()  # gives up on it; dies before the minute is out
    assert wecom.texts(ADMIN) == []

    clock.advance(seconds=GATHER.total_seconds())
    others = [sender(db, clock, telegram, wecom) for _ in range(2)]  # two take turns: neither tells it twice
    for one in others + others:
        await one.drain(HANG)
    [news] = wecom.texts(ADMIN)
    assert "1 条通知发送失败" in news and "郝芳" in news and "请于今日18:00前填报进度" in news
    assert len(await told(db)) == 1


async def test_notices_given_up_while_no_admin_can_be_reached_are_told_once_one_can(
        db: Database, clock: FrozenClock) -> None:  # noqa: F811
    """No admin has an account on a channel the sender serves: nothing is marked told; once one has, they are."""
    admin_id = await admin(db)
    await notify(db, await add_person(db, "郝芳", ("wecom", "HaoFang")), "请于今日18:00前填报进度", key="n1")
    wecom = FakeTransport("wecom")
    wecom.fail("HaoFang", PermanentError("WeCom errcode 45002: content size out of limit"))
    send = sender(db, clock, FakeTransport("telegram"), wecom)
    await send.drain(HANG)
    assert await told(db) == []
    async with db.session() as session:
        failed = await session.scalar(select(OutboxMessage).where(OutboxMessage.chat_id == "HaoFang"))
        assert failed is not None and failed.state == "failed" and failed.told_at is None
        session.add(ChatAccount(person_id=admin_id, channel="wecom", external_id=ADMIN, chat_id=ADMIN,
                                created_at=NOW))
    clock.advance(seconds=GATHER.total_seconds())
    await send.drain(HANG)
    [news] = wecom.texts(ADMIN)
    assert "郝芳" in news and "内容有误" in news


async def test_an_admin_whose_only_channel_is_down_has_the_news_held_there(
        db: Database, clock: FrozenClock) -> None:  # noqa: F811
    """Admins on Telegram only, Telegram's breaker open, a WeCom notice refused: the news waits in the outbox on
    Telegram, held with its other notices, instead of being dropped."""
    await admin(db, ("telegram", "9009"))
    await notify(db, await add_person(db, "周海燕", ("telegram", "1002")), "第一条", key="n1")
    await notify(db, await add_person(db, "郝芳", ("wecom", "HaoFang")), "第二条", key="n2")
    telegram, wecom = FakeTransport("telegram"), FakeTransport("wecom")
    telegram.fail("1002", ChannelDown("bad_token", "the bot's token was refused"))
    wecom.fail("HaoFang", PermanentError("no group robot named 'HaoFang' in WECOM_ROBOT_KEYS"))
    send = sender(db, clock, telegram, wecom)
    await send.drain(HANG)
    assert send.channel_states()["telegram"] is not None
    [news] = await told(db)
    assert (news.channel, news.chat_id, news.state) == ("telegram", "9009", "pending")
    assert "配置有误" in news.payload["html"] and "拒收" not in news.payload["html"]


@pytest.mark.parametrize(("error", "reason"), [
    ("TransientError: HTTP 502", give_up_reasons.TRIES),
    ("TimeoutError", give_up_reasons.TRIES),
    ("PermanentError: not a WeCom userid: 'x y'", give_up_reasons.CONFIG),
    ("PermanentError: no group robot named '领导小组' in WECOM_ROBOT_KEYS", give_up_reasons.CONFIG),
    ("bad payload: 'html'", give_up_reasons.CONTENT),
    ("PermanentError: Bad Request: can't parse entities", give_up_reasons.CONTENT),
    ("AttachmentRefused: file is too big", give_up_reasons.CONTENT),
    ("PermanentError: WeCom errcode 40008: invalid message type", give_up_reasons.REFUSED),
])
def test_why_a_notice_was_given_up_is_read_from_its_recorded_error(error: str, reason: str) -> None:
    assert give_up_reasons.reason_of(error) == reason


async def test_two_senders_telling_at_once_tell_each_notice_once(db: Database, clock: FrozenClock) -> None:  # noqa: F811
    """Two processes tell at the same moment (a leader's stop and the next one's start): one message, not two."""
    await admin(db, ("wecom", ADMIN))
    for n in range(3):
        await notify(db, await add_person(db, f"联络员{n}", ("telegram", f"100{n}")), f"第{n}条", key=f"n{n}")
    telegram, wecom = FakeTransport("telegram"), FakeTransport("wecom")
    telegram.always = PermanentError("Bad Request: message is too long")
    await sender(db, clock, telegram).run_once()
    clock.advance(seconds=GATHER.total_seconds())
    first, second = (sender(db, clock, telegram, wecom).given_up for _ in range(2))
    assert first is not None and second is not None
    written = await asyncio.gather(*(one.tell(reachable=["wecom"], served=["telegram", "wecom"])
                                     for one in (first, second)))
    assert sorted(written) == [0, 1]
    [news] = await told(db)
    assert "3 条通知发送失败" in news.payload["html"]


async def test_the_admins_own_notice_given_up_on_is_not_told_again(db: Database, clock: FrozenClock) -> None:  # noqa: F811
    """The news itself refused: it is marked told and logged, and no news of the news follows (no loop)."""
    await admin(db, ("wecom", ADMIN))
    await notify(db, await add_person(db, "郝芳", ("telegram", "1001")), "第一条", key="n1")
    telegram, wecom = FakeTransport("telegram"), FakeTransport("wecom")
    telegram.always = PermanentError("Bad Request: message is too long")
    wecom.always = PermanentError("WeCom errcode 40008: invalid message type")
    send = sender(db, clock, telegram, wecom)
    for _ in range(3):
        await send.drain(HANG)
        clock.advance(seconds=GATHER.total_seconds())
    [news] = await told(db)
    assert news.state == "failed" and news.told_at is not None
