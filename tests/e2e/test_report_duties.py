"""End to end through Telegram: no nagging where nothing is due. /mine and the 16:00/18:00 reminders follow
one rule (`bot.domain.duties.report_due`): working days of the calendar, projects not yet finished; a
liaison may still report on a rest day.

The frozen clock starts on Friday 2026-11-20 10:00; 郝芳 (1001) is the liaison of ZD2026-001.
"""

from __future__ import annotations

import io
from datetime import datetime, time

import openpyxl
import pytest
from sqlalchemy import update

from bot.clock import SHANGHAI
from jobs import reminders
from storage.models import Project
from tests.e2e.harness import TelegramHarness

HAO, ADMIN = 1001, 9001
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


async def _unit_punctuality(hao: TelegramHarness, unit: str) -> float:
    """The unit's 填报及时率 in the workbook /export sends (this week so far)."""
    replies = await hao.send(ADMIN, "/export")
    [document] = [c for c in replies.calls if c.method == "sendDocument" and c.ok]
    sheet = openpyxl.load_workbook(io.BytesIO(document.files["document"]), read_only=True)["单位排名"]
    header, *rows = list(sheet.iter_rows(values_only=True))
    [row] = [r for r in rows if r[header.index("牵头单位")] == unit]
    return float(row[header.index("填报及时率")])


async def test_a_finished_project_does_not_lower_its_units_punctuality(hao: TelegramHarness) -> None:
    """区住建局 leads ZD2026-001, -016 and -031, all 在建. 郝芳 reports ZD2026-001 every working day of the week
    of 11-23; nobody reports the other two: on Saturday, 5 of 15 due days. Once the admin sets them 竣工 from the
    Sunday before, they owe nothing that week, and the unit's 按时填报 is 5 of 5 (the same rule as /mine and the
    reminders).

    The week after the ledger's import (Friday 11-20, the day the projects were entered): the week of 11-16 owed
    only its Friday, and /rank counts a day once it is over (the day under way owes nothing yet), so the
    reports of that week could show no 5 of 15 (the old 5/15 was 1 of 3, Friday alone, counted while under way)."""
    await hao.bind(ADMIN, "管理员(区重大项目办)", "admin")
    for day, amount in [(23, 100), (24, 120), (25, 80), (26, 90), (27, 60)]:
        hao.clock.set(datetime(2026, 11, day, 17, 0, tzinfo=SHANGHAI))
        assert "已记录" in await hao.send(HAO, f"/report {CODE} {amount} 主体施工")
    hao.clock.set(datetime(2026, 11, 28, 10, 0, tzinfo=SHANGHAI))  # Saturday: the working days are over
    assert await _unit_punctuality(hao, "区住建局") == pytest.approx(5 / 15)

    for code in ("ZD2026-016", "ZD2026-031"):
        asked = await hao.send(ADMIN, f"/project_set {code} 阶段 竣工 2026-11-22")
        if "确认修改" in asked.buttons:
            asked = await hao.press(ADMIN, "确认修改")
        assert "竣工" in asked.text
    assert await _unit_punctuality(hao, "区住建局") == 1.0


async def test_mine_for_the_whole_district_counts_and_names_the_first_missing(hao: TelegramHarness) -> None:
    """A 区长 (or an admin) follows every project: /mine counts today's reports for the district and names the
    first 20 projects still missing one, with their liaison, in one message, not a line per project."""
    await hao.bind(5001, "王立军", "top")
    await hao.bind(ADMIN, "管理员(区重大项目办)", "admin")
    assert "已记录" in (await hao.send(HAO, f"/report {CODE} 500 路基施工")).text
    for who in (5001, ADMIN):
        mine = await hao.send(who, "/mine")
        assert len(mine.messages) == 1, mine
        text = mine.text
        # 42 projects: 3 finished (竣工) owe nothing; 郝芳 has reported ZD2026-001.
        assert "<b>全区项目今日填报</b>（2026-11-20）：" in text, text
        assert "共 42 个项目，今日应填报 39 个，已填报 1 个，未填报 38 个。" in text, text
        missing = [line for line in text.splitlines() if line.startswith("⬜ ")]
        assert len(missing) == 20 and missing[0] == "⬜ ZD2026-002 滨江四期沿江路（联络员 武杰）", missing
        assert CODE not in text and "等 38 个。" in text and "/rank 填报" in text
    liaison = await hao.send(HAO, "/mine")  # a liaison's own list is unchanged
    assert "<b>我的项目</b>（2026-11-20）：" in liaison.text and "✅ ZD2026-001" in liaison.text, liaison
