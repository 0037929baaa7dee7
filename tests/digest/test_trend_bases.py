"""A lead official's 4-week trend leaves out the points a ledger base of one of his projects blurs (dated before
the base's day, they hold the base whole) and says so under it, in the words of the bulletins' base note; a
leader whose projects have no such base sees every point and no note. Each point counts his projects entered
by its day, as that week's bulletin did."""

from __future__ import annotations

import functools
from datetime import date, datetime, timedelta
from pathlib import Path

from bot.clock import SHANGHAI
from bot.domain.digest_settings import DigestSettings
from bot.domain.periods import parse_period
from bot.domain.standings import totals
from bot.domain.trend import TrendPoint, bases_entered, counted_bases, unblurred
from bot.domain.workdays import WorkCalendar
from bot.render import Renderer, html_to_plain
from bot.services.standings import project_standings
from jobs.bulletin_render import render_bulletin
from storage.db import Database

from .conftest import District

MID_MARCH = date(2026, 3, 18)
NOTE = "注：1 个项目的年度台账截至3月18日，3月18日前各周的完成率含截至台账日期完成的投资、无法单列，未列出。"


def _point(day: date) -> TrendPoint:
    return TrendPoint(day, done=0, rate=None, schedule=0.0)  # type: ignore[arg-type]


def test_points_before_a_base_day_are_left_out() -> None:
    points = [_point(date(2026, 3, d)) for d in (8, 15, 22, 29)]
    kept, bases = unblurred(points, {MID_MARCH: 2, date(2026, 3, 1): 5})
    assert [p.day for p in kept] == [date(2026, 3, 22), date(2026, 3, 29)]
    assert bases.later == ((MID_MARCH, 2),)  # the base of 1 March blurs none of them
    kept, bases = unblurred(points, {date(2026, 3, 8): 1})  # dated on the first point: every point is exact
    assert kept == points and not bases
    kept, bases = unblurred(points, {date(2026, 4, 2): 1, MID_MARCH: 1})
    assert kept == [] and bases.later == ((MID_MARCH, 1), (date(2026, 4, 2), 1))


def test_a_base_blurs_only_the_points_that_count_its_project() -> None:
    """B, entered on 20 March with its ledger as of 18 March, is in no point before: its base leaves none out; A,
    entered long ago and re-imported with a base of 25 March, leaves out the points before that day."""
    points = [_point(date(2026, 3, d)) for d in (8, 15, 22, 29)]
    entered = {"A": None, "B": date(2026, 3, 20)}
    counted = functools.partial(counted_bases, bases_entered({"B": MID_MARCH}, entered))
    kept, bases = unblurred(points, counted)
    assert kept == points and not bases
    counted = functools.partial(counted_bases, bases_entered({"A": date(2026, 3, 25), "B": MID_MARCH}, entered))
    kept, bases = unblurred(points, counted)
    assert [p.day for p in kept] == [date(2026, 3, 29)] and bases.later == ((date(2026, 3, 25), 1),)


async def test_a_leaders_trend_leaves_out_what_his_base_blurs(db: Database, district: District,
                                                              tmp_path: Path) -> None:
    wang = await district.person("王区长")
    li = await district.person("李区长")
    await district.project("ZD2026-001", plan="10000", done_before="3000", baseline_date=MID_MARCH, lead="王区长")
    await district.project("ZD2026-002", plan="10000", lead="王区长")
    await district.project("ZD2026-003", plan="10000", lead="李区长")
    await district.reports("ZD2026-002", (date(2026, 3, 10), "100"), (date(2026, 3, 25), "100"))
    await district.reports("ZD2026-003", (date(2026, 3, 10), "100"))
    async with db.session() as session:
        rendered = await render_bulletin(session, Renderer(), period=parse_period("weekly", "2026-W13"),
                                         calendar=WorkCalendar(), settings=DigestSettings(), out_dir=tmp_path)
    wangs = html_to_plain("".join(rendered.leaders[wang])).splitlines()
    trend = next(line for line in wangs if line.startswith("📈"))
    assert "3月8日" not in trend and "3月15日" not in trend  # 15.5% then: the base of 18 March whole
    assert "3月22日 15.5%" in trend and "3月29日 16.0%" in trend
    assert wangs[wangs.index(trend) + 1] == NOTE
    lis = html_to_plain("".join(rendered.leaders[li])).splitlines()
    trend = next(line for line in lis if line.startswith("📈"))
    assert "3月8日 0.0%" in trend and "3月15日 1.0%" in trend and not any(line.startswith("注：") for line in lis)


async def test_a_leaders_change_line_notes_his_base_dated_after_the_previous_week(db: Database, district: District,
                                                                                  tmp_path: Path) -> None:
    wang = await district.person("王区长")
    li = await district.person("李区长")
    await district.project("ZD2026-001", plan="10000", done_before="3000", baseline_date=MID_MARCH, lead="王区长")
    await district.project("ZD2026-003", plan="10000", lead="李区长")
    await district.reports("ZD2026-003", (date(2026, 3, 10), "100"))
    async with db.session() as session:  # 16-22 March: its 较上期 is measured from 15 March, before the base
        rendered = await render_bulletin(session, Renderer(), period=parse_period("weekly", "2026-W12"),
                                         calendar=WorkCalendar(), settings=DigestSettings(), out_dir=tmp_path)
    wangs = html_to_plain("".join(rendered.leaders[wang])).splitlines()
    assert ("注：1 个项目的年度台账截至3月18日，晚于上期截止日3月15日：上期数按现台账计，已含上期截止日后至台账日期"
            "完成的投资，较上期变化不含这部分、无法单列。") in wangs
    assert not any("上期截止日" in line for line in html_to_plain("".join(rendered.leaders[li])).splitlines())


async def test_a_leaders_trend_counts_at_each_point_the_projects_entered_by_then(
        db: Database, district: District, tmp_path: Path) -> None:
    wang = await district.person("王区长")
    await district.project("ZD2026-001", plan="1000", lead="王区长")
    # imported on Tuesday 10 November, between the trend's second and third points
    await district.project("ZD2026-002", plan="3000", lead="王区长", entered=datetime(2026, 11, 10, 9, tzinfo=SHANGHAI))
    await district.reports("ZD2026-001", (date(2026, 10, 20), "100"), (date(2026, 11, 3), "50"),
                           (date(2026, 11, 17), "50"))
    await district.reports("ZD2026-002", (date(2026, 11, 12), "300"))
    async with db.session() as session:
        rendered = await render_bulletin(session, Renderer(), period=parse_period("weekly", "2026-W47"),
                                         calendar=WorkCalendar(), settings=DigestSettings(), out_dir=tmp_path)
        # each point as that week's bulletin counted his projects: those entered by its Sunday
        weeks = [await project_standings(session, cutoff=day, window_start=day - timedelta(days=6),
                                         calendar=WorkCalendar(), entered_by=day)
                 for day in (date(2026, 11, 1), date(2026, 11, 8), date(2026, 11, 15), date(2026, 11, 22))]
    assert [totals(week).rate for week in weeks] == [0.1, 0.15, 450 / 4000, 500 / 4000]
    trend = next(line for line in html_to_plain("".join(rendered.leaders[wang])).splitlines()
                 if line.startswith("📈"))
    assert [point.split("（")[0] for point in trend.split("：", 1)[1].split(" → ")] == [
        "11月1日 10.0%", "11月8日 15.0%", "11月15日 11.3%", "11月22日 12.5%"]


async def test_a_base_of_a_project_entered_after_a_point_does_not_leave_that_point_out(
        db: Database, district: District, tmp_path: Path) -> None:
    """ZD2026-002, imported on Tuesday 10 November with its ledger as of Thursday 5, is in none of the points before
    its import: its base, dated after the first point, blurs none of them (each counts his projects entered by its
    day), so that point is kept and no note is written."""
    wang = await district.person("王区长")
    await district.project("ZD2026-001", plan="1000", lead="王区长")
    await district.project("ZD2026-002", plan="3000", lead="王区长", done_before="600",
                           baseline_date=date(2026, 11, 5), entered=datetime(2026, 11, 10, 9, tzinfo=SHANGHAI))
    await district.reports("ZD2026-001", (date(2026, 10, 20), "100"), (date(2026, 11, 3), "50"),
                           (date(2026, 11, 17), "50"))
    await district.reports("ZD2026-002", (date(2026, 11, 12), "300"))
    async with db.session() as session:
        rendered = await render_bulletin(session, Renderer(), period=parse_period("weekly", "2026-W47"),
                                         calendar=WorkCalendar(), settings=DigestSettings(), out_dir=tmp_path)
    wangs = html_to_plain("".join(rendered.leaders[wang])).splitlines()
    trend = next(line for line in wangs if line.startswith("📈"))
    assert [point.split("（")[0] for point in trend.split("：", 1)[1].split(" → ")] == [
        "11月1日 10.0%", "11月8日 15.0%", "11月15日 26.3%", "11月22日 27.5%"], trend
    assert not any(line.startswith("注：") and "台账截至11月5日" in line for line in wangs), wangs
