"""Through the real PTB Application and the fake Bot API: an edited message is not read again, and the
sender is told how to correct a report; a person the outbox marked as having blocked the bot is served
again as soon as they write to it.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.channels.telegram_transport import TelegramTransport
from bot.domain.messages import Reply
from bot.services.outbox import OutboxSender
from storage import outbox
from storage.models import ChatAccount, OutboxMessage, Report
from tests.e2e.harness import TelegramHarness
from tests.fakes.bot_api import FakeBotAPI

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
HAO = 1001
GROUP = -4001


async def reports(tg: TelegramHarness) -> int:
    async with tg.session() as session:
        return int(await session.scalar(select(func.count()).select_from(Report)) or 0)


@pytest.fixture
async def hao(telegram: TelegramHarness) -> TelegramHarness:
    await telegram.bind(HAO, "郝芳", "liaison")
    return telegram


async def test_an_edited_report_is_not_read_and_the_sender_is_told_how_to_correct(hao: TelegramHarness) -> None:
    assert "已记录填报" in await hao.send(HAO, "/report ZD2026-001 850万 桩基完成")
    before = await reports(hao)

    replies = await hao.edit(HAO, "/report ZD2026-001 950万 桩基完成")

    assert len(replies.messages) == 1
    assert "不会被重新读取" in replies.text and "/undo" in replies.text and "/correct" in replies.text
    assert await reports(hao) == before


async def test_an_edit_in_a_group_is_left_alone(hao: TelegramHarness) -> None:
    mark = len(hao.fake.calls)
    await hao.edit(HAO, "大家好,改一下", chat_id=GROUP)
    assert not [c for c in hao.fake.calls[mark:] if c.method.startswith("send")]


async def test_a_person_marked_blocked_is_served_again_once_they_write(hao: TelegramHarness,
                                                                       fake_api: FakeBotAPI) -> None:
    sender = OutboxSender(hao.core.db, hao.clock, {"telegram": TelegramTransport(hao.application.bot)})
    async with hao.session() as session:
        account = await session.scalar(select(ChatAccount).where(ChatAccount.external_id == str(HAO)))
        assert account is not None
        await outbox.enqueue_for_person(session, person_id=account.person_id, reply=Reply(html="第一条通知"),
                                        key="n:1", now=hao.clock.now())
    fake_api.inject_fault("sendMessage", status=403, times=1)  # she blocked the bot
    assert (await sender.drain(5)).undeliverable == 1
    async with hao.session() as session:
        account = await session.scalar(select(ChatAccount).where(ChatAccount.external_id == str(HAO)))
        assert account is not None and account.blocked_at is not None

    answer = await hao.send(HAO, "/mine")  # she unblocked it and writes again

    assert "ZD2026-001" in answer and "绑定" not in answer  # served as herself, not as a stranger
    async with hao.session() as session:
        account = await session.scalar(select(ChatAccount).where(ChatAccount.external_id == str(HAO)))
        assert account is not None and account.blocked_at is None
        await outbox.enqueue_for_person(session, person_id=account.person_id, reply=Reply(html="第二条通知"),
                                        key="n:2", now=hao.clock.now())
    assert (await sender.drain(5)).sent == 1
    assert fake_api.texts(HAO)[-1] == "第二条通知"
    async with hao.session() as session:
        states = (await session.scalars(select(OutboxMessage.state).order_by(OutboxMessage.id))).all()
    assert states[-1] == "sent"
