"""The figures the standings of the projects are computed from, for one cut-off day and window: the projects
as the ledger has them, their report figures (storage.report_figures), open problems, confirmed 开工/竣工 days,
leaves and nodes, read with a fixed number of queries whatever the number of projects.
``bot.services.standings`` turns them into ranked standings.

Rules, as the users gave them:

- The annual plan is the plan of the cut-off day's year (storage.annual_plans): a project without one has
  no completion rate and is not ranked (无年度计划).
- Punctuality counts the days of the window (``window_start``..``cutoff``, both included) on which the
  project owed a report (``bot.domain.duties.report_due``: a working day of the calendar, the project not
  竣工/投产) and has at least one: two reports on one day count once, and a
  report made on a rest day or by a finished project adds nothing (nor is that day in the denominator).
  Each day is read in the stage the project was in on it (``bot.domain.stage_history``): a project finished
  during the window owes the days it was still being built and none after (one reopened, the other way
  round), counted apart as for a leave.
  调休 working weekends are working days. ``due_days`` gives, per stage, how many days a report was due.
  A day the project's liaison is on an approved leave (请假) is not due either (``report_due``'s ``away``):
  for such a project both counts leave those days out (``ProjectFigures.counted_apart``), so a leave neither
  lowers nor raises its punctuality, even when a substitute reported on one of them. Nor is a day before
  the project was entered in the bot (imported or added: ``report_due``'s ``entered``, the local day of its
  ``created_at``): a project entered on a Wednesday owes that week's Wednesday to Friday, as in 填报率.
- ``open_problems`` counts problems raised by the end of the cut-off day that were still unresolved then
  (open, accepted or answered at the end of that day, ``bot.domain.problem_history``: one solved since still
  counts in a past day's figures).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.clock import day_start, to_local
from bot.domain.duties import REPORTING_STAGES, due_days, due_days_by_stage, report_due
from bot.domain.period_problems import ProblemsAt, open_problems
from bot.domain.stage_history import Move, days_up_to, stage_on, stage_then
from bot.domain.workdays import WorkCalendar
from storage.annual_plans import plan_join
from storage.entered import entered_by as entered_by_end_of
from storage.leaves import spans_between
from storage.ledger_bases import base_join
from storage.models import Person, Project, Report, Unit
from storage.node_queries import node_counts
from storage.problem_history import period_problems
from storage.project_versions import Held, Versions, held_at
from storage.report_figures import ReportFigures, report_aggregate
from storage.reports import reported_by_liaison
from storage.rows import all_rows as _rows
from storage.rows import gc_paused
from storage.stage_events import histories

__all__ = ["ProjectFigures", "ProjectRow", "project_figures"]

# Up to this many projects counted apart, their reports are read by id; more are read by day alone.
_FEW_PROJECTS = 1000


async def _open_problem_counts(session: AsyncSession, *, cutoff: date, problems: ProblemsAt | None
                               ) -> dict[int, int]:
    end = day_start(cutoff + timedelta(days=1))
    if problems is None:
        problems = await period_problems(session, since=end, end=end)
    elif problems.end != end:
        raise ValueError(f"problems as they stood at {problems.end}, not at the end of {cutoff}")
    return open_problems(problems)


class ProjectRow(NamedTuple):
    """One project as the standings read it: what the ledger says, with its unit's and people's names."""

    id: int
    code: str
    name: str
    category: str | None
    stage: str
    location: str | None
    lead_unit: str
    lead_official: str | None
    lead_official_id: int | None
    liaison: str | None
    liaison_id: int | None
    annual_plan: Decimal | None  # the plan of the cut-off day's year (storage.annual_plans); None: none
    done_before: Decimal | None  # the ledger base of the cut-off day's year (storage.ledger_bases); None: none
    baseline_year: int | None  # that year when it has one
    planned_start: date | None
    planned_finish: date | None
    entered_at: datetime | None = None  # when it was entered in the bot (imported or added)
    # the day from which it was finished on the cut-off day (bot.domain.stage_history.finished_from), if it was
    finish_day: date | None = None


class ProjectFigures(NamedTuple):
    """Everything the standings of the projects are computed from, for one cut-off day and window."""

    projects: list[ProjectRow]  # in code order
    reports: dict[int, ReportFigures]  # project id → its report figures; absent: no counted report
    open_problems: dict[int, int]  # project id → problems raised by the cut-off day and still unresolved
    due_days: dict[str, int]  # stage → days of the window a report was due (0 for 竣工/投产: report_due)
    stage_days: dict[int, tuple[date | None, date | None]]  # project id → confirmed (开工, 竣工) days, if any
    # project id → (due days, reported due days) for the projects whose liaison was on leave in the window or
    # that were entered during it (``_counted_apart``); the others owe ``due_days`` of their stage
    counted_apart: Mapping[int, tuple[int, int]] = {}
    # project id → (nodes done on time, nodes counted) of the cut-off day's year (storage.node_queries)
    nodes: Mapping[int, tuple[int, int]] = {}


async def project_figures(
    session: AsyncSession, *, cutoff: date, window_start: date, calendar: WorkCalendar,
    entered_by: date | None = None, problems: ProblemsAt | None = None,
    moves: Mapping[int, Sequence[Move]] | None = None, versions: Versions | None = None,
    owed_to: date | None = None,
) -> ProjectFigures:
    """The projects in code order with their report figures and open problems on ``cutoff``; with
    ``entered_by``, only the projects entered (imported or added) by the end of that day: the standings as
    they stood then, which the changes since the last period (bot.domain.changes) are measured against.
    ``problems`` (as they stood at the end of the cut-off day: ``bot.domain.period_problems``) and ``moves``
    (the projects' stage histories: ``storage.stage_events.histories``) when the caller has read them: a
    bulletin reads them once for all its figures, as the projects' ``versions`` (storage.project_versions).
    ``owed_to``: the last day of the window a report is owed on (the cut-off day unless given): the day before
    a cut-off day still under way, which counts only once it is over (as in 填报率: bot.domain.participation).

    Nine or ten queries, five or six when given ``problems``, ``moves`` and ``versions``: the projects with their names
    and the plan of the cut-off day's year, the versions of those changed since (each named and held as at the
    end of the cut-off day: storage.project_versions), their stage histories (each read in its stage of the cut-off day,
    with its confirmed 开工/竣工 days up to it: bot.domain.stage_history), two aggregates over the reports (the
    year's money, the window's days a report was due), the open problems and their histories, the leaves of
    the window (and, when a liaison was away or a project was entered during the window and still owed a day,
    those projects' reported days: ``_counted_apart``), the nodes counted (storage.node_queries).
    """
    lead = aliased(Person, name="lead_official")
    liaison = aliased(Person, name="liaison")
    plans, plan_on, plan = plan_join(Project, cutoff.year)  # the plan of the cut-off day's year
    base = base_join(Project, cutoff.year)  # the ledger base of the cut-off day's year
    query = (
        select(
            Project.id, Project.code, Project.name, Project.category, Project.stage, Project.location,
            Unit.name, lead.name, Project.lead_official_id, liaison.name, Project.liaison_id,
            plan, base.done_before, base.year,
            Project.planned_start, Project.planned_finish, Project.created_at,
        )
        .join(Unit, Unit.id == Project.lead_unit_id)
        .outerjoin(plans, plan_on)
        .outerjoin(base.table, base.on)
        .outerjoin(lead, lead.id == Project.lead_official_id)
        .outerjoin(liaison, liaison.id == Project.liaison_id)
        .order_by(Project.code)
    )
    if entered_by is not None:
        query = query.where(entered_by_end_of(entered_by))
    rows = await _rows(session, query)
    # each project named and held as the ledger had it at the end of the cut-off day (storage.project_versions)
    then = await held_at(session, at=day_start(cutoff + timedelta(days=1)), versions=versions)
    with gc_paused():
        projects = [ProjectRow(*row) for row in rows]  # finish_day: from the histories below
        projects = [row if row.id not in then else _held_then(row, then[row.id]) for row in projects]
    # each project in the stage it was in on the cut-off day (bot.domain.stage_history)
    if moves is None:
        moves = await histories(session)
    projects = [row if row.id not in moves else _on_the_day(row, moves[row.id], cutoff) for row in projects]
    if window_start > cutoff:
        raise ValueError(f"window starts after the cut-off: {window_start} > {cutoff}")
    last_owed = cutoff if owed_to is None else owed_to
    stages = {row.stage for row in projects}
    due = (due_days_by_stage(calendar, window_start, last_owed, stages) if window_start <= last_owed
           else {stage: () for stage in stages})
    reports = await report_aggregate(session, cutoff=cutoff, window_start=window_start, due=due,
                                     stages={row.id: row.stage for row in projects})
    open_counts = await _open_problem_counts(session, cutoff=cutoff, problems=problems)
    stage_days = {project_id: days_up_to(project_moves, cutoff) for project_id, project_moves in moves.items()}
    apart = await _counted_apart(session, projects, due, calendar,
                                 moved=_moved_in(moves, projects, window_start, cutoff), window_start=window_start,
                                 cutoff=last_owed)
    return ProjectFigures(projects, reports, open_counts, {stage: len(days) for stage, days in due.items()},
                          stage_days, apart, await node_counts(session, cutoff=cutoff, moves=moves))


def _held_then(row: ProjectRow, held: Held) -> ProjectRow:
    """The project with the name, town, lead unit, 包抓领导 and liaison it had then."""
    return row._replace(name=held.name, location=held.location, lead_unit=held.lead_unit,
                        lead_official=held.lead_official, lead_official_id=held.lead_official_id,
                        liaison=held.liaison, liaison_id=held.liaison_id)


def _on_the_day(row: ProjectRow, moves: Sequence[Move], cutoff: date) -> ProjectRow:
    """The project in the stage it was in on the cut-off day, with the day from which it was finished then."""
    stage, finish_day = stage_then(row.stage, moves, cutoff)
    return row._replace(stage=stage, finish_day=finish_day)


def _moved_in(moves: Mapping[int, Sequence[Move]], projects: Sequence[ProjectRow], window_start: date,
              cutoff: date) -> dict[int, list[Move]]:
    """Project id → its moves up to ``cutoff``, for the projects whose stage moved after the window's first day:
    their days are read each in its own stage."""
    return {p.id: [m for m in moves[p.id] if m.day <= cutoff] for p in projects
            if p.id in moves and any(window_start < m.day <= cutoff for m in moves[p.id])}


async def _counted_apart(session: AsyncSession, projects: Sequence[ProjectRow],
                         due: Mapping[str, Sequence[date]], calendar: WorkCalendar, *,
                         moved: Mapping[int, Sequence[Move]], window_start: date, cutoff: date
                         ) -> dict[int, tuple[int, int]]:
    """Project id → (due days, reported due days) for the projects whose liaison had a leave in the window,
    that were entered after its first due day, or whose stage ``moved`` during it (``bot.domain.duties.due_days``
    with the leaves and the day it was entered, each day read in the stage the project was in on it); one
    query, two when one of them still owed a day (its reports on those days)."""
    window = {stage: list(days) for stage, days in
              due_days_by_stage(calendar, window_start, cutoff, REPORTING_STAGES).items()} \
        if moved and window_start <= cutoff else {}
    days = sorted({d for stage_days in (*due.values(), *window.values()) for d in stage_days})
    if not days:
        return {}
    first = day_start(days[0])
    first_utc = first.astimezone(UTC).replace(tzinfo=None)  # SQLite gives naive UTC instants (bot.clock.to_local)
    entered = {p.id: to_local(p.entered_at).date() for p in projects
               if p.entered_at is not None and p.entered_at >= (first if p.entered_at.tzinfo else first_utc)}
    leaves = await spans_between(session, start=days[0], end=days[-1])
    away: dict[int, list[Any]] = {}
    for leave in leaves:
        away.setdefault(leave.person_id, []).append(leave)

    def owed_by(p: ProjectRow) -> list[date]:
        liaison_away = away.get(p.liaison_id, []) if p.liaison_id is not None else []
        if p.id in moved:
            return [d for d in days if report_due(d, stage_on(p.stage, moved[p.id], d), calendar,
                                                  entered=entered.get(p.id), away=liaison_away)]
        return due_days(due.get(p.stage, ()), p.stage, calendar, entered=entered.get(p.id), away=liaison_away)

    owed = {p.id: owed_by(p) for p in projects
            if p.id in entered or p.id in moved or (p.liaison_id is not None and p.liaison_id in away)}
    owing = sorted(project_id for project_id, owed_days in owed.items() if owed_days)
    reported: dict[int, set[date]] = {}
    if owing:
        query = select(Report.project_id, Report.local_day).distinct().where(
            reported_by_liaison(), Report.local_day.in_(sorted({d for p in owing for d in owed[p]})))
        if len(owing) <= _FEW_PROJECTS:  # else (a ledger imported this week) all the reports of those days
            query = query.where(Report.project_id.in_(owing))
        for project_id, day in await _rows(session, query):
            reported.setdefault(project_id, set()).add(day)
    return {project_id: (len(owed_days), sum(1 for d in owed_days if d in reported.get(project_id, ())))
            for project_id, owed_days in owed.items()}
