"""补报 of a day before the project was entered in the ledger (imported on 2026-12-20): no report was owed then
(填报率 and the streaks count a project's duty from the day it was entered), and the ledger's 截至 figure already
holds what was done before. Such a day is refused, as a day off is, and nothing is stored."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from bot.config import Settings
from storage.models import Report
from tests.e2e.harness import TelegramHarness
from tests.e2e.test_backfill import ADMIN_NAME, CODE
from tests.e2e.test_digests import PEOPLE, Office
from tests.e2e.test_year_turn import ADMIN, at, data_dir, december, settings  # noqa: F401  (fixtures)


async def _report_count(tg: TelegramHarness) -> int:
    async with tg.session() as session:
        return int(await session.scalar(select(func.count()).select_from(Report)) or 0)


async def test_a_day_before_the_project_was_entered_is_not_backfilled(
        december: TelegramHarness, settings: Settings) -> None:  # noqa: F811
    office = Office(december, settings)
    tg = december
    await office.setup(*PEOPLE)
    await tg.bind(ADMIN, ADMIN_NAME, "admin")
    office.travel(at(date(2026, 12, 22), 10))
    card_before = (await tg.send(ADMIN, f"/project {CODE}")).text
    stored = await _report_count(tg)
    for day in ("2026-11-02", "2021-06-01"):  # working days, weeks and years before the ledger was imported
        asked = await tg.send(ADMIN, f"/correct {CODE} {day} 300 主体施工 理由：漏报")
        assert "确认补报" not in asked.buttons, (day, asked)
        if "确认补报" in asked.buttons:
            await tg.press(ADMIN, "确认补报")
    assert await _report_count(tg) == stored
    assert (await tg.send(ADMIN, f"/project {CODE}")).text == card_before
