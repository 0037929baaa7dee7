"""A bulletin rendered, before anything is sent: the database read for a period (the standings' figures, the
problems replayed at its end, the period before's, milestones, corrections, participation) and handed to a
worker that builds its texts, chart(s) and Excel/Word files (bot.services.bulletin_work).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import day_start
from bot.domain.digest_settings import DigestSettings
from bot.domain.escalation import MAYOR_LEVEL
from bot.domain.node_lists import BulletinNodes, bulletin_nodes, period_ahead
from bot.domain.period_problems import (
    ProblemHistory,
    ProblemLine,
    every_problem_at,
    handling_shares,
    ledger_rows,
    problems_at,
    unit_figures,
    units_with_problems,
    unrecorded,
)
from bot.domain.period_problems import unclosed as unclosed_lines
from bot.domain.periods import Period, due_day, measured_on, parse_period, previous_period
from bot.domain.problem_numbers import problem_number
from bot.domain.stage_history import Move
from bot.domain.standings import period_opening
from bot.domain.trend import recent_week_ends
from bot.domain.workdays import WorkCalendar
from bot.domain.year_to_date import base_days, change_bases
from bot.render import Renderer
from bot.services.bulletin_work import BulletinJob, EarlierFigures, OpenProblem, render_files_and_texts
from bot.services.participation import load_participation
from bot.workers import Workers
from jobs.past_years import past_years
from storage.corrections import Correction, corrections_since, last_bulletin_before
from storage.ledger_bases import base_day_by_project
from storage.ledger_bases import base_days as stored_base_days
from storage.ledger_entries import ledger_on
from storage.node_queries import nodes_for_bulletin
from storage.problem_ledger import problem_ledger
from storage.project_figures import project_figures
from storage.project_versions import Versions, versions_since
from storage.report_figures import counted_after
from storage.rows import gc_paused
from storage.stage_events import histories


@dataclass
class Rendered:
    """A bulletin's texts and files, before anything is sent."""

    period: Period
    text: str
    parts: list[str]  # the text split into messages, with the late notice when late
    files: dict[str, Path] = field(default_factory=dict)
    leaders: dict[int, list[str]] = field(default_factory=dict)  # lead official id → their digest, split
    leader_heads: dict[int, tuple[str, str]] = field(default_factory=dict)  # → its head for him, for his stand-in
    top_parts: list[str] = field(default_factory=list)
    projects: int = 0
    failed: list[str] = field(default_factory=list)  # the files that could not be built (bulletin_part_failed.j2)



async def render_bulletin(session: AsyncSession, renderer: Renderer, *, period: Period, calendar: WorkCalendar,
                          settings: DigestSettings, out_dir: Path, late: bool = False,
                          workers: Workers | None = None) -> Rendered:
    """Compute the standings for a period and render its text, chart(s) and Excel ledger.

    The database is read here, on the event loop; everything else (the standings' assembly, the charts, the
    workbook, the texts and their splitting: seconds of pure Python for 10,000 projects) runs in a worker
    process of ``workers`` (``bot.workers``), so that the bot keeps answering meanwhile. Without
    ``workers`` it runs in a worker thread of this process with ``renderer`` (tests, one-off commands).
    """
    start, end = day_start(period.start), day_start(period.end + timedelta(days=1))
    cutoff = measured_on(period)
    trend_days = recent_week_ends(cutoff)  # a lead official's 4-week trend
    # Every problem with its history, read once, and replayed once at the period's end: the Excel ledger's
    # 问题清单 and every problem figure of the period come from that one replay, the figures of the period before
    # from one at its own end (bot.domain.period_problems).
    figures_end = day_start(cutoff + timedelta(days=1))
    # the projects' dated versions, read once: every figure of the period, and of the period before, names and
    # counts each project as the ledger had it at that period's end (storage.project_versions)
    versions = await versions_since(session, since=day_start(measured_on(previous_period(period)) + timedelta(days=1)))
    ledger = await problem_ledger(session, held=figures_end, versions=versions)  # their projects named as then
    moves = await histories(session)  # the projects' stage histories, read once too
    with gc_paused():  # tens of thousands of replays: many small objects, no cycles
        period_end = every_problem_at(ledger.histories, end=end)
        # the figures' cut-off is the period's end but in a week spanning two years (bot.domain.periods.measured_on)
        now_problems = period_end if end == figures_end else problems_at(ledger.histories, since=start,
                                                                         end=figures_end)
        # the problems as they stood at the period's end: the Excel ledger's, and those the digests name
        problems = ledger_rows(ledger.rows, period_end)
    # the projects entered by its cut-off day: one the ledger brought in since was not in the period
    figures = await project_figures(session, cutoff=cutoff, window_start=period.start, calendar=calendar,
                                    problems=now_problems, moves=moves, entered_by=cutoff, versions=versions)
    stored_bases = await stored_base_days(session, year=cutoff.year, entered=cutoff)
    shares = handling_shares(now_problems, start=start, units=units_with_problems(ledger.histories, end=figures_end))
    unclosed = unclosed_lines(period_end)
    unit_problems = [] if period.kind == "weekly" else unit_figures(period_end, start=start)
    corrections = await _corrections_since_last(session, period)
    job = BulletinJob(
        period=period, cutoff=cutoff, settings=settings, figures=figures, problem_shares=shares,
        problems=problems, unit_problems=unit_problems,
        counted_in_period=await _counted_in_period(session, period, cutoff),
        bases=base_days(stored_bases, start=period.start, cutoff=cutoff,
                        opens_year=period_opening(period.start, cutoff) is None),
        change_bases=change_bases(stored_bases, since=measured_on(previous_period(period)), cutoff=cutoff),
        open_problems=_open_problems_by_project(unclosed),
        top_problems=_open_problems_at_the_top(unclosed),
        corrections=corrections, past_years=await past_years(session, corrections, year=cutoff.year, calendar=calendar),
        out_dir=out_dir, late=late,
        nodes=(await _bulletin_nodes(session, period, calendar, moves, versions)).of_projects(
            p.code for p in figures.projects),
        earlier=await _earlier_figures(session, period, calendar, ledger.histories, moves, versions),
        participation=await load_participation(session, cutoff=cutoff, calendar=calendar, moves=moves,
                                               versions=versions)
        if period.kind == "weekly" else None,
        trend_days=trend_days,
        counted_later=await counted_after(session, cutoff=cutoff, days=trend_days[:-1]),
        base_day_of=await base_day_by_project(session, year=cutoff.year),
        unrecorded_deadlines=unrecorded(period_end, start=start),
        entered_later=(await ledger_on(session, cutoff)).later,
    )
    if workers is None:
        work = await asyncio.to_thread(render_files_and_texts, job, renderer)
    else:
        work = await workers.run(render_files_and_texts, job)
    return Rendered(period=period, text=work.text, parts=work.parts, files=work.files, leaders=work.leader_parts,
                    leader_heads=work.leader_heads,
                    top_parts=work.top_parts, projects=work.projects, failed=work.failed)


async def _counted_in_period(session: AsyncSession, period: Period, cutoff: date) -> dict[int, Decimal]:
    """Project id → the reports counted in year-to-date after the period's opening day up to ``cutoff``: its
    本期完成投资 (bot.domain.standings.period_done); none needed when the period starts its year."""
    opening = period_opening(period.start, cutoff)
    if opening is None:
        return {}
    return {project_id: sums[0] for project_id, sums in
            (await counted_after(session, cutoff=cutoff, days=[opening])).items()}


async def _bulletin_nodes(session: AsyncSession, period: Period, calendar: WorkCalendar,
                          moves: Mapping[int, Sequence[Move]], versions: Versions) -> BulletinNodes:
    """The milestones a bulletin lists, as of the day it goes out (bot.domain.node_lists): due ahead (the
    week, or the next period of a monthly and longer bulletin), overdue, and done late since the period
    started."""
    as_of = due_day(calendar, period)
    _, ahead_to = period_ahead(calendar, period, as_of)
    # each project named and held as at the end of the period's cut-off day, as in its figures
    items = await nodes_for_bulletin(session, planned_to=ahead_to, done_since=period.start, as_of=as_of,
                                     moves=moves, held=day_start(measured_on(period) + timedelta(days=1)),
                                     versions=versions)
    return bulletin_nodes(items, as_of=as_of, ahead_to=ahead_to, week_start=period.start)


async def _earlier_figures(session: AsyncSession, period: Period, calendar: WorkCalendar,
                           problem_histories: Sequence[ProblemHistory], moves: Mapping[int, Sequence[Move]],
                           versions: Versions) -> EarlierFigures:
    """The previous period's figures, read as this period's are, of the projects entered by its end: its
    standings are what the bulletin's changes (名次 ↑↓, completion points, 新上榜) are measured against, each
    project held as at that period's end. ``problem_histories``: every problem's (``storage.problem_ledger``);
    ``moves``: the stage histories; ``versions``: the projects' versions (``storage.project_versions``)."""
    earlier = previous_period(period)
    cutoff = measured_on(earlier)
    start, end = day_start(earlier.start), day_start(cutoff + timedelta(days=1))
    with gc_paused():
        problems = problems_at(problem_histories, since=start, end=end)
    return EarlierFigures(
        period=earlier, cutoff=cutoff,
        figures=await project_figures(session, cutoff=cutoff, window_start=earlier.start, calendar=calendar,
                                      entered_by=cutoff, problems=problems, moves=moves, versions=versions),
        problem_shares=handling_shares(problems, start=start, units=units_with_problems(problem_histories, end=end)))


async def _corrections_since_last(session: AsyncSession, period: Period) -> list[Correction]:
    """Corrections made since the previous bulletin of this kind that change a figure of a period already
    sent (a report dated up to that bulletin's last day); none before the first bulletin. Sent bulletins
    are never sent again: the next one notes the corrections."""
    last = await last_bulletin_before(session, kind=period.kind, period=period.name)
    if last is None:
        return []
    name, produced_at = last
    return await corrections_since(session, since=produced_at, up_to_day=parse_period(period.kind, name).end)


def _open_problems_by_project(lines: list[ProblemLine]) -> dict[str, list[OpenProblem]]:
    """Project code → its problems not closed at the period's end, as they stood then, by number."""
    grouped: dict[str, list[OpenProblem]] = {}
    for line in lines:
        if line.project_code is not None:
            grouped.setdefault(line.project_code, []).append(_open_problem(line))
    return grouped


def _open_problem(line: ProblemLine, project: str | None = None) -> OpenProblem:
    """The problem as it stood at the period's end, with every deadline then running on it (its 受理 deadline
    worked out only while it waited at the unit: ``bot.domain.overdue``)."""
    then = line.then
    waiting = then.status == "open" and then.level == 0
    return OpenProblem(problem_number(then.id), line.category, line.text, then.resolution_due_at,
                       status=then.status, level=then.level, project=project,
                       response_due_at=then.response_due_at if waiting else None,
                       promised_due_at=then.promised_due_at)


def _open_problems_at_the_top(lines: list[ProblemLine]) -> list[OpenProblem]:
    """The problems not yet solved at the period's end that had gone up to 区长 or 区委书记/领导小组 (meeting
    decisions too), the highest level first, then the nearest deadline: what the top officials' summary
    names."""
    top = [line for line in lines if line.then.active and line.then.level >= MAYOR_LEVEL]
    top.sort(key=lambda line: (-line.then.level, line.then.resolution_due_at is None,
                               line.then.resolution_due_at or line.then.raised_at, line.then.id))
    return [_open_problem(line, line.project_name) for line in top]

