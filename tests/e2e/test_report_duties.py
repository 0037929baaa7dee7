"""End to end through Telegram: no nagging where nothing is due. /mine and the 16:00/18:00 reminders follow
one rule (`bot.domain.duties.report_due`): working days of the calendar, projects not yet finished; a
liaison may still report on a rest day.

The frozen clock starts on Friday 2026-11-20 10:00; 郝芳 (1001) is the liaison of ZD2026-001.
"""

from __future__ import annotations

from datetime import datetime, time

import pytest
from sqlalchemy import update

from bot.clock import SHANGHAI
from jobs import reminders
from storage.models import Project
from tests.e2e.harness import TelegramHarness

HAO = 1001
CODE = "ZD2026-001"


@pytest.fixture
async def hao(telegram: TelegramHarness) -> TelegramHarness:
    await telegram.bind(HAO, "郝芳", "liaison")
    return telegram


async def _set_stage(hao: TelegramHarness, stage: str) -> None:
    async with hao.session() as session:
        await session.execute(update(Project).where(Project.code == CODE).values(stage=stage))


async def _remind(hao: TelegramHarness, moment: datetime) -> reminders.ReminderResult:
    hao.clock.set(moment)
    return await reminders.run(hao.core.db, hao.clock.now(), hao.core.deps.renderer, slot=time(16, 0))


async def test_sunday_owes_nothing_but_a_report_is_still_taken(hao: TelegramHarness) -> None:
    hao.clock.set(datetime(2026, 11, 22, 10, 0, tzinfo=SHANGHAI))  # a Sunday

    mine = await hao.send(HAO, "/mine")
    assert "今日未填报" not in mine.text and "⬜" not in mine.text
    assert "今天不是工作日，无需填报" in mine.text and f"➖ {CODE}" in mine.text

    saved = await hao.send(HAO, f"/report {CODE} 850 周末抢工")
    assert "已记录" in saved.text
    assert f"✅ {CODE}" in (await hao.send(HAO, "/mine")).text
    assert (await _remind(hao, datetime(2026, 11, 22, 16, 0, tzinfo=SHANGHAI))).skipped == "not a working day"


async def test_a_finished_project_owes_no_report_and_gets_no_reminder(hao: TelegramHarness) -> None:
    assert "郝芳" in (await _remind(hao, datetime(2026, 11, 20, 16, 0, tzinfo=SHANGHAI))).reminded
    await _set_stage(hao, "竣工")

    mine = await hao.send(HAO, "/mine")
    assert "今日未填报" not in mine.text
    assert f"➖ {CODE} 城北高速连接线（竣工，无需填报）" in mine.text
    hao.clock.set(datetime(2026, 11, 23, 16, 0, tzinfo=SHANGHAI))  # Monday
    assert "郝芳" not in (await _remind(hao, hao.clock.now())).reminded


async def test_a_working_weekday_still_asks(hao: TelegramHarness) -> None:
    mine = await hao.send(HAO, "/mine")

    assert f"⬜ {CODE} 城北高速连接线（今日未填报）" in mine.text
    assert "无需填报" not in mine.text
