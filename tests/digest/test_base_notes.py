"""A ledger base counts on every day of its year, so a bulletin cannot split it at a period's edge: a month the
ledger's 截至 day falls in has a 本期 without what the base holds of that month, and a period measured before the
base's day has a 年度累计 holding money done after it. Such a bulletin says so, in the same words in its text,
its Word document and its Excel ledger (a first sheet 说明); one whose figures are exact says nothing."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

from openpyxl import load_workbook

from bot.domain.digest_settings import DigestSettings
from bot.domain.periods import parse_period
from bot.domain.stage_events import DAY_TYPED, FINISH, StageMove
from bot.domain.workdays import WorkCalendar
from bot.domain.year_to_date import base_days
from bot.render import Renderer
from jobs.bulletin_render import Rendered, render_bulletin
from storage import stage_events
from storage.db import Database

from .conftest import District, bulletin_notes, local

MID_MARCH = date(2026, 3, 18)
WITHIN = ("注：2 个项目的年度台账截至3月18日，3月1日至3月18日完成的投资含在台账累计数中、无法单列，计入年度累计，"
          "未计入本期完成投资。")
LATER = ("注：2 个项目的年度台账截至3月18日，晚于本期截止日2月28日：年度累计含截止日后至3月18日完成的投资，"
         "本期完成投资不含台账累计数中本期的部分，均无法单列。")


def changed(since: str) -> str:
    """The note under a 较上期 measured from ``since`` across the base of 18 March."""
    return (f"注：2 个项目的年度台账截至3月18日，晚于上期截止日{since}：上期数按现台账计，已含上期截止日后至台账日期"
            "完成的投资，较上期变化不含这部分、无法单列。")


def test_which_bases_a_period_cannot_split() -> None:
    days = {MID_MARCH: 2, date(2026, 2, 28): 1, date(2025, 12, 31): 4}
    march = base_days(days, start=date(2026, 3, 1), cutoff=date(2026, 3, 31), opens_year=False)
    assert march.within == ((MID_MARCH, 2),) and march.later == ()
    quarter = base_days(days, start=date(2026, 1, 1), cutoff=date(2026, 3, 31), opens_year=True)
    assert not quarter  # its 本期 is the year-to-date: every base whole, none after it
    february = base_days(days, start=date(2026, 2, 1), cutoff=date(2026, 2, 28), opens_year=False)
    assert february.within == ((date(2026, 2, 28), 1),) and february.later == ((MID_MARCH, 2),)
    assert not base_days(days, start=date(2026, 4, 1), cutoff=date(2026, 4, 30), opens_year=False)


async def _bulletin(db: Database, kind: str, name: str, out: Path) -> Rendered:
    async with db.session() as session:
        return await render_bulletin(session, Renderer(), period=parse_period(kind, name), calendar=WorkCalendar(),
                                     settings=DigestSettings(), out_dir=out)


async def test_a_bulletin_says_which_figures_a_base_leaves_unsplit(db: Database, district: District,
                                                                   tmp_path: Path) -> None:
    for code in ("ZD2026-001", "ZD2026-002"):
        await district.project(code, plan="10000", done_before="3000", baseline_date=MID_MARCH)
    await district.project("ZD2026-003", plan="10000", done_before="0", baseline_date=MID_MARCH)  # hides nothing
    await district.reports("ZD2026-001", (date(2026, 3, 10), "50"), (date(2026, 3, 20), "40"))

    march = await _bulletin(db, "monthly", "2026-03", tmp_path / "march")
    assert "本期完成投资 40.0 万元" in march.text  # the report of 10 March is in the base, the one of 20 March is not
    assert bulletin_notes(march) == ([WITHIN, changed("2月28日")],) * 3
    book = load_workbook(io.BytesIO(march.files["ledger"].read_bytes()))
    assert book.sheetnames[0] == "说明" and book.active.title == "说明"

    february = await _bulletin(db, "monthly", "2026-02", tmp_path / "february")
    assert bulletin_notes(february) == ([LATER, changed("1月31日")],) * 3

    # A weekly bulletin prints no 本期: only a base dated after its week is noted, and its 较上期 (since 15 March)
    # across the base of 18 March, re-imported mid-week
    week = await _bulletin(db, "weekly", "2026-W12", tmp_path / "w12")  # 16-22 March
    assert bulletin_notes(week) == ([changed("3月15日")], [], [changed("3月15日")])
    earlier = await _bulletin(db, "weekly", "2026-W09", tmp_path / "w09")  # 23 February - 1 March
    later_week = ("注：2 个项目的年度台账截至3月18日，晚于本期截止日3月1日：年度累计含截止日后至3月18日完成的投资，"
                  "无法单列。")
    assert bulletin_notes(earlier)[0] == [later_week, changed("2月22日")] == bulletin_notes(earlier)[2]
    after = await _bulletin(db, "weekly", "2026-W13", tmp_path / "w13")  # 23-29 March: the base is in both weeks
    assert bulletin_notes(after) == ([], [], [])

    # Exact figures, nothing to say: the quarter opening the year counts the base whole (and has no 较上期 in the
    # year before), April starts after it.
    for kind, name in (("quarterly", "2026-Q1"), ("monthly", "2026-04")):
        rendered = await _bulletin(db, kind, name, tmp_path / name)
        assert bulletin_notes(rendered) == ([], [], []), name
        assert load_workbook(io.BytesIO(rendered.files["ledger"].read_bytes())).sheetnames[0] == "项目台账"


UNDATED = ("注：1 个项目竣工较早、未登记竣工日期，各期统计均按已竣工计"
           "（计入竣工率，不再督促、预警，未完成节点不计逾期）；在台账「竣工日期」列填写后导入即可补记。")


async def test_a_bulletin_says_how_many_projects_are_finished_with_no_finish_day_known(
        db: Database, district: District, tmp_path: Path) -> None:
    """ZD2026-001 was finished before the finish days were recorded (none in the audit trail either): read as
    finished on every day, which the text, the Word document and the 说明 sheet say; ZD2026-002, finished on a
    recorded day, is not counted."""
    await district.project("ZD2026-001", stage="竣工")
    await district.project("ZD2026-002", stage="竣工")
    await district.project("ZD2026-003")
    async with db.session() as session:
        await stage_events.record_moves(session, [StageMove(district.projects["ZD2026-002"], FINISH,
                                                            date(2026, 3, 2), DAY_TYPED)],
                                        person_id=None, now=local(date(2026, 3, 2)))

    march = await _bulletin(db, "monthly", "2026-03", tmp_path / "march")
    assert bulletin_notes(march) == ([UNDATED], [UNDATED], [UNDATED])
    week = await _bulletin(db, "weekly", "2026-W12", tmp_path / "w12")
    assert bulletin_notes(week)[0] == [UNDATED] and bulletin_notes(week)[2] == [UNDATED]
