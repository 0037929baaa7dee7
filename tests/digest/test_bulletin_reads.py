"""A bulletin reads each history once: the problems' events and the projects' stage events in one statement
each, whatever the number of figures it counts from them (问题办理 of its period and of the one before, the table
per unit, the note on deadlines never recorded, each project's open problems, the digests' lists, the nodes);
it replays each problem once at its period's end for its Excel 问题清单 and its figures alike; and the figures it
counts from that one read are those /rank, the web pages and the exports read one by one."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event

import bot.domain.period_problems
import bot.domain.problem_history
from bot.clock import day_start
from bot.domain.digest_settings import DigestSettings
from bot.domain.nodes import NODE_PROBLEM
from bot.domain.period_problems import (
    handling_shares,
    open_problems,
    problems_at,
    unclosed,
    unit_figures,
    units_with_problems,
    unrecorded,
)
from bot.domain.periods import measured_on, parse_period, previous_period
from bot.domain.problem_history import ProblemNow, ProblemThen, Step
from bot.domain.stage_events import CONFIRMED
from bot.domain.workdays import WorkCalendar
from bot.render import Renderer
from bot.services.standings import compute_standings, read_current_inputs
from jobs.bulletin_render import render_bulletin
from storage.db import Database
from storage.models import StageEvent
from storage.problem_handling import unit_problem_shares
from storage.problem_history import period_problems
from storage.problem_ledger import problem_ledger
from storage.project_figures import project_figures

from .conftest import CREATED, District, local

CALENDAR = WorkCalendar()
TABLES = ("problem_events", "stage_events")


@contextmanager
def reads_of(db: Database) -> Iterator[dict[str, int]]:
    """How many statements run meanwhile name each of ``TABLES`` (``table``), and how many read the events of
    its histories (``table.kind``: a subquery choosing the problems touched since a day reads none)."""
    counts = {name: 0 for table in TABLES for name in (table, f"{table}.kind")}

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        for name in counts:
            counts[name] += bool(re.search(rf"\b{re.escape(name)}\b", statement))

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield counts
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)


async def _district(district: District) -> None:
    """Projects with problems solved on time, late, left overdue, sent back, closed long ago, awaiting 销号,
    an overdue node's problem; one project finished, reopened and finished again, milestones."""
    for code, unit in (("P1", "区水务局"), ("P2", "区住建局"), ("P3", "区交通局")):
        await district.project(code, unit=unit, stage="竣工" if code == "P3" else "在建")
    oct5, nov2, nov9, nov16 = (local(date(2026, m, d)) for m, d in ((10, 5), (11, 2), (11, 9), (11, 16)))
    day = timedelta(days=1)
    await district.problem("P1", unit="区水务局", raised=oct5, due=oct5 + 3 * day, status="closed",
                           events=(("resolved", oct5 + day), ("closed", oct5 + 2 * day)))  # long closed
    await district.problem("P1", unit="区水务局", raised=nov2, due=nov2 + 3 * day, status="resolved",
                           events=(("accepted", nov2 + day), ("resolved", nov16 + day)))  # late, awaiting 销号
    await district.problem("P2", unit="区住建局", raised=nov9, due=nov9 + 20 * day, status="accepted",
                           events=(("accepted", nov9 + day), ("resolved", nov9 + 2 * day),
                                   ("reopened", nov16 + 2 * day)))  # solved in time, sent back since
    await district.problem("P2", unit="区住建局", raised=nov2, due=nov9, status="accepted",
                           events=(("accepted", nov2 + day), ("escalated", nov9 + day)))  # overdue, gone up
    await district.problem("P3", unit="区交通局", raised=nov9, due=nov9 + 2 * day, status="open",
                           kind=NODE_PROBLEM)
    await district.problem("P3", unit="区交通局", raised=nov16 + 3 * day, due=None, status="open")  # this week
    await district.node("P3", "主体封顶", date(2026, 11, 12), date(2026, 11, 13))
    await district.node("P1", "桩基完成", date(2026, 11, 10))
    await district.node("P1", "竣工验收", date(2026, 11, 25), seq=1)
    async with district.db.session() as session:
        session.add_all([StageEvent(project_id=district.projects["P3"], kind=kind, day=d, state=CONFIRMED,
                                    created_at=CREATED)
                         for kind, d in (("finish", date(2026, 10, 1)), ("reopen", date(2026, 11, 3)),
                                         ("finish", date(2026, 11, 18)))])


@pytest.mark.parametrize("name", ["weekly:2026-W47", "monthly:2026-11"])
async def test_a_bulletin_reads_the_problem_and_stage_histories_once(
        db: Database, district: District, tmp_path: Path, name: str) -> None:
    await _district(district)
    period = parse_period(*name.split(":"))
    with reads_of(db) as reads:
        async with db.session() as session:
            rendered = await render_bulletin(session, Renderer(), period=period, calendar=CALENDAR,
                                             settings=DigestSettings(), out_dir=tmp_path)
    assert rendered.projects == 3
    assert reads == {"problem_events": 1, "problem_events.kind": 1, "stage_events": 1, "stage_events.kind": 1}


@pytest.mark.parametrize("name", ["weekly:2026-W47", "monthly:2026-11"])
async def test_a_bulletin_replays_each_problem_once_at_its_period_end(
        db: Database, district: District, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    await _district(district)
    replays: Counter[tuple[int, object]] = Counter()  # (problem, the instant it was replayed at) → how often
    replay = bot.domain.problem_history.problem_then

    def counted(now: ProblemNow, steps: list[Step], *, end: object) -> ProblemThen:
        then = replay(now, steps, end=end)
        replays[now.id, end] += 1
        return then

    for module in (bot.domain.problem_history, bot.domain.period_problems):
        monkeypatch.setattr(module, "problem_then", counted)
    period = parse_period(*name.split(":"))
    async with db.session() as session:
        rendered = await render_bulletin(session, Renderer(), period=period, calendar=CALENDAR,
                                         settings=DigestSettings(), out_dir=tmp_path)
    assert rendered.files["ledger"].exists()
    end, before = (day_start(measured_on(p) + timedelta(days=1)) for p in (period, previous_period(period)))
    assert set(replays.values()) == {1}
    assert {at for _, at in replays} == {end, before}
    assert sum(1 for _, at in replays if at == end) == 6  # every problem raised by the end: the 问题清单 lists each


async def test_the_standings_of_rank_read_the_problem_histories_once(db: Database, district: District) -> None:
    await _district(district)
    with reads_of(db) as reads:
        async with db.session() as session:
            inputs = await read_current_inputs(session, today=date(2026, 11, 24), cutoff=date(2026, 11, 22))
    assert inputs.figures.open_problems == {district.projects["P2"]: 2, district.projects["P3"]: 2}
    assert reads["problem_events.kind"] == 1  # the problems chosen by a subquery of the events, their events read


async def test_the_standings_of_a_meeting_read_the_problem_histories_once(db: Database, district: District) -> None:
    await _district(district)
    with reads_of(db) as reads:
        async with db.session() as session:
            standings = await compute_standings(session, period="2026-W47", cutoff=date(2026, 11, 22),
                                                window_start=date(2026, 11, 16), calendar=CALENDAR)
    assert {p.code: p.open_problems for p in standings.projects} == {"P1": 0, "P2": 2, "P3": 2}
    async with db.session() as session:
        shares = await unit_problem_shares(session, window_start=date(2026, 11, 16), cutoff=date(2026, 11, 22))
    assert {u.name: u.problems for u in standings.units} == shares
    assert shares == {"区水务局": 0.0, "区住建局": 0.0, "区交通局": None}
    assert reads["problem_events.kind"] == 1  # the open problems and the units' 问题办理 from one read


@pytest.mark.parametrize("window", [(date(2026, 11, 16), date(2026, 11, 22)), (date(2026, 11, 9), date(2026, 11, 15)),
                                    (date(2026, 11, 1), date(2026, 11, 30)), (date(2026, 10, 5), date(2026, 10, 11))])
async def test_the_figures_of_the_one_read_are_those_read_one_by_one(
        db: Database, district: District, window: tuple[date, date]) -> None:
    await _district(district)
    first, cutoff = window
    start, end = day_start(first), day_start(cutoff + timedelta(days=1))
    async with db.session() as session:
        ledger = await problem_ledger(session)
        problems = problems_at(ledger.histories, since=start, end=end)
        figures = await project_figures(session, cutoff=cutoff, window_start=first, calendar=CALENDAR,
                                        problems=problems)
        assert handling_shares(problems, start=start, units=units_with_problems(ledger.histories, end=end)) \
            == await unit_problem_shares(session, window_start=first, cutoff=cutoff)
        # the one read of every problem against the read of those that may count in the window only
        narrowed = await period_problems(session, since=start, end=end)
        assert unit_figures(problems, start=start) == unit_figures(narrowed, start=start)
        assert unrecorded(problems, start=start) == unrecorded(narrowed, start=start)
        assert unclosed(problems) == unclosed(await period_problems(session, since=end, end=end))
        assert open_problems(problems) == figures.open_problems \
            == (await project_figures(session, cutoff=cutoff, window_start=first, calendar=CALENDAR)).open_problems
    assert len(ledger.histories) == 6
