"""The import's summary reads each line's own facts: a year-to-date line says whether its project is new to the
database without looking through the plan's changes (a 50,000-project ledger has as many; the chat's preview
scanning them for each line it lists held the bot for a minute)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from bot.domain.ledger_plan import ImportPlan, YearToDate
from bot.render import Renderer
from bot.services.ledger_import import ImportResult


def test_a_year_to_date_line_says_new_project_by_itself() -> None:
    plan = ImportPlan(as_of=date(2026, 11, 30), as_of_source="file")
    plan.added["project"] = 1
    plan.year_to_date = [YearToDate("ZD2026-901", "新区学校", Decimal(0), Decimal(1200), 0, added=True),
                         YearToDate("ZD2026-001", "城北高速连接线", Decimal(100), Decimal(300), 0)]
    said = Renderer().plain("import_summary", result=ImportResult(plan=plan), dry_run=True, take_file=False, limit=30,
                            issues_listed=50)
    assert "- ZD2026-901 新区学校：本年累计完成 1,200.0 万元（新增项目）" in said, said
    assert "- ZD2026-001 城北高速连接线：本年累计完成 100.0 → 300.0 万元" in said
