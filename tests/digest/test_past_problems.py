"""A past period's bulletin made again reads its problems as they stood at its end: a problem raised in week 1
and solved in week 3 is open and overdue in week 1's figures made in week 4 (the units' 问题办理, the projects'
open problems, a month's problem table), whatever was solved, sent back, escalated or moved since."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import select

from bot.clock import day_start
from bot.domain.digest_settings import DigestSettings
from bot.domain.period_problems import unit_figures
from bot.domain.periods import parse_period
from bot.domain.problem_history import UnitProblemFigures
from bot.domain.workdays import WorkCalendar
from bot.render import Renderer, html_to_plain
from bot.services.standings import compute_standings
from jobs.bulletin_render import render_bulletin
from storage.db import Database
from storage.models import Problem, ProblemEvent
from storage.problem_handling import unit_problem_shares
from storage.problem_history import period_problems

from .conftest import District, bulletin_notes, local

CALENDAR = WorkCalendar()
WEEK1 = parse_period("weekly", "2026-W44")  # Monday 26 October to Sunday 1 November
OCTOBER = parse_period("monthly", "2026-10")
RAISED = local(date(2026, 10, 26), 9)
DUE = local(date(2026, 10, 28), 17, 30)  # Wednesday of week 1
SOLVED = local(date(2026, 11, 10), 10)  # Tuesday of week 3
UNIT = "区水务局"
NEW_DUE = local(date(2026, 11, 20), 17, 30)  # the new unit's deadline


async def _week1(db: Database) -> tuple[list[UnitProblemFigures], dict[str, float | None], int]:
    """Week 1's problem table, its units' 问题办理 and the project's open problems, read now (week 4)."""
    start, end = day_start(WEEK1.start), day_start(WEEK1.end + timedelta(days=1))
    async with db.session() as session:
        table = unit_figures(await period_problems(session, since=start, end=end), start=start)
        shares = await unit_problem_shares(session, window_start=WEEK1.start, cutoff=WEEK1.end)
        standings = await compute_standings(session, period=WEEK1.name, cutoff=WEEK1.end, window_start=WEEK1.start,
                                            calendar=CALENDAR)
    return table, shares, standings.projects[0].open_problems


async def test_a_problem_solved_in_week_3_is_open_and_overdue_in_week_1(db: Database, district: District,
                                                                        tmp_path: Path) -> None:
    await district.project("P1", unit=UNIT)
    await district.problem("P1", unit=UNIT, raised=RAISED, due=DUE, status="closed",
                           events=(("accepted", RAISED + timedelta(hours=1)), ("resolved", SOLVED),
                                   ("closed", SOLVED + timedelta(hours=3))))

    table, shares, open_problems = await _week1(db)

    assert table == [UnitProblemFigures(UNIT, 1, 0, 1)]
    assert shares[UNIT] == 0.0  # overdue at the end of week 1: not handled within deadline
    assert open_problems == 1
    # October's bulletin, made in week 4, lists it as October left it: raised, unsolved, overdue
    async with db.session() as session:
        rendered = await render_bulletin(session, Renderer(), period=OCTOBER, calendar=CALENDAR,
                                         settings=DigestSettings(), out_dir=tmp_path)
    text = html_to_plain(rendered.text)
    assert "全区：1 / 0 / 1" in text and f"{UNIT}：1 / 0 / 1" in text
    # its Excel ledger lists it as it stood: being worked on, not 销号, its history up to then
    sheet = load_workbook(io.BytesIO(rendered.files["ledger"].read_bytes()))["问题清单"]
    header, line = (list(row) for row in sheet.iter_rows(max_row=2, values_only=True))
    ledger = dict(zip(header, line, strict=True))
    assert (ledger["状态"], ledger["销号时间"]) == (Renderer().words("_problem_status", "status_names")["accepted"],
                                                 None)
    assert "销号" not in ledger["办理记录"]
    # week 3 counts it solved, late
    async with db.session() as session:
        week3 = await unit_problem_shares(session, window_start=date(2026, 11, 9), cutoff=date(2026, 11, 15))
    assert week3[UNIT] == 0.0


async def test_a_problem_moved_and_given_a_new_deadline_since_counts_where_it_was(
        db: Database, district: District) -> None:
    """Escalated and then moved to another unit in week 3 (each event keeping the deadline it set): week 1 still
    counts it against 区水务局, on the deadline it had then."""
    await district.project("P1", unit=UNIT)
    problem_id = await district.problem("P1", unit="区城管局", raised=RAISED, due=NEW_DUE,
                                        status="open")
    async with db.session() as session:
        session.add(ProblemEvent(problem_id=problem_id, at=SOLVED - timedelta(days=1), kind="escalated",
                                 level=1, text="", resolution_due_at=SOLVED,
                                 detail={"from": 0, "to": 1, "clock": "resolution", "due_at": DUE.isoformat()}))
        session.add(ProblemEvent(problem_id=problem_id, at=SOLVED, kind="reassigned", level=0, text="",
                                 detail={"from": UNIT, "to": "区城管局", "from_level": 1},
                                 resolution_due_at=NEW_DUE))

    table, shares, open_problems = await _week1(db)

    assert table == [UnitProblemFigures(UNIT, 1, 0, 1)]
    assert shares == {UNIT: 0.0, "区城管局": None}  # 区城管局 held it at no end of a week in scope
    assert open_problems == 1
    # today's figures read it as it is: at 区城管局, not yet due
    async with db.session() as session:
        today = date(2026, 11, 16)
        start, end = day_start(today), day_start(today + timedelta(days=1))
        now = unit_figures(await period_problems(session, since=start, end=end), start=start)
        assert (await session.scalar(select(Problem.level).where(Problem.id == problem_id))) == 0
    assert now == []


async def test_events_record_the_deadline_they_set(db: Database, district: District) -> None:
    """Each event keeps the deadline the problem ran on after it, so that later changes need no reading back."""
    from storage import problems as repo

    await district.project("P1", unit=UNIT)
    problem_id = await district.problem("P1", unit=UNIT, raised=RAISED, due=DUE)
    async with db.session() as session:
        problem = await repo.get_problem(session, problem_id=problem_id)
        assert problem is not None
        problem.resolution_due_at = SOLVED
        event = await repo.add_event(session, problem=problem, at=RAISED + timedelta(days=1), kind="reopened",
                                     actor_id=None)
        assert event.resolution_due_at == SOLVED
    async with db.session() as session:
        kept = await session.scalar(select(ProblemEvent.resolution_due_at).where(ProblemEvent.kind == "reopened"))
    assert kept == SOLVED
    assert isinstance(kept, datetime)


async def test_a_deadline_never_recorded_is_said_so(db: Database, district: District, tmp_path: Path) -> None:
    """Resolved in October, sent back in November with a new deadline, by events that kept no deadline (written
    before they did): October's bulletin counts it on today's deadline, and says so wherever it gives figures."""
    await district.project("P1", unit=UNIT)
    await district.problem("P1", unit=UNIT, raised=RAISED, due=NEW_DUE, status="accepted",
                           events=(("resolved", RAISED + timedelta(days=2)), ("reopened", SOLVED)))
    note = "注：1 个问题本期末的办理时限未留存记录（此后已退回重办或转办），按现行办理时限统计。"

    async with db.session() as session:
        rendered = await render_bulletin(session, Renderer(), period=OCTOBER, calendar=CALENDAR,
                                         settings=DigestSettings(), out_dir=tmp_path / "october")
        november = await render_bulletin(session, Renderer(), period=parse_period("monthly", "2026-11"),
                                         calendar=CALENDAR, settings=DigestSettings(), out_dir=tmp_path / "nov")

    assert f"{UNIT}：1 / 1 / 0" in html_to_plain(rendered.text)
    assert bulletin_notes(rendered) == ([note], [note], [note])
    assert bulletin_notes(november) == ([], [], [])  # read at November's end, nothing has changed since


async def test_the_top_officials_summary_names_what_had_gone_up_by_the_end(db: Database, district: District,
                                                                          tmp_path: Path) -> None:
    """Escalated to the 区长 in week 3: week 1's summary for the top officials does not name it, week 3's does."""
    await district.project("P1", unit=UNIT)
    problem_id = await district.problem("P1", unit=UNIT, raised=RAISED, due=NEW_DUE, level=2)
    async with db.session() as session:
        session.add(ProblemEvent(problem_id=problem_id, at=SOLVED, kind="escalated", level=2, text="",
                                 detail={"from": 1, "to": 2, "clock": "resolution", "due_at": DUE.isoformat()},
                                 resolution_due_at=NEW_DUE))

    async def summary(name: str) -> str:
        async with db.session() as session:
            rendered = await render_bulletin(session, Renderer(), period=parse_period("weekly", name),
                                             calendar=CALENDAR, settings=DigestSettings(), out_dir=tmp_path / name)
        return html_to_plain("\n".join(rendered.top_parts))

    assert f"W{problem_id:04d}" not in await summary(WEEK1.name)
    assert f"W{problem_id:04d}" in await summary("2026-W46")


async def test_a_past_ledger_shows_the_response_deadline_a_problem_had_then(db: Database, district: District,
                                                                            tmp_path: Path) -> None:
    """Taken up late by 区水务局 in week 1 and moved to 区城管局 in week 3 with a new 受理时限: week 1's Excel 问题清单
    shows the one 区水务局 had (each event keeps the response deadline it leaves), not a blank."""
    from storage import problems as repo

    responded = local(date(2026, 10, 27), 17, 30)
    await district.project("P1", unit=UNIT)
    problem_id = await district.problem("P1", unit=UNIT, raised=RAISED, due=DUE)
    new_unit = await district.unit("区城管局")
    async with db.session() as session:
        problem = await repo.get_problem(session, problem_id=problem_id)
        assert problem is not None
        problem.response_due_at = responded
        await repo.add_event(session, problem=problem, at=RAISED + timedelta(hours=1), kind="answered", actor_id=None)
        problem.unit_id, problem.response_due_at, problem.resolution_due_at = new_unit, NEW_DUE, NEW_DUE
        await repo.add_event(session, problem=problem, at=SOLVED, kind="reassigned", actor_id=None,
                             detail={"from": UNIT, "to": "区城管局", "from_level": 0})

    async with db.session() as session:
        rendered = await render_bulletin(session, Renderer(), period=WEEK1, calendar=CALENDAR,
                                         settings=DigestSettings(), out_dir=tmp_path)
    sheet = load_workbook(io.BytesIO(rendered.files["ledger"].read_bytes()))["问题清单"]
    header, line = (list(row) for row in sheet.iter_rows(max_row=2, values_only=True))
    ledger = dict(zip(header, line, strict=True))
    assert (ledger["责任单位"], ledger["受理时限"], ledger["办结时限"]) == (
        UNIT, responded.replace(tzinfo=None), DUE.replace(tzinfo=None))
