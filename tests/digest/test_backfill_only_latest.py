"""A project whose only reports are 补报 the 项目办 entered has no 最近填报 (a 补报 is never its liaison's report),
but its money counts: the bulletin's Excel ledger and the 包抓领导's digest say 「暂无（仅有项目办补报）」 rather than
leaving it blank or 「—」, which next to counted money would read as "nothing was ever reported". A project with
no report at all still shows nothing; a 补报 entered after the cut-off day is not in that period's bulletin."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from bot.domain.periods import parse_period
from bot.render import html_to_plain
from jobs.bulletin_render import Rendered
from storage.audit import Actor
from storage.db import Database
from storage.reports import add_report

from .conftest import District, local
from .test_figures_agree import bulletin, sheet_rows

OCTOBER = parse_period("monthly", "2026-10")  # cut-off Saturday 31 October
ONLY_BACKFILLED = "暂无（仅有项目办补报）"


async def _backfill(district: District, code: str, day: date, made: date) -> None:
    admin = await district.person("管理员")
    async with district.db.session() as session:
        await add_report(session, project_id=district.projects[code], person_id=admin, local_day=day,
                         amount=Decimal(50), progress_text="", photos=[], channel="console", now=local(made, 9),
                         actor=Actor(label="管理员", channel="console"), project_code=code, backfill_reason="漏报")
        await session.commit()


def _rows(rendered: Rendered) -> dict[object, dict[str, object]]:
    return {row["编号"]: row for row in sheet_rows(rendered.files["ledger"].read_bytes(), "项目台账")}


def _digest(rendered: Rendered, district: District, lead: str) -> str:
    return html_to_plain("\n".join(rendered.leaders[district.people[lead]]))


async def test_a_project_with_only_backfills_says_so_where_its_latest_report_is_shown(
        db: Database, district: District, tmp_path: Path) -> None:
    await district.project("ZD2026-001", lead="刘文华", liaison="甲")
    await district.project("ZD2026-002", unit="区交通局", lead="王建国", liaison="乙")
    await district.project("ZD2026-003", unit="区交通局", lead="王建国", liaison="丙")
    await _backfill(district, "ZD2026-001", date(2026, 10, 20), made=date(2026, 10, 22))
    await _backfill(district, "ZD2026-003", date(2026, 10, 28), made=date(2026, 11, 3))  # after the cut-off

    october = await bulletin(db, OCTOBER, tmp_path / "october")
    rows = _rows(october)
    assert rows["ZD2026-001"]["累计完成(万元)"] == 50  # the 补报 counts in the money
    assert rows["ZD2026-001"]["最近填报"] == ONLY_BACKFILLED
    assert rows["ZD2026-002"]["最近填报"] is None  # nothing reported at all
    assert rows["ZD2026-003"]["最近填报"] is None  # its 补报 was made after October's end
    assert "ZD2026-001 项目ZD2026-001：" in _digest(october, district, "刘文华")
    assert f"最近填报 {ONLY_BACKFILLED}" in _digest(october, district, "刘文华")
    others = _digest(october, district, "王建国")
    assert "最近填报 —" in others and ONLY_BACKFILLED not in others

    november = await bulletin(db, parse_period("monthly", "2026-11"), tmp_path / "november")
    assert _rows(november)["ZD2026-003"]["最近填报"] == ONLY_BACKFILLED
