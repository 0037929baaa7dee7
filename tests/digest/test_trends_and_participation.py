"""A leader's 4-week trend and 填报率 read from the database (SQLite, and PostgreSQL when configured), held to
the standings they must agree with: year-to-date at each week's end is the standings' of that day, and a
unit's 填报率 for a week is its punctuality (按时填报) that week."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

import storage.project_figures
from bot.clock import SHANGHAI
from bot.domain.trend import recent_trend, recent_week_ends
from bot.domain.workdays import WorkCalendar
from bot.services.participation import load_participation
from bot.services.standings import compute_standings, project_standings
from storage.db import Database
from storage.leaves import add_leave
from storage.report_figures import counted_after

from .conftest import CUTOFF, MONDAY, District

CALENDAR = WorkCalendar()


async def test_the_trend_is_year_to_date_at_each_weeks_end(db: Database, district: District) -> None:
    """P1's baseline (300, as of 11/03) covers its 11/02 report; a withdrawn report never counts."""
    await district.project("P1", plan="1000", done_before="300", baseline_date=date(2026, 11, 3))
    await district.project("P2", plan="3000")
    await district.reports("P1", (date(2026, 11, 2), "50"), (date(2026, 11, 5), "40"), (date(2026, 11, 12), "30"),
                           (date(2026, 11, 22), "20"))
    await district.reports("P1", (date(2026, 11, 20), "900"), withdrawn=True, hour=11)
    await district.reports("P2", (date(2026, 10, 30), "100"), (date(2026, 11, 16), "200"))
    days = recent_week_ends(CUTOFF)
    assert days == [date(2026, 11, 1), date(2026, 11, 8), date(2026, 11, 15), CUTOFF]

    async with db.session() as session:
        later = await counted_after(session, cutoff=CUTOFF, days=days[:-1])
        standings = {day: await project_standings(session, cutoff=day, window_start=day - timedelta(days=6),
                                                  calendar=CALENDAR) for day in days}
    ids = district.projects
    assert later[ids["P1"]] == (Decimal(90), Decimal(50), Decimal(20))
    assert later[ids["P2"]] == (Decimal(200), Decimal(200), Decimal(200))

    codes = {v: k for k, v in ids.items()}
    trend = recent_trend(standings[CUTOFF], {codes[i]: sums for i, sums in later.items()}, days, {})
    for point in trend:
        then = standings[point.day]
        assert point.done == sum((p.ytd_done for p in then), Decimal(0))
    assert [p.done for p in trend] == [400, 440, 470, 690]  # of 4,000 planned: 10.0% → 11.0% → 11.8% → 17.2%
    assert trend[0].rate == 0.1 and trend[-1].schedule > trend[0].schedule
    assert recent_week_ends(date(2026, 1, 11)) == [date(2026, 1, 4), date(2026, 1, 11)]  # this year's only


async def test_a_units_weekly_participation_is_its_punctuality(db: Database, district: District) -> None:
    """Projects of 区住建局 over the four weeks to Sunday 11/22: 郝芳's reported on Mondays and is on
    leave 11/18–11/20; 武杰's reported every working day of W47 but Friday; a finished one owes nothing;
    one entered on Wednesday 11/11 owes from that day (it reported then and every day of W47)."""
    await district.project("A", liaison="郝芳")
    await district.project("B", liaison="武杰", stage="前期")
    await district.project("C", liaison="武杰", stage="竣工")
    await district.project("D", liaison="武杰", entered=datetime(2026, 11, 11, 15, tzinfo=SHANGHAI))
    mondays = [date(2026, 10, 26) + timedelta(days=7 * n) for n in range(4)]
    await district.reports("A", *((day, "10") for day in mondays))
    await district.reports("B", *((date(2026, 11, 16) + timedelta(days=n), "5") for n in range(4)))
    await district.reports("C", (date(2026, 11, 18), "1"))
    await district.reports("D", (date(2026, 11, 11), "2"), *((MONDAY + timedelta(days=n), "2") for n in range(5)))
    async with db.session() as session:
        await add_leave(session, person_id=district.people["郝芳"], substitute_id=None, start=date(2026, 11, 18),
                        end=date(2026, 11, 20), now=datetime(2026, 11, 17, 9, tzinfo=SHANGHAI), actor="test")

    async with db.session() as session:
        part = await load_participation(session, cutoff=CUTOFF, calendar=CALENDAR)
        weeks = [await compute_standings(session, period=f"w{n}", cutoff=week.end, window_start=week.start,
                                         calendar=CALENDAR) for n, week in enumerate(part.weeks)]
    unit = part.unit("区住建局")
    assert unit is not None
    for tally, standings in zip(unit.weeks, weeks, strict=True):
        projects = [p for p in standings.projects if p.lead_unit == "区住建局"]
        assert (tally.due, tally.reported) == (sum(p.working_days for p in projects),
                                               sum(p.reported_days for p in projects))
        [group] = [g for g in standings.units if g.name == "区住建局"]
        assert tally.rate == group.punctuality
    # W47: A owes 11/16, 11/17 (then on leave) and reported Monday; B owes five days and reported four; D five
    assert (unit.weeks[-1].due, unit.weeks[-1].reported) == (12, 10)
    # W46: A and B owe five days each (A reported Monday); D owes Wednesday to Friday and reported Wednesday
    assert (unit.weeks[-2].due, unit.weeks[-2].reported) == (13, 2)
    hao = next(r for r in part.liaisons if r.name == "郝芳")
    assert [t.rate for t in hao.weeks] == [0.2, 0.2, 0.2, 0.5]


@pytest.mark.parametrize("by_day", [False, True])
async def test_in_the_week_a_project_is_entered_it_owes_only_the_days_from_then(
        db: Database, district: District, monkeypatch: pytest.MonkeyPatch, by_day: bool) -> None:
    """(by_day: as when a whole ledger was imported that week, the reports are read by day, not by project.)
    D is imported on Wednesday 11/18 at 08:30 (local) and reported that day and Friday; E was entered on
    Saturday 11/21 and owes nothing that week; F, entered Tuesday, owes Tuesday and Wednesday only (its
    liaison is on leave Thursday and Friday; a substitute's Thursday report adds nothing). The unit's 按时填报
    counts D's Wednesday to Friday (2 of 3), equal to its 填报率, and so does each project's; the weeks
    before D owe nothing."""
    await district.project("A", liaison="郝芳")
    await district.reports("A", *((MONDAY + timedelta(days=n), "10") for n in range(5)))
    await district.project("D", liaison="武杰", entered=datetime(2026, 11, 18, 8, 30, tzinfo=SHANGHAI))
    await district.reports("D", (date(2026, 11, 18), "5"), (date(2026, 11, 20), "5"))
    await district.project("E", liaison="武杰", entered=datetime(2026, 11, 21, 0, 5, tzinfo=SHANGHAI))
    await district.project("F", liaison="李娜", entered=datetime(2026, 11, 17, 16, tzinfo=SHANGHAI))
    await district.reports("F", (date(2026, 11, 17), "1"), (date(2026, 11, 19), "1"))
    async with db.session() as session:
        await add_leave(session, person_id=district.people["李娜"], substitute_id=None, start=date(2026, 11, 19),
                        end=date(2026, 11, 20), now=datetime(2026, 11, 18, 9, tzinfo=SHANGHAI), actor="test")

    if by_day:
        monkeypatch.setattr(storage.project_figures, "_FEW_PROJECTS", 0)
    async with db.session() as session:
        part = await load_participation(session, cutoff=CUTOFF, calendar=CALENDAR)
        standings = await compute_standings(session, period="2026-W47", cutoff=CUTOFF, window_start=MONDAY,
                                            calendar=CALENDAR)
    by_code = {p.code: p for p in standings.projects}
    assert (by_code["D"].working_days, by_code["D"].reported_days) == (3, 2)
    assert (by_code["E"].working_days, by_code["E"].reported_days) == (0, 0)
    assert (by_code["F"].working_days, by_code["F"].reported_days) == (2, 1)
    assert (by_code["A"].working_days, by_code["A"].reported_days) == (5, 5)
    unit = part.unit("区住建局")
    assert unit is not None
    assert [(t.due, t.reported) for t in unit.weeks] == [(5, 0), (5, 0), (5, 0), (10, 8)]
    [group] = [g for g in standings.units if g.name == "区住建局"]
    assert group.punctuality == unit.weeks[-1].rate == 8 / 10
    wu = part.liaison(district.people["武杰"])
    assert wu is not None and (wu.weeks[-1].due, wu.weeks[-1].reported) == (3, 2)
    assert [t.due for t in wu.weeks[:-1]] == [0, 0, 0]


async def test_the_webs_year_trend_counts_the_reports_of_an_undated_baseline(db: Database,
                                                                           district: District) -> None:
    """A baseline without a day covers no report of its year (bot.domain.year_to_date): the web's daily sums
    (its year trend) count them, as the standings do."""
    from storage.web_queries import counted_daily

    await district.project("UNDATED", done_before="300")  # baseline of 2026, no day
    await district.project("DATED", done_before="100", baseline_date=date(2026, 11, 3))
    await district.reports("UNDATED", (date(2026, 11, 2), "50"), (date(2026, 11, 16), "20"))
    await district.reports("DATED", (date(2026, 11, 2), "40"), (date(2026, 11, 16), "10"))
    async with db.session() as session:
        baseline, daily = await counted_daily(session, year=2026, up_to=CUTOFF)
        rows = await project_standings(session, cutoff=CUTOFF, window_start=date(2026, 11, 16), calendar=CALENDAR)
    assert baseline == 400 and daily == {date(2026, 11, 2): 50, date(2026, 11, 16): 30}
    assert baseline + sum(daily.values()) == sum(p.ytd_done for p in rows)
