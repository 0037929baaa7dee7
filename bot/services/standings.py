"""The standings of a bulletin: the figures storage reads, turned into ranked per-project standings and
assembled into a bulletin's standings (groups, praise, urge and warn lists; see ``bot.weekly``).

Rules (year-to-date completion, punctuality, open problems) are documented with the queries in
``storage.project_figures``; the ranking and grouping rules in ``bot.weekly``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import day_start
from bot.domain.changes import StandingsChanges, standings_changes, with_bases
from bot.domain.duties import last_owed_day
from bot.domain.nodes import finished_by
from bot.domain.progress import (
    DEFAULT_LIGHT_THRESHOLDS,
    LightThresholds,
    completion_rate,
    gap_points,
    previous_week_end,
    schedule_progress,
    traffic_light,
)
from bot.domain.ranking import DEFAULT_SCORE_WEIGHTS, ScoreWeights
from bot.domain.standings import ProjectStanding, Standings
from bot.domain.workdays import WorkCalendar
from bot.domain.year_to_date import baseline_on
from bot.weekly import assemble, project_places
from storage.ledger_bases import base_days
from storage.problem_handling import unit_problem_shares
from storage.problem_history import period_problems
from storage.project_figures import ProjectFigures, project_figures
from storage.report_figures import ReportFigures
from storage.rows import gc_paused
from storage.settings import load_calendar, load_digest_settings

__all__ = ["StandingsInputs", "build_standings", "compute_standings", "current_standings", "project_standings",
           "read_current_inputs", "standings_and_changes", "standings_from", "standings_of_each"]


async def project_standings(
    session: AsyncSession,
    *,
    cutoff: date,
    window_start: date,
    calendar: WorkCalendar,
    thresholds: LightThresholds = DEFAULT_LIGHT_THRESHOLDS,
    entered_by: date | None = None,
) -> list[ProjectStanding]:
    """Every project's standing on ``cutoff``, in code order, with its rank (``bot.weekly.rank_projects``);
    with ``entered_by``, only the projects entered by that day.

    Four queries (``storage.project_figures.project_figures``), then Python.
    """
    figures = await project_figures(session, cutoff=cutoff, window_start=window_start, calendar=calendar,
                                    entered_by=entered_by)
    # Some 10,000 standings to build: in a worker thread, so that the event loop goes on answering.
    return await asyncio.to_thread(_build_paused, figures, cutoff, thresholds)


def _build_paused(figures: ProjectFigures, cutoff: date, thresholds: LightThresholds) -> list[ProjectStanding]:
    with gc_paused():
        return build_standings(figures, cutoff=cutoff, thresholds=thresholds)


def build_standings(figures: ProjectFigures, *, cutoff: date,
                    thresholds: LightThresholds = DEFAULT_LIGHT_THRESHOLDS) -> list[ProjectStanding]:
    """The projects' standings on ``cutoff`` from their figures, in code order, ranked."""
    reports, open_problems, due_days = figures.reports, figures.open_problems, figures.due_days
    stage_days = figures.stage_days
    no_reports = ReportFigures(Decimal(0), None, 0)
    schedule = schedule_progress(cutoff)
    computed = []
    for row in figures.projects:
        report = reports.get(row.id, no_reports)
        # The dated base of the cut-off day's year (storage.ledger_bases) + the reports after its day
        # (bot.domain.year_to_date); the aggregate's year_sum
        # already leaves out the reports the baseline covers.
        ytd = baseline_on(row.done_before, row.baseline_year, cutoff) + report.year_sum
        rate = completion_rate(ytd, row.annual_plan)  # the schedule computed once for all
        gap = gap_points(rate, schedule)
        computed.append((row, report, ytd, rate, gap, traffic_light(rate, gap, cutoff, thresholds)))
    # Ranked here already, so that bot.weekly.assemble need not copy 10,000 standings to set their rank.
    places = project_places([(gap, row.code) for row, _f, _y, _r, gap, _l in computed])
    standings: list[ProjectStanding] = []
    for place, (row, report, ytd, rate, gap, light) in zip(places, computed, strict=True):
        location = row.location
        # a liaison's leave days and the days before a project was entered are not due
        # (bot.domain.duties.due_days, read in storage.project_figures)
        working_days, reported_days = figures.counted_apart.get(row.id, (due_days.get(row.stage, 0),
                                                                         report.reported_days))
        started_on, finished_on = stage_days.get(row.id, (None, None))
        nodes_on_time, nodes_due = figures.nodes.get(row.id, (0, 0))
        standings.append(ProjectStanding(
            code=row.code, name=row.name, category=row.category, stage=row.stage,
            town=location.strip() if location and location.strip() else None,
            lead_unit=row.lead_unit, lead_official=row.lead_official, lead_official_id=row.lead_official_id,
            liaison=row.liaison, liaison_id=row.liaison_id,
            annual_plan=row.annual_plan if row.annual_plan is not None else Decimal(0), ytd_done=ytd,
            rate=rate, schedule=schedule, gap=gap, light=light,
            last_report_at=report.last_report_at, reported_days=reported_days,
            working_days=working_days, open_problems=open_problems.get(row.id, 0),
            planned_start=row.planned_start, planned_finish=row.planned_finish, rank=place,
            started_on=started_on, finished_on=finished_on, nodes_on_time=nodes_on_time, nodes_due=nodes_due,
            finished_then=finished_by(row.stage, row.finish_day, cutoff), backfilled=report.backfilled,
        ))
    return standings


async def compute_standings(
    session: AsyncSession,
    *,
    period: str,
    cutoff: date,
    window_start: date,
    calendar: WorkCalendar,
    thresholds: LightThresholds = DEFAULT_LIGHT_THRESHOLDS,
    weights: ScoreWeights = DEFAULT_SCORE_WEIGHTS,
    praise_n: int = 3,
    entered_by: date | None = None,
) -> Standings:
    """The standings of ``period`` on ``cutoff``; punctuality and problem handling over the window
    ``window_start``..``cutoff`` (a weekly bulletin passes its ISO week, see bot.domain.periods); with
    ``entered_by``, of the projects entered by that day only. The window's problems are read once, for the
    projects' open problems and the units' 问题办理 alike."""
    problems = await period_problems(session, since=day_start(window_start), end=day_start(cutoff + timedelta(days=1)))
    figures = await project_figures(session, cutoff=cutoff, window_start=window_start, calendar=calendar,
                                    entered_by=entered_by, problems=problems)
    shares = await unit_problem_shares(session, window_start=window_start, cutoff=cutoff, problems=problems)
    projects = await asyncio.to_thread(_build_paused, figures, cutoff, thresholds)
    return await asyncio.to_thread(assemble, period, cutoff, projects, shares, weights, thresholds, praise_n)


@dataclass(frozen=True)
class StandingsInputs:
    """What the standings of one cut-off day are computed from, read from the database: plain, picklable
    data, so that ``standings_from`` may run in a worker process (``bot.workers``)."""

    period: str
    cutoff: date
    figures: ProjectFigures
    problem_shares: dict[str, float | None]
    thresholds: LightThresholds
    weights: ScoreWeights
    praise_n: int


def standings_from(inputs: StandingsInputs) -> Standings:
    """The standings ``compute_standings`` gives for these inputs: pure Python, no I/O."""
    with gc_paused():
        projects = build_standings(inputs.figures, cutoff=inputs.cutoff, thresholds=inputs.thresholds)
        return assemble(inputs.period, inputs.cutoff, projects, inputs.problem_shares, inputs.weights,
                        inputs.thresholds, inputs.praise_n)


def standings_of_each(inputs: list[StandingsInputs]) -> list[Standings]:
    """``standings_from`` of each inputs, in one go (one hand-over to a worker process for several)."""
    return [standings_from(one) for one in inputs]


async def read_current_inputs(session: AsyncSession, *, today: date, cutoff: date | None = None) -> StandingsInputs:
    """What the current standings (see ``current_standings``) as of ``cutoff`` (today unless given) are
    computed from: of a past cut-off day, the projects entered by then."""
    cutoff = cutoff or today
    calendar = await load_calendar(session)
    settings = await load_digest_settings(session)
    window_start = cutoff - timedelta(days=cutoff.weekday())
    # the week's problems, read once for the open problems and the units' 问题办理
    problems = await period_problems(session, since=day_start(window_start), end=day_start(cutoff + timedelta(days=1)))
    # today, still under way, owes no report yet: liaisons have until the evening (as in 填报率)
    figures = await project_figures(session, cutoff=cutoff, window_start=window_start, calendar=calendar,
                                    entered_by=cutoff if cutoff < today else None, problems=problems,
                                    owed_to=last_owed_day(cutoff, today=today))
    shares = await unit_problem_shares(session, window_start=window_start, cutoff=cutoff, problems=problems)
    return StandingsInputs(period=cutoff.isoformat(), cutoff=cutoff, figures=figures, problem_shares=shares,
                           thresholds=settings.thresholds, weights=settings.weights, praise_n=settings.praise_n)


async def current_standings(session: AsyncSession, *, today: date, cutoff: date | None = None) -> Standings:
    """The standings as /rank and the web pages show them: as of ``cutoff`` (today unless given), with the
    admins' thresholds and weights, punctuality over the cut-off day's week so far. A past cut-off day counts
    the projects entered by then (a project imported since was not ranked then: 新上榜 now)."""
    inputs = await read_current_inputs(session, today=today, cutoff=cutoff)
    # Some 10,000 standings to build: in a worker thread, so that the event loop goes on answering.
    return await asyncio.to_thread(standings_from, inputs)


async def standings_and_changes(session: AsyncSession, *, today: date) -> tuple[Standings, StandingsChanges]:
    """/rank's standings (``current_standings``) and each line's change since the last period: the same
    standings as of last Sunday (``previous_week_end``, the cut-off of the last weekly bulletin), computed
    the same way."""
    now = await current_standings(session, today=today)
    before = await current_standings(session, today=today, cutoff=previous_week_end(today))
    # with the bases it cannot see through (said under it, as the bulletins say it)
    changes = with_bases(standings_changes(now, before), await base_days(session, year=now.cutoff.year),
                         cutoff=now.cutoff)
    return now, changes
