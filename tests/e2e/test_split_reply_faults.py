"""A reply too long for one Telegram message goes out as several; when one of them fails, the retry (a
direct reply's, or the outbox's on any sender) starts after the last message that got through: nothing
twice, nothing lost, the order kept. The real channel and PTB against the fake Bot API, which fails the
2nd message once.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.channels.base import Progress
from bot.channels.telegram_transport import TEXT_MAX, TelegramTransport
from bot.domain.messages import Button, Outcome, Reply
from bot.html_split import split_html
from bot.services.direct_replies import DirectReplies
from bot.services.outbox import OutboxSender
from storage import outbox, outbox_views
from storage.models import OutboxMessage
from tests.e2e.harness import TelegramHarness
from tests.fakes.bot_api import FakeBotAPI
from tests.polling import until

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
HAO = 1001


class RecordedSleep:
    """Stands in for asyncio.sleep: records each wait instead of spending it."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def long_reply() -> Reply:
    """A listing of three Telegram messages, a button under the last."""
    lines = [f"<b>第{n:03d}项</b> 城北高速连接线 征地拆迁 还有{n}户未签约" for n in range(300)]
    reply = Reply(html="\n".join(lines), buttons=((Button("下一页", "pg:2"),),))
    assert len(split_html(reply.html, TEXT_MAX)) == 3
    return reply


def delivered(fake: FakeBotAPI) -> list[str]:
    """What the chat was sent since the test began (after its welcome)."""
    return fake.texts(HAO, since=fake.test_began)  # type: ignore[attr-defined]


def assert_whole_once(fake: FakeBotAPI, reply: Reply) -> None:
    """The chat shows each part of the reply exactly once, in order, the button under the last."""
    parts = split_html(reply.html, TEXT_MAX)
    assert delivered(fake) == parts
    calls = fake.calls_of("sendMessage", ok=True, chat_id=HAO, since=fake.test_began)  # type: ignore[attr-defined]
    assert [bool(c.get("reply_markup")) for c in calls] == [False, False, True]


@pytest.fixture
async def hao(telegram: TelegramHarness, fake_api: FakeBotAPI) -> TelegramHarness:
    await telegram.bind(HAO, "郝芳", "liaison")
    fake_api.test_began = len(fake_api.calls)  # type: ignore[attr-defined]
    return telegram


def sender(hao: TelegramHarness, *, max_attempts: int = 8) -> OutboxSender:
    """An outbox sender of its own: what another process (a new leader) would be; with ``max_attempts`` 1, one
    that gives up at the first failure."""
    patience = {"retry_for": timedelta(0)} if max_attempts == 1 else {}
    return OutboxSender(hao.core.db, hao.clock, {"telegram": TelegramTransport(hao.application.bot)},
                        max_attempts=max_attempts, **patience)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [500, 429])
async def test_a_direct_reply_failing_at_its_second_part_resumes_there(hao: TelegramHarness, fake_api: FakeBotAPI,
                                                                       status: int) -> None:
    reply = long_reply()
    sleep = RecordedSleep()
    hao.channel.direct = DirectReplies(hao.core.db, hao.clock, sleep=sleep)
    fake_api.inject_fault("sendMessage", status=status, times=1, after=1)

    await hao.channel.deliver(HAO, Outcome(replies=[reply]))

    failed = fake_api.calls_of("sendMessage", ok=False)
    assert len(failed) == 1 and failed[0]["text"] == split_html(reply.html, TEXT_MAX)[1]
    assert len(sleep.waits) == 1  # one retry, of the rest only
    assert_whole_once(fake_api, reply)
    async with hao.core.db.session() as session:
        assert (await session.scalars(select(OutboxMessage))).all() == []


async def test_a_direct_reply_handed_to_the_outbox_part_way_is_finished_there(hao: TelegramHarness,
                                                                              fake_api: FakeBotAPI) -> None:
    reply, after = long_reply(), Reply(html="第二条回复")
    direct = hao.channel.direct = DirectReplies(hao.core.db, hao.clock, sleep=RecordedSleep(), attempts=2)
    fake_api.inject_fault("sendMessage", status=500, times=2, after=1)  # part 2 fails on both tries

    await hao.channel.deliver(HAO, Outcome(replies=[reply, after]))

    assert delivered(fake_api) == split_html(reply.html, TEXT_MAX)[:1]
    assert direct.stats.to_outbox == 2
    async with hao.core.db.session() as session:
        rows = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
        assert [(r.state, r.parts_sent) for r in rows] == [("pending", 1), ("pending", 0)]

    await sender(hao).drain(10)

    assert delivered(fake_api) == [*split_html(reply.html, TEXT_MAX), "第二条回复"]


async def test_the_outbox_retries_a_notice_from_the_part_that_failed(hao: TelegramHarness,
                                                                     fake_api: FakeBotAPI) -> None:
    reply = long_reply()
    async with hao.core.db.session() as session:
        await outbox.enqueue_for_chat(session, channel="telegram", chat_id=str(HAO), reply=reply, key="long:1",
                                      now=hao.clock.now())
    fake_api.inject_fault("sendMessage", status=502, times=1, after=1)

    first = await sender(hao).run_once()
    assert (first.sent, first.retried) == (0, 1)
    async with hao.core.db.session() as session:
        row = await session.scalar(select(OutboxMessage))
        assert row is not None and (row.state, row.parts_sent) == ("pending", 1)

    hao.clock.advance(seconds=60)
    second = await sender(hao).run_once()  # another sender takes it up, as after a take-over

    assert second.sent == 1
    assert_whole_once(fake_api, reply)


async def test_a_failed_notice_sent_again_by_an_admin_sends_only_what_is_missing(hao: TelegramHarness,
                                                                                  fake_api: FakeBotAPI) -> None:
    reply = long_reply()
    async with hao.core.db.session() as session:
        await outbox.enqueue_for_chat(session, channel="telegram", chat_id=str(HAO), reply=reply, key="long:2",
                                      now=hao.clock.now())
    fake_api.inject_fault("sendMessage", status=500, times=1, after=2)  # the last part fails
    await sender(hao, max_attempts=1).run_once()  # and the sender gives up at once
    async with hao.core.db.session() as session:
        row = await session.scalar(select(OutboxMessage))
        assert row is not None and (row.state, row.parts_sent) == ("failed", 2)
        assert await outbox_views.retry_message(session, message_id=row.id, now=hao.clock.now())

    await sender(hao).run_once()

    assert_whole_once(fake_api, reply)


async def test_a_direct_reply_cut_off_mid_way_goes_on_from_the_part_its_progress_names(hao: TelegramHarness,
                                                                                      fake_api: FakeBotAPI) -> None:
    """What a journal records of a long reply's sending (each message that reached the chat), and a delivery after a
    restart that starts where it stopped: each part once, in order."""
    reply, after = long_reply(), Reply(html="第二条回复")
    transport = TelegramTransport(hao.application.bot)
    went: list[Progress] = []
    fake_api.inject_fault("sendMessage", status=502, delay=60, after=1)  # the second part hangs
    sending = asyncio.create_task(hao.channel.direct.deliver(transport, str(HAO), [reply, after], sent=went.append))
    await until(lambda: bool(went), "the first part sent")
    await asyncio.sleep(0.2)
    sending.cancel()  # the process dies
    with contextlib.suppress(asyncio.CancelledError):
        await sending
    fake_api.clear_faults()
    assert went == [Progress(0, 1)]

    await hao.channel.direct.deliver(transport, str(HAO), [reply, after], start=went[-1], sent=went.append)

    assert went == [Progress(0, 1), Progress(0, 2), Progress(1, 0), Progress(2, 0)]
    assert delivered(fake_api) == [*split_html(reply.html, TEXT_MAX), "第二条回复"]
