"""A ledger dated 截至 today, imported in the morning, must not hold the reports sent later that day: a base counts
up to the end of its day (bot.domain.year_to_date.counts), so a report of today after the import would be in it
and never count. The import refuses a 截至 day after today; today itself is not over either."""

from __future__ import annotations

import io
from datetime import date

import openpyxl

from bot.config import Settings
from tests.admin.test_admin_import import send_document
from tests.e2e.harness import TelegramHarness
from tests.e2e.test_digests import WU, Office
from tests.e2e.test_district_month_figures import (  # noqa: F401 (fixtures)
    ADMIN,
    _wu_reports,
    at,
    district,
    ledger_as_of_december_14,
    settings,
)


async def test_a_ledger_dated_today_does_not_swallow_a_report_sent_later_that_day(
    district: TelegramHarness,  # noqa: F811
    settings: Settings,  # noqa: F811
) -> None:
    tg = district
    office = Office(tg, settings)
    await _wu_reports(tg, office, on_the_4th="150")

    office.travel(at(date(2026, 12, 15), 10))
    await tg.send(ADMIN, "/import")
    book = openpyxl.load_workbook(io.BytesIO(ledger_as_of_december_14()))
    book["重点项目包抓责任分解表"]["A1"] = "2026年全区重点项目包抓责任分解表(截至2026年12月15日)"
    out = io.BytesIO()
    book.save(out)
    preview = await send_document(tg, ADMIN, "台账.xlsx", out.getvalue())
    assert "标题或表头注明累计完成截至 2026-12-15，今天尚未过完" in preview.text, preview.text
    if "确认" in preview.buttons:
        await tg.press(ADMIN, "确认")
    office.travel(at(date(2026, 12, 15), 15))
    saved = await tg.send(WU, "/report ZD2026-002 100 清表")
    assert "年度累计完成：550.0 万元" in saved.text, (preview.text, saved.text)
