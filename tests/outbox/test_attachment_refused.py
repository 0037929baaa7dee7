"""A reply whose file cannot be sent (over the channel's limit, gone from disk) still sends its text, with a
line saying which file did not go out and why; the admins read it in the log; a retry never sends the text
twice. Telegram through a real ``telegram.Bot`` and the fake Bot API (which answers 413 to an upload over
its limit); WeCom's app and group robots through the fake WeCom."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select
from telegram import Bot

from bot.channels.base import Attachment, RateLimits
from bot.channels.telegram_transport import DOCUMENT_MAX, TelegramTransport
from bot.clock import FrozenClock, SystemClock
from bot.domain.messages import Button, Reply
from bot.services.direct_replies import DirectReplies
from bot.services.outbox import OutboxSender
from storage import outbox
from storage.db import Database
from storage.models import ChatAccount, OutboxMessage, Person
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.ptb_bot import bot_on

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
QUICK = RateLimits(global_per_second=200, per_chat_per_second=50, per_group_per_minute=600)
CHAT = 1001


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(seed=3) as server:
        yield server


@pytest.fixture
async def bot(fake: FakeBotAPI) -> AsyncIterator[Bot]:
    async with bot_on(fake) as real_bot:
        yield real_bot


@pytest.fixture
async def db() -> AsyncIterator[Database]:
    database = Database("sqlite+aiosqlite://")
    await database.create_all()
    try:
        yield database
    finally:
        await database.dispose()


async def notify(db: Database, clock: FrozenClock, reply: Reply, attachment: Attachment) -> None:
    """Queue a notice with a file to a person whose Telegram chat is CHAT."""
    async with db.session() as session:
        person = Person(name="郝芳", active=True, created_at=clock.now())
        session.add(person)
        await session.flush()
        session.add(ChatAccount(person_id=person.id, channel="telegram", external_id=str(CHAT),
                                chat_id=str(CHAT), created_at=clock.now()))
        await session.flush()
        await outbox.enqueue_for_person(session, person_id=person.id, reply=reply, key="n1", now=clock.now(),
                                        attachment=attachment)


async def only_row(db: Database) -> OutboxMessage:
    async with db.session() as session:
        [row] = (await session.scalars(select(OutboxMessage))).all()
        return row


async def test_a_file_telegram_refuses_as_too_large_leaves_its_text_and_a_note(
        db: Database, fake: FakeBotAPI, bot: Bot, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    fake.max_upload = 1024  # the fake answers 413 to anything bigger, as Telegram does over 50 MB
    (tmp_path / "ledger.xlsx").write_bytes(b"PK\x03\x04" + b"x" * 4096)
    clock = FrozenClock(SystemClock().now())
    buttons = ((Button("查看", "l:1"),),)
    await notify(db, clock, Reply("<b>11月台账</b> 见附件", buttons=buttons),
                 Attachment("document", "ledger.xlsx", "11月台账.xlsx"))
    sender = OutboxSender(db, clock, {"telegram": TelegramTransport(bot, files_root=tmp_path)},
                          limits={"telegram": QUICK})

    with caplog.at_level(logging.WARNING):
        assert (await sender.drain(5)).sent == 1

    [refused] = fake.calls_of("sendDocument")
    assert refused.status == 413
    [text] = fake.texts(CHAT)
    assert text.startswith("<b>11月台账</b> 见附件\n\n")
    assert "附件「11月台账.xlsx」未能发送：文件过大（超过 50 MB）" in text
    [sent] = fake.calls_of("sendMessage", ok=True)
    assert [[b["text"] for b in row] for row in sent["reply_markup"]["inline_keyboard"]] == [["查看"]]
    assert (await only_row(db)).state == "sent"
    assert any("ledger.xlsx not sent to telegram:1001 (too_large)" in r.getMessage() for r in caplog.records)


async def test_a_file_over_telegrams_limit_is_not_uploaded_at_all(db: Database, fake: FakeBotAPI, bot: Bot,
                                                                  tmp_path: Path) -> None:
    with (tmp_path / "video.mp4").open("wb") as big:
        big.truncate(DOCUMENT_MAX + 1)
    clock = FrozenClock(SystemClock().now())
    await notify(db, clock, Reply("现场视频"), Attachment("document", "video.mp4"))
    sender = OutboxSender(db, clock, {"telegram": TelegramTransport(bot, files_root=tmp_path)},
                          limits={"telegram": QUICK})

    assert (await sender.drain(5)).sent == 1

    assert fake.calls_of("sendDocument") == []
    [text] = fake.texts(CHAT)
    assert text.startswith("现场视频\n\n⚠️ 附件「video.mp4」未能发送：文件过大（超过 50 MB）")


async def test_a_file_gone_from_disk_leaves_a_long_text_that_a_retry_sends_once(
        db: Database, fake: FakeBotAPI, bot: Bot, tmp_path: Path) -> None:
    long_text = "<b>月通报</b>\n" + "项目进展正常。" * 200  # past a caption: the file would go first, alone
    clock = FrozenClock(SystemClock().now())
    await notify(db, clock, Reply(long_text), Attachment("document", "gone.xlsx", "月通报.xlsx"))
    fake.inject_fault("sendMessage", status=502, times=1, after=1)  # the note passes, the text does not
    sender = OutboxSender(db, clock, {"telegram": TelegramTransport(bot, files_root=tmp_path)},
                          limits={"telegram": QUICK})

    await sender.drain(5)
    row = await only_row(db)
    assert (row.state, row.parts_sent) == ("pending", 1)
    clock.advance(minutes=5)
    assert (await sender.drain(5)).sent == 1

    note, text = fake.texts(CHAT)
    assert "附件「月通报.xlsx」未能发送：文件已不存在或无法读取" in note
    assert text == long_text
    assert (await only_row(db)).state == "sent"


async def test_a_direct_reply_with_an_unreadable_photo_still_answers(db: Database, fake: FakeBotAPI, bot: Bot,
                                                                    tmp_path: Path) -> None:
    clock = FrozenClock(SystemClock().now())
    direct = DirectReplies(db, clock, first_wait=0.01)
    reply = Reply("已收到照片", attachment=Attachment("photo", "missing.jpg"))

    await direct.deliver(TelegramTransport(bot, files_root=tmp_path), str(CHAT), [reply])

    assert (direct.stats.sent, direct.stats.refused) == (1, 0)
    [text] = fake.texts(CHAT)
    assert text.startswith("已收到照片\n\n⚠️ 附件「missing.jpg」未能发送：文件已不存在或无法读取")
