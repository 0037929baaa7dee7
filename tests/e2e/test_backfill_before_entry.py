"""补报 of a day before the project was entered in the ledger (imported on 2026-12-20): no report was owed then
(填报率 and the streaks count a project's duty from the day it was entered), and the ledger's 截至 figure already
holds what was done before. Such a day is refused, as a day off is, and nothing is stored. So is a day the
ledger's dated 累计完成 already holds (the 2027 ledger, 截至 2027-01-07): a report there would never count."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from bot.config import Settings
from storage.models import Report
from tests.admin.test_admin_import import send_document
from tests.e2e.harness import TelegramHarness
from tests.e2e.test_backfill import ADMIN_NAME, CODE
from tests.e2e.test_digests import PEOPLE, Office
from tests.e2e.test_year_turn import ADMIN, at, data_dir, december, ledger_2027, settings  # noqa: F401  (fixtures)


async def _report_count(tg: TelegramHarness) -> int:
    async with tg.session() as session:
        return int(await session.scalar(select(func.count()).select_from(Report)) or 0)


async def _office(tg: TelegramHarness, settings: Settings) -> Office:  # noqa: F811
    """The people of the sample ledger bound, and the admin."""
    office = Office(tg, settings)
    await office.setup(*PEOPLE)
    await tg.bind(ADMIN, ADMIN_NAME, "admin")
    return office


async def test_a_day_before_the_project_was_entered_is_not_backfilled(
    december: TelegramHarness,  # noqa: F811
    settings: Settings,  # noqa: F811
) -> None:
    tg = december
    office = await _office(tg, settings)
    office.travel(at(date(2026, 12, 22), 10))
    card_before = (await tg.send(ADMIN, f"/project {CODE}")).text
    stored = await _report_count(tg)
    for day in ("2026-11-02", "2021-06-01"):  # working days, weeks and years before the ledger was imported
        asked = await tg.send(ADMIN, f"/correct {CODE} {day} 300 主体施工 理由：漏报")
        assert "确认补报" not in asked.buttons, (day, asked)
        if "确认补报" in asked.buttons:
            await tg.press(ADMIN, "确认补报")
        # why, and the first day that may be entered (the import's Sunday owed nothing: the Monday after it)
        assert f"2026-12-20 才录入项目台账，{day} 还不需要填报，无从补报" in asked.text, asked
        assert "最早可补报 2026-12-21。" in asked.text, asked
    assert await _report_count(tg) == stored
    assert (await tg.send(ADMIN, f"/project {CODE}")).text == card_before


async def test_a_day_the_ledgers_dated_figure_holds_is_not_backfilled(
    december: TelegramHarness,  # noqa: F811
    settings: Settings,  # noqa: F811
) -> None:
    tg = december
    office = await _office(tg, settings)
    office.travel(at(date(2027, 1, 8), 10))
    assert "请发送项目台账文件" in (await tg.send(ADMIN, "/import")).text
    assert "导入预览" in (await send_document(tg, ADMIN, "2027年台账.xlsx", ledger_2027())).text
    assert "导入完成" in (await tg.press(ADMIN, "确认")).text
    office.travel(at(date(2027, 1, 12), 10))
    stored = await _report_count(tg)
    refused = await tg.send(ADMIN, f"/correct {CODE} 2027-01-06 300 主体施工 理由：漏报")
    assert "确认补报" not in refused.buttons, refused
    assert "2027 年台账累计完成截至 2027-01-07，已包含 2027-01-06 完成的投资" in refused.text, refused
    assert "最早可补报 2027-01-08。" in refused.text, refused
    assert await _report_count(tg) == stored
    # the first day after the 截至 day is the office's to enter
    asked = await tg.send(ADMIN, f"/correct {CODE} 2027-01-08 300 主体施工 理由：漏报")
    assert "确认补报" in asked.buttons, asked
    assert "已取消补报" in await tg.press(ADMIN, "取消")


async def test_a_project_with_only_backfills_says_so_on_its_card(
    december: TelegramHarness,  # noqa: F811
    settings: Settings,  # noqa: F811
) -> None:
    """Entered on 2026-12-20, the project's only report is the 项目办's 补报 of 12-21: the card's 最近填报 says
    so instead of 「暂无」 next to the money it counts, and the 补报 is still not its latest report."""
    tg = december
    office = await _office(tg, settings)
    office.travel(at(date(2026, 12, 22), 10))
    assert "最近填报：暂无\n" in (await tg.send(ADMIN, f"/project {CODE}")).text + "\n"
    asked = await tg.send(ADMIN, f"/correct {CODE} 2026-12-21 300 主体施工 理由：联络员出差")
    assert "确认补报" in asked.buttons, asked
    await tg.press(ADMIN, "确认补报")
    card = (await tg.send(ADMIN, f"/project {CODE}")).text
    assert "最近填报：暂无（仅有项目办补报）" in card, card
