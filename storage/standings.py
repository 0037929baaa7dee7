"""The figures of a bulletin, read with a few set-based queries: per-project figures, the units' problem
handling and the problem ledger. ``bot.services.standings`` turns them into ranked standings.

Every function reads a fixed number of queries whatever the number of projects (none runs per project).
Rules, as the users gave them:

- Year-to-date completed investment = the ledger's dated baseline (``done_before`` as of ``baseline_date``,
  only when ``baseline_year`` is the cut-off day's year) + the reports of that year dated after the
  baseline's day, up to and including the cut-off day (bot.domain.year_to_date). Reports the baseline
  covers, reports after the cut-off day and withdrawn reports never count.
- The annual plan is the plan of the cut-off day's year (storage.annual_plans): a project without one has
  no completion rate and is not ranked (无年度计划).
- Punctuality counts the days of the window (``window_start``..``cutoff``, both included) on which the
  project owed a report (``bot.domain.duties.report_due``: a working day of the calendar, the project not
  竣工/投产 — read on its current stage) and has at least one: two reports on one day count once, and a
  report made on a rest day or by a finished project adds nothing (nor is that day in the denominator).
  调休 working weekends are working days. ``due_days`` gives, per stage, how many days a report was due.
  A day the project's liaison is on an approved leave (请假) is not due either (``report_due``'s ``away``):
  for such a project both counts leave those days out (``ProjectFigures.counted_apart``), so a leave neither
  lowers nor raises its punctuality, even when a substitute reported on one of them. Nor is a day before
  the project was entered in the bot (imported or added: ``report_due``'s ``entered``, the local day of its
  ``created_at``): a project entered on a Wednesday owes that week's Wednesday to Friday, as in 填报率.
- ``last_report_at`` is the latest report of the cut-off day's year (or of the window, when the window
  starts in the previous year) up to the cut-off day.
- ``open_problems`` counts problems raised by the end of the cut-off day that are still unresolved now
  (open, accepted or answered).

Money columns are ``Wan`` (万元 stored as whole 元): ``SUM`` over them keeps the type, so the sums come
back as exact Decimals in 万元 on SQLite (integer sums) and PostgreSQL (numeric sums) alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    func,
    literal_column,
    or_,
    select,
    type_coerce,
)
from sqlalchemy import text as sql_text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.clock import SHANGHAI, to_local
from bot.domain import labels
from bot.domain.duties import due_days
from bot.domain.escalation import ACTIVE, DECISION_CATEGORY, LEVEL_NAMES
from bot.domain.nodes import NODE_PROBLEM
from bot.domain.problem_numbers import problem_number
from bot.domain.standings import ProblemRow
from bot.domain.workdays import WorkCalendar
from storage.annual_plans import plan_join
from storage.leaves import spans_between
from storage.models import (
    STANDINGS_INDEX,
    AuditEntry,
    Leave,
    Person,
    Problem,
    ProblemEvent,
    Project,
    Report,
    StageEvent,
    Unit,
)
from storage.node_queries import node_counts
from storage.rows import all_rows as _rows
from storage.rows import gc_paused
from storage.stage_events import confirmed_days
from storage.types import Wan

__all__ = [
    "STANDINGS_INDEX",
    "counted_after",
    "ProjectFigures",
    "ProjectRow",
    "ReportFigures",
    "due_days_by_stage",
    "problem_rows",
    "project_figures",
    "report_aggregate",
    "report_aggregate_query",
    "reported_days_query",
    "unit_problem_shares",
    "window_working_days",
]

# Event kinds that decide whether a problem was handled within its deadline.
_RESOLVING = ("resolved", "closed")
_HANDLING_KINDS = (*_RESOLVING, "reopened", "escalated")

# Up to this many projects counted apart, their reports are read by id; more are read by day alone.
_FEW_PROJECTS = 1000

_HISTORY_TEXT_CHARS = 30
_HISTORY_SEPARATOR = "；"


def _day_start(day: date) -> datetime:
    """The first instant of ``day`` in the users' time zone (aware)."""
    return datetime.combine(day, time(0), tzinfo=SHANGHAI)


def window_working_days(calendar: WorkCalendar, window_start: date, cutoff: date) -> list[date]:
    """The working days of ``window_start``..``cutoff`` (both included), in order."""
    if window_start > cutoff:
        raise ValueError(f"window starts after the cut-off: {window_start} > {cutoff}")
    days: list[date] = []
    day = window_start
    while day <= cutoff:
        if calendar.is_working_day(day):
            days.append(day)
        day += timedelta(days=1)
    return days


def due_days_by_stage(calendar: WorkCalendar, window_start: date, cutoff: date,
                      stages: Iterable[str]) -> dict[str, tuple[date, ...]]:
    """Per stage: the days of ``window_start``..``cutoff`` on which a project in it owes a report
    (``bot.domain.duties.due_days``; none for a 竣工/投产 project)."""
    if window_start > cutoff:
        raise ValueError(f"window starts after the cut-off: {window_start} > {cutoff}")
    window = [window_start + timedelta(days=n) for n in range((cutoff - window_start).days + 1)]
    return {stage: tuple(due_days(window, stage, calendar)) for stage in set(stages)}


class ReportFigures(NamedTuple):
    """What the reports say about one project on the cut-off day."""

    year_sum: Decimal  # the year's reports up to the cut-off day, less those the dated baseline covers
    last_report_at: datetime | None
    reported_days: int




def report_aggregate_query(
    *, cutoff: date, window_start: date, sqlite_index: str | None = None
) -> Select[Any]:
    """Per project: the sum of the year's reports up to ``cutoff`` and the latest report's time (from
    ``window_start`` on when the window starts last year).

    On SQLite pass ``sqlite_index=STANDINGS_INDEX`` (when it exists): the query then names the index to
    read (``INDEXED BY``). Left to itself, SQLite's planner picks a plan 3-10x slower whether or not
    ANALYZE ever ran: without statistics it takes the year's range for very selective and walks
    ``ix_reports_local_day``, reading every report from the table and sorting them by project; with
    statistics but a range it cannot use, it walks ``ix_reports_project_day`` and reads the table.
    ``ix_reports_standings`` covers the query (partial: withdrawn reports are not in it) and is read in
    project order. PostgreSQL keeps statistics and plans well by itself.
    """
    year_start = date(cutoff.year, 1, 1)
    lower = min(year_start, window_start)
    columns: Any = Report.__table__.c
    source: Any = Report.__table__
    if sqlite_index is not None:
        source = sql_text(f"reports INDEXED BY {sqlite_index}")
        columns = SimpleNamespace(**{c.name: literal_column(c.name, c.type) for c in Report.__table__.c})
    amount: ColumnElement[Any] = columns.amount
    if lower < year_start:  # the window reaches into last year: only this year's amounts are summed
        amount = case((columns.local_day >= year_start, columns.amount))
    return (
        select(columns.project_id, func.sum(type_coerce(amount, Wan())), func.max(columns.created_at))
        .select_from(source)
        .where(columns.withdrawn_at.is_(None), columns.local_day >= lower, columns.local_day <= cutoff)
        .group_by(columns.project_id)
    )


async def _sqlite_index(session: AsyncSession, name: str) -> str | None:
    """``name`` if the session's database is SQLite and has that index, else None.

    A database whose migrations predate the index still gets its bulletin, only slower.
    """
    if session.get_bind().dialect.name != "sqlite":
        return None
    query = sql_text("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = :name")
    found = await session.scalar(query, {"name": name})
    return name if found else None


def reported_days_query(*, due: Mapping[str, Sequence[date]]) -> Select[Any] | None:
    """Per project: on how many of the days its stage owed a report (``due``: stage → days) it has a report
    (projects with none are absent); None when no stage owed any."""
    stages_by_days: dict[tuple[date, ...], list[str]] = {}
    for stage, days in sorted(due.items()):
        if days:
            stages_by_days.setdefault(tuple(days), []).append(stage)
    if not stages_by_days:
        return None
    owed = or_(*(and_(Project.stage.in_(stages), Report.local_day.in_(list(days)))
                 for days, stages in stages_by_days.items()))
    return (
        select(Report.project_id, func.count(func.distinct(Report.local_day)))
        .join(Project, Project.id == Report.project_id)
        .where(Report.withdrawn_at.is_(None), owed)
        .group_by(Report.project_id)
    )


def covered_sums_query(*, cutoff: date) -> Select[Any]:
    """Per project whose baseline is dated in the cut-off day's year: the sum of the live reports of that
    year up to the baseline's day (and the cut-off day), which the baseline already counts."""
    year_start = date(cutoff.year, 1, 1)
    return (
        select(Report.project_id, func.sum(Report.amount))
        .join(Project, Project.id == Report.project_id)
        .where(Project.baseline_year == cutoff.year, Project.baseline_date >= year_start,
               Report.withdrawn_at.is_(None), Report.local_day >= year_start,
               Report.local_day <= Project.baseline_date, Report.local_day <= cutoff)
        .group_by(Report.project_id)
    )


async def _covered_sums(session: AsyncSession, *, cutoff: date) -> dict[int, Decimal]:
    return {project_id: Decimal(total or 0)
            for project_id, total in await _rows(session, covered_sums_query(cutoff=cutoff))}


async def report_aggregate(
    session: AsyncSession, *, cutoff: date, window_start: date, due: Mapping[str, Sequence[date]]
) -> dict[int, ReportFigures]:
    """Project id → its report figures (projects without a counted report are absent).

    ``due`` gives, per stage, the days a report was owed (``due_days_by_stage``).
    Two aggregates: the year's money over most of the table, and the window's days over its few reports
    (one query doing both costs more: its COUNT(DISTINCT …) would go through every report of the year);
    and the sums the projects' dated baselines cover, taken off the year's money (bot.domain.year_to_date).
    """
    index = await _sqlite_index(session, STANDINGS_INDEX)
    days: dict[int, int] = {}
    days_query = reported_days_query(due=due)
    if days_query is not None:
        days = {project_id: int(n) for project_id, n in await _rows(session, days_query)}
    covered = await _covered_sums(session, cutoff=cutoff)
    figures: dict[int, ReportFigures] = {}
    query = report_aggregate_query(cutoff=cutoff, window_start=window_start, sqlite_index=index)
    for project_id, total, last_at in await _rows(session, query):
        year_sum = (total if total is not None else Decimal(0)) - covered.get(project_id, Decimal(0))
        figures[project_id] = ReportFigures(year_sum, last_at, days.get(project_id, 0))
    return figures


async def counted_after(session: AsyncSession, *, cutoff: date, days: Sequence[date]) -> dict[int, tuple[Decimal, ...]]:
    """Project id → for each of ``days`` (before ``cutoff``, in its year), the sum of the reports that count in
    year-to-date (bot.domain.year_to_date) dated after that day up to ``cutoff``: year-to-date on such a day
    is year-to-date on ``cutoff`` less it (a baseline of the year counts on every day of it). Projects without
    such a report are absent. One query over the reports of those few weeks."""
    if not days:
        return {}
    year_start = date(cutoff.year, 1, 1)
    if min(days) < year_start or max(days) >= cutoff:
        raise ValueError(f"days must lie in {cutoff.year} before {cutoff}: {days}")
    # not covered by a baseline dated in the year (bot.domain.year_to_date.counts), written NULL-safe
    counted = or_(Project.baseline_year.is_(None), Project.baseline_year != cutoff.year,
                  Project.baseline_date.is_(None), Project.baseline_date < year_start,
                  Report.local_day > Project.baseline_date)
    sums = [func.sum(type_coerce(case((Report.local_day > day, Report.amount)), Wan())) for day in days]
    query = (select(Report.project_id, *sums)
             .join(Project, Project.id == Report.project_id)
             .where(Report.withdrawn_at.is_(None), Report.local_day > min(days), Report.local_day <= cutoff,
                    counted)
             .group_by(Report.project_id))
    return {row[0]: tuple(Decimal(v or 0) for v in row[1:]) for row in await _rows(session, query)}


async def _open_problem_counts(session: AsyncSession, *, cutoff: date) -> dict[int, int]:
    end = _day_start(cutoff + timedelta(days=1))
    query = (
        select(Problem.project_id, func.count(Problem.id))
        .where(Problem.status.in_(sorted(ACTIVE)), Problem.created_at < end)
        .group_by(Problem.project_id)
    )
    return {project_id: int(n) for project_id, n in await _rows(session, query)}


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
    done_before: Decimal | None
    baseline_year: int | None
    planned_start: date | None
    planned_finish: date | None
    entered_at: datetime | None = None  # when it was entered in the bot (imported or added)


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
    entered_by: date | None = None,
) -> ProjectFigures:
    """The projects in code order with their report figures and open problems on ``cutoff``; with
    ``entered_by``, only the projects entered (imported or added) by the end of that day: the standings as
    they stood then, which the changes since the last period (bot.domain.changes) are measured against.

    Seven or eight queries: the projects with their names and the plan of the cut-off day's year, two aggregates
    over the reports (the year's money, the window's days a report was due), one count of open problems, the
    confirmed 开工/竣工 days (bot.domain.stage_events), the leaves of the window (and, when a liaison was away or a
    project was entered during the window and still owed a day, those projects' reported days:
    ``_counted_apart``), the nodes counted (storage.node_queries).
    """
    lead = aliased(Person, name="lead_official")
    liaison = aliased(Person, name="liaison")
    plans, plan_on, plan = plan_join(Project, cutoff.year)  # the plan of the cut-off day's year
    query = (
        select(
            Project.id, Project.code, Project.name, Project.category, Project.stage, Project.location,
            Unit.name, lead.name, Project.lead_official_id, liaison.name, Project.liaison_id,
            plan, Project.done_before, Project.baseline_year,
            Project.planned_start, Project.planned_finish, Project.created_at,
        )
        .join(Unit, Unit.id == Project.lead_unit_id)
        .outerjoin(plans, plan_on)
        .outerjoin(lead, lead.id == Project.lead_official_id)
        .outerjoin(liaison, liaison.id == Project.liaison_id)
        .order_by(Project.code)
    )
    if entered_by is not None:
        query = query.where(Project.created_at < _day_start(entered_by + timedelta(days=1)))
    rows = await _rows(session, query)
    with gc_paused():
        projects = list(map(ProjectRow._make, rows))
    due = due_days_by_stage(calendar, window_start, cutoff, {row.stage for row in projects})
    reports = await report_aggregate(session, cutoff=cutoff, window_start=window_start, due=due)
    open_problems = await _open_problem_counts(session, cutoff=cutoff)
    stage_days = await confirmed_days(session, up_to=cutoff)
    apart = await _counted_apart(session, projects, due, calendar)
    return ProjectFigures(projects, reports, open_problems, {stage: len(days) for stage, days in due.items()},
                          stage_days, apart, await node_counts(session, cutoff=cutoff))


async def _counted_apart(session: AsyncSession, projects: Sequence[ProjectRow],
                         due: Mapping[str, Sequence[date]], calendar: WorkCalendar) -> dict[int, tuple[int, int]]:
    """Project id → (due days, reported due days) for the projects whose liaison had a leave in the window or
    that were entered after its first due day (``bot.domain.duties.due_days`` with the leaves and the day it
    was entered); one query, two when one of them still owed a day (its reports on those days)."""
    days = sorted({d for stage_days in due.values() for d in stage_days})
    if not days:
        return {}
    first = _day_start(days[0])
    first_utc = first.astimezone(UTC).replace(tzinfo=None)  # SQLite gives naive UTC instants (bot.clock.to_local)
    entered = {p.id: to_local(p.entered_at).date() for p in projects
               if p.entered_at is not None and p.entered_at >= (first if p.entered_at.tzinfo else first_utc)}
    leaves = await spans_between(session, start=days[0], end=days[-1])
    away: dict[int, list[Any]] = {}
    for leave in leaves:
        away.setdefault(leave.person_id, []).append(leave)
    owed = {p.id: due_days(due.get(p.stage, ()), p.stage, calendar, entered=entered.get(p.id),
                           away=away.get(p.liaison_id, []) if p.liaison_id is not None else [])
            for p in projects if p.id in entered or (p.liaison_id is not None and p.liaison_id in away)}
    owing = sorted(project_id for project_id, owed_days in owed.items() if owed_days)
    reported: dict[int, set[date]] = {}
    if owing:
        query = select(Report.project_id, Report.local_day).distinct().where(
            Report.withdrawn_at.is_(None), Report.local_day.in_(sorted({d for p in owing for d in owed[p]})))
        if len(owing) <= _FEW_PROJECTS:  # else (a ledger imported this week) all the reports of those days
            query = query.where(Report.project_id.in_(owing))
        for project_id, day in await _rows(session, query):
            reported.setdefault(project_id, set()).add(day)
    return {project_id: (len(owed_days), sum(1 for d in owed_days if d in reported.get(project_id, ())))
            for project_id, owed_days in owed.items()}


@dataclass
class _Handling:
    resolved_at: datetime | None = None
    escalated_before_resolution: bool = False
    escalated: bool = False


def _replay(events: list[tuple[str, datetime]]) -> _Handling:
    """Where a problem's handling stands after ``events`` (kind, at), oldest first."""
    state = _Handling()
    for kind, at in events:
        if kind == "escalated":
            state.escalated = True
        elif kind == "reopened":
            state.resolved_at = None
        elif kind in _RESOLVING and state.resolved_at is None:
            # "closed" right after "resolved" keeps the resolution time; a close without a resolution
            # (an admin closing it directly) resolves it then.
            state.resolved_at = at
            state.escalated_before_resolution = state.escalated
    return state


async def unit_problem_shares(
    session: AsyncSession, *, window_start: date, cutoff: date
) -> dict[str, float | None]:
    """Unit name → share of its problems handled within deadline in the window (0..1), None: none due.

    The window is ``window_start``..``cutoff`` (local days, both included). In scope are the unit's
    problems that were resolved in the window (the unit's "resolved", or a "closed" without one, not
    undone by a later "reopened") and those still unresolved at the end of the cut-off day whose
    ``resolution_due_at`` had passed by then (overdue: they count again every window they stay
    overdue). Within deadline means resolved no later than ``resolution_due_at`` and never escalated
    before that (an escalation is a breached deadline; it also resets ``resolution_due_at`` to the new
    level's clock). A problem without a due date is within deadline when resolved unescalated.

    An overdue node's problem (``NODE_PROBLEM``) is not counted: node punctuality is a score part of its own.
    Reads the current deadlines: figures for a cut-off long past may differ from what was known then.
    Units with no problem raised by the end of the cut-off day are absent (the same as None).
    Three queries: the units with problems, the problems that may be in scope, and their handling events.
    """
    start, end = _day_start(window_start), _day_start(cutoff + timedelta(days=1))
    units = {name for (name,) in await _rows(session, select(Unit.name).distinct().join(
        Problem, Problem.unit_id == Unit.id).where(Problem.created_at < end, Problem.kind != NODE_PROBLEM))}
    # Only problems that may be in scope are read: those unresolved now, and those with a resolution (or a
    # reopening) since the window started. Any other was resolved before the window and stayed so.
    touched = select(ProblemEvent.problem_id).where(ProblemEvent.kind.in_(_HANDLING_KINDS),
                                                    ProblemEvent.at >= start)
    candidate = and_(Problem.created_at < end, Problem.kind != NODE_PROBLEM,
                     or_(Problem.status.in_(sorted(ACTIVE)), Problem.id.in_(touched)))
    problems = await _rows(session, select(Problem.id, Unit.name, Problem.resolution_due_at)
                           .join(Unit, Unit.id == Problem.unit_id).where(candidate))
    events: dict[int, list[tuple[str, datetime]]] = {}
    event_rows = await _rows(
        session,
        select(ProblemEvent.problem_id, ProblemEvent.kind, ProblemEvent.at)
        .join(Problem, Problem.id == ProblemEvent.problem_id)
        .where(ProblemEvent.kind.in_(_HANDLING_KINDS), ProblemEvent.at < end, candidate)
        .order_by(ProblemEvent.problem_id, ProblemEvent.at, ProblemEvent.id),
    )
    for problem_id, kind, at in event_rows:
        events.setdefault(problem_id, []).append((kind, at))

    counts: dict[str, list[int]] = {name: [0, 0] for name in units}  # name → [within deadline, in scope]
    for problem_id, unit_name, due in problems:
        tally = counts[unit_name]
        state = _replay(events.get(problem_id, []))
        if state.resolved_at is not None:
            if not start <= state.resolved_at < end:
                continue
            tally[1] += 1
            on_time = due is None or state.resolved_at <= due
            tally[0] += int(on_time and not state.escalated_before_resolution)
        elif due is not None and due < end:
            tally[1] += 1
    return {name: (within / whole if whole else None) for name, (within, whole) in counts.items()}


def _history_entry(at: datetime, kind: str, actor: str | None, text: str | None,
                   detail: Mapping[str, object] | None) -> str:
    words = f"{at.astimezone(SHANGHAI):%m-%d %H:%M} {actor or '系统'} {labels.label(labels.EVENTS, kind)}"
    detail = detail or {}
    if kind == "reassigned" and detail.get("from") and detail.get("to"):
        words += f"（{detail['from']}→{detail['to']}）"
    if kind == "escalated":
        to = detail.get("to")
        if isinstance(to, int) and 0 <= to < len(LEVEL_NAMES):
            words += f"至{LEVEL_NAMES[to]}"
    if detail.get("as_admin"):
        words += "（管理员代为销号）"
    if text:
        flat = " ".join(text.split())
        if len(flat) > _HISTORY_TEXT_CHARS:
            flat = flat[:_HISTORY_TEXT_CHARS] + "…"
        words += f"：{flat}"
    return words


async def problem_rows(session: AsyncSession, *, include_closed: bool = True) -> list[ProblemRow]:
    """Every problem (closed ones too unless told otherwise) with its history, by number.

    The history is one short line per event ("11-20 10:00 郝芳 提出:…"), oldest first, joined by "；";
    event texts are cut to 30 characters. Two queries.
    """
    condition = [] if include_closed else [Problem.status != "closed"]
    rows = (await session.execute(
        select(Problem.id, Project.code, Project.name, Problem.category, Unit.name, Problem.status,
               Problem.level, Problem.created_at, Problem.response_due_at, Problem.resolution_due_at,
               Problem.closed_at, Problem.text)
        .outerjoin(Project, Project.id == Problem.project_id)  # a meeting decision has no project
        .join(Unit, Unit.id == Problem.unit_id)
        .where(*condition)
        .order_by(Problem.id)
    )).all()
    history: dict[int, list[str]] = {}
    events = await session.execute(
        select(ProblemEvent.problem_id, ProblemEvent.at, ProblemEvent.kind, Person.name, ProblemEvent.text,
               ProblemEvent.detail)
        .join(Problem, Problem.id == ProblemEvent.problem_id)
        .outerjoin(Person, Person.id == ProblemEvent.actor_person_id)
        .where(*condition)
        .order_by(ProblemEvent.problem_id, ProblemEvent.at, ProblemEvent.id)
    )
    for problem_id, at, kind, actor, text, detail in events.all():
        history.setdefault(problem_id, []).append(_history_entry(at, kind, actor, text, detail))
    return [
        ProblemRow(
            number=problem_number(problem_id), project_code=code or "", project_name=name or DECISION_CATEGORY,
            category=category,
            unit=unit, status=status, level=level, raised_at=raised_at, response_due_at=response_due,
            resolution_due_at=resolution_due, closed_at=closed_at, text=text,
            history=_HISTORY_SEPARATOR.join(history.get(problem_id, [])),
        )
        for (problem_id, code, name, category, unit, status, level, raised_at, response_due, resolution_due,
             closed_at, text) in rows
    ]


CHANGE_MARKED = (AuditEntry, Report, Problem, ProblemEvent, StageEvent, Leave)


async def change_mark(session: AsyncSession) -> tuple[int | None, ...]:
    """The newest row id of each table whose new rows change the standings: reports, problems and their
    events, stage events, leaves, and the audit log, which records the other changes (an /undo, a
    correction, a ledger import, a change of settings or of the calendar). A different mark means the
    standings may have changed; one query of index look-ups, cheap enough to ask every few seconds."""
    row = (await session.execute(select(*(select(func.max(t.id)).scalar_subquery() for t in CHANGE_MARKED)))).one()
    return tuple(row)
