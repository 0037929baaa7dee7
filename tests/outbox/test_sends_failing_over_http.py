"""Telegram's sends failing at the fake Bot API (a proxy answering 502 to every ``sendMessage``, or refusing
notices), the sender on the injectable clock: a notice given up is told to the admins on their other channel (one
message for several), and the notices waiting out a retry's backoff go out as soon as the channel works again."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select, update
from telegram import Bot

from bot.channels.telegram_transport import TelegramTransport
from bot.clock import FrozenClock
from bot.domain.messages import Reply
from bot.render import Renderer
from bot.services.channel_notices import ChannelNotices
from bot.services.outbox import OutboxSender
from storage import outbox, outbox_sending
from storage.db import Database
from storage.models import ChatAccount, OutboxMessage, Person, PersonRole
from tests.fakes.bot_api import FakeBotAPI
from tests.outbox.test_outbox import FAST, HANG, FakeTransport, db  # noqa: F401 - a fixture
from tests.outbox.test_telegram_faults import QUICK, bot, fake  # noqa: F401 - fixtures

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
T0 = datetime(2026, 11, 20, 19, 0, tzinfo=UTC)  # 03:00 in Shanghai: no other notice is due
ADMIN_WECOM, ADMIN_TELEGRAM = "XiangMuBan", 9009


async def person(db: Database, name: str, *accounts: tuple[str, str], admin: bool = False) -> int:  # noqa: F811
    async with db.session() as session:
        someone = Person(name=name, active=True, created_at=T0)
        session.add(someone)
        await session.flush()
        if admin:
            session.add(PersonRole(person_id=someone.id, role="admin"))
        for channel, chat_id in accounts:
            session.add(ChatAccount(person_id=someone.id, channel=channel, external_id=chat_id, chat_id=chat_id,
                                    created_at=T0))
        return someone.id


async def notify(db: Database, person_id: int, text: str, clock: FrozenClock) -> None:  # noqa: F811
    async with db.session() as session:
        await outbox.enqueue_for_person(session, person_id=person_id, reply=Reply(html=text), key=text,
                                        now=clock.now())


async def notices(db: Database) -> dict[str, OutboxMessage]:  # noqa: F811
    """The notices to people, by their text."""
    async with db.session() as session:
        found = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    return {str(row.payload["html"]): row for row in found}


@pytest.fixture
def wecom() -> FakeTransport:
    return FakeTransport("wecom")


def sender(db: Database, clock: FrozenClock, bot: Bot, wecom: FakeTransport) -> OutboxSender:  # noqa: F811
    return OutboxSender(db, clock, {"telegram": TelegramTransport(bot), "wecom": wecom},
                        limits={"telegram": QUICK, "wecom": FAST}, rng=random.Random(5),
                        notices=ChannelNotices(db, clock, Renderer()))


async def test_a_lone_notice_given_up_at_a_quiet_hour_is_told_to_the_admins_on_their_other_channel(
        db: Database, fake: FakeBotAPI, bot: Bot, wecom: FakeTransport) -> None:  # noqa: F811
    """One notice, every send of it answered 502 and nothing else to send: no second notice ever trips the channel,
    so after its tries and fifteen minutes it fails; the admins hear of it once, on WeCom (not on Telegram, the
    channel failing), with whom it was for, what it said, and that nothing got through on Telegram meanwhile."""
    clock = FrozenClock(T0)
    await person(db, "项目办管理员", ("wecom", ADMIN_WECOM), ("telegram", str(ADMIN_TELEGRAM)), admin=True)
    await notify(db, await person(db, "郝芳", ("telegram", "1001")), "请于今日18:00前填报进度", clock)
    fake.inject_fault("sendMessage", status=502)
    send = sender(db, clock, bot, wecom)
    while clock.now() - T0 < timedelta(minutes=40):
        await send.drain(HANG)
        assert send.channel_states()["telegram"] is None  # one notice failing alone holds no channel
        clock.advance(seconds=15)
    row = (await notices(db))["请于今日18:00前填报进度"]
    assert row.state == "failed" and row.attempts >= 8
    [told] = wecom.texts(ADMIN_WECOM)
    assert "1 条通知发送失败" in told and "郝芳" in told and "请于今日18:00前填报进度" in told
    assert "没有一条成功" in told  # nothing got through meanwhile: the channel itself may be at fault
    assert fake.calls_of("sendMessage", chat_id=ADMIN_TELEGRAM) == []


async def test_notices_refused_together_make_one_message_to_the_admins(
        db: Database, fake: FakeBotAPI, bot: Bot, wecom: FakeTransport) -> None:  # noqa: F811
    clock = FrozenClock(T0)
    await person(db, "项目办管理员", ("wecom", ADMIN_WECOM), admin=True)
    names = ["郝芳", "周海燕", "王建国"]
    for n, name in enumerate(names):
        await notify(db, await person(db, name, ("telegram", str(1001 + n))), f"{name}的通知", clock)
    fake.inject_fault("sendMessage", status=400, description="Bad Request: can't parse entities")
    send = sender(db, clock, bot, wecom)
    await send.drain(HANG)
    assert {row.state for row in (await notices(db)).values() if row.channel == "telegram"} == {"failed"}
    clock.advance(seconds=5)
    await send.drain(HANG)
    [told] = wecom.texts(ADMIN_WECOM)
    assert "3 条通知发送失败" in told and all(f"{name}的通知" in told for name in names)
    assert "内容有误" in told and "没有一条成功" not in told  # Telegram answered: it works, the notices were at fault


async def test_a_notice_waiting_for_its_retry_goes_out_as_soon_as_the_channel_works_again(
        db: Database, fake: FakeBotAPI, bot: Bot, wecom: FakeTransport) -> None:  # noqa: F811
    """A notice failing alone for four minutes waits minutes for its next try; a second one failing then makes the
    channel down (held, probed). When the trial gets through, the first goes out with it, not minutes later."""
    clock = FrozenClock(T0)
    await notify(db, await person(db, "郝芳", ("telegram", "1001")), "第一条", clock)
    fake.inject_fault("sendMessage", status=502)
    send = sender(db, clock, bot, wecom)
    while clock.now() - T0 < timedelta(minutes=4):
        await send.drain(HANG)
        clock.advance(seconds=15)
    await notify(db, await person(db, "周海燕", ("telegram", "1002")), "第二条", clock)
    await send.drain(HANG)
    fault = send.channel_states()["telegram"]
    assert fault is not None and fault.reason == "sends_failing"
    waiting = (await notices(db))["第一条"]
    assert waiting.state == "pending" and waiting.next_attempt_at > clock.now() + timedelta(seconds=45)

    fake.clear_faults("sendMessage")
    clock.advance(seconds=30)  # the first probe: the held notice goes out as the trial
    await send.drain(HANG)
    await send.drain(HANG)
    assert send.channel_states()["telegram"] is None
    assert fake.texts(1002) == ["第二条"] and fake.texts(1001) == ["第一条"]
    assert {row.state for row in (await notices(db)).values()} == {"sent"}


async def test_only_the_channels_rows_waiting_for_a_retry_fall_due(db: Database) -> None:  # noqa: F811
    """An album's notice waiting for its photos (no try failed yet) and another channel's retries keep their time."""
    clock = FrozenClock(T0)
    later = clock.now() + timedelta(minutes=5)
    rows = (("重试中", "telegram", 3), ("相册通知", "telegram", 0), ("企业微信重试", "wecom", 3))
    for text, channel, attempts in rows:
        await notify(db, await person(db, text, (channel, text)), text, clock)
        async with db.session() as session:
            await session.execute(update(OutboxMessage).where(OutboxMessage.channel == channel,
                                                              OutboxMessage.chat_id == text)
                                  .values(attempts=attempts, next_attempt_at=later))
    async with db.session() as session:
        assert await outbox_sending.retries_due_now(session, channel="telegram", now=clock.now()) == 1
    due = {text: row.next_attempt_at for text, row in (await notices(db)).items()}
    assert due == {"重试中": clock.now(), "相册通知": later, "企业微信重试": later}


async def test_the_retries_of_a_channel_working_again_fall_due_in_one_statement(db: Database) -> None:  # noqa: F811
    """After a long outage thousands of rows may wait out a backoff: they fall due in one guarded UPDATE, not one per
    row (each a round trip holding SQLite's write lock), and the claims then take them oldest first."""
    clock = FrozenClock(T0)
    later = clock.now() + timedelta(minutes=5)
    someone = await person(db, "郝芳", ("telegram", "1001"))
    for n in range(30):
        async with db.session() as session:
            await outbox.enqueue_for_person(session, person_id=someone, reply=Reply(html=f"第{n}条"), key=f"n{n}",
                                            now=clock.now() + timedelta(seconds=n))
    async with db.session() as session:
        await session.execute(update(OutboxMessage).values(attempts=2, next_attempt_at=later))
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        async with db.session() as session:
            assert await outbox_sending.retries_due_now(session, channel="telegram", now=clock.now()) == 30
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)
    assert len([s for s in statements if s.lstrip().upper().startswith("UPDATE")]) == 1
    async with db.session() as session:
        claimed = await outbox_sending.claim_due_messages(session, now=clock.now(), limit=100,
                                                          lease_until=later, channels=["telegram"])
    assert [row.payload["html"] for row in claimed] == [f"第{n}条" for n in range(30)]
