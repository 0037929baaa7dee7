"""What Telegram itself makes hard, through the real python-telegram-bot Application and the fake Bot API: page
buttons of a search too long for a button's data, forum topics, and a user pressing and typing what the bot
does not expect.

郝芳 (1001) is the liaison of ZD2026-001; the clock is Friday 2026-11-20 10:00, a working day.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.models import Project
from tests.e2e.harness import TelegramHarness

HAO = 1001
LONG_WORDS = "城市更新老旧小区改造提升工程配套基础设施"  # 20 characters, 60 bytes of UTF-8


@pytest.fixture
async def tg(telegram: TelegramHarness) -> TelegramHarness:
    await telegram.bind(HAO, "郝芳")
    return telegram


async def _name_projects(tg: TelegramHarness, words: str, count: int) -> None:
    async with tg.session() as session:
        projects = (await session.scalars(select(Project).order_by(Project.code).limit(count))).all()
        for project in projects:
            project.name = f"{words}{project.name}"


async def test_a_search_too_long_for_a_button_still_pages_and_an_old_one_says_it_expired(tg: TelegramHarness) -> None:
    await _name_projects(tg, LONG_WORDS, 12)
    first = await tg.send(HAO, f"/project {LONG_WORDS}")
    assert "第 1/2 页" in first.text, first
    assert "下一页" in first.buttons, first.buttons  # the words are kept by the bot, the button carries a key
    second = await tg.press(HAO, "下一页")
    assert "第 2/2 页" in second.text and LONG_WORDS in second.text, second
    assert "上一页" in second.buttons
    back = await tg.press(HAO, "上一页")
    assert "第 1/2 页" in back.text
    tg.clock.advance(days=31)
    expired = await tg.press(HAO, "下一页")
    assert "已过期" in expired.text and "/project" in expired.text, expired
    tg.assert_nothing_failed()
