"""A channel journaling how far a reply went (``on_sent``) is told of each message as soon as it reached the chat,
before anything else is awaited: a file sent to a group is recorded sent before the group's rights are noted
(a database round trip, maybe a Bot API call), so that a stop or a crash meanwhile does not send it twice.
The real ``telegram.Bot`` against the fake Bot API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from telegram import Bot

from bot.channels.base import Attachment
from bot.channels.telegram_transport import TelegramTransport
from bot.domain.messages import Reply
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.ptb_bot import bot_on
from tests.polling import until

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
GROUP = "-100777"


class SlowRights:
    """Group rights whose noting of what a send found takes as long as the test wants."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.told: list[str] = []

    async def allowed(self, chat_id: str, what: str) -> None:
        self.told.append(what)
        await self.release.wait()

    async def refused(self, chat_id: str, what: str) -> None:
        await self.release.wait()

    async def moved(self, chat_id: str, new_chat_id: str) -> None:
        return None


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(seed=5) as server:
        yield server


@pytest.fixture
async def bot(fake: FakeBotAPI) -> AsyncIterator[Bot]:
    async with bot_on(fake) as real_bot:
        yield real_bot


async def test_a_file_sent_to_a_group_is_told_sent_before_the_groups_rights_are_noted(
        bot: Bot, fake: FakeBotAPI, tmp_path: Path) -> None:
    (tmp_path / "chart.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 64)
    rights = SlowRights()
    transport = TelegramTransport(bot, files_root=tmp_path, rights=rights)  # type: ignore[arg-type]
    went: list[tuple[int, int]] = []
    reply = Reply(html="本周通报图表", attachment=Attachment("photo", "chart.png"))
    sending = asyncio.create_task(transport.send(GROUP, reply, on_sent=lambda done, of: went.append((done, of))))
    try:
        await until(lambda: bool(rights.told), "the photo in the group")
        assert fake.calls_of("sendPhoto", ok=True) or fake.calls_of("sendDocument", ok=True)
        assert went == [(1, 1)]  # the photo reached the chat: recorded before anything else is awaited
    finally:
        rights.release.set()
        await sending
