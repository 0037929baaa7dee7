"""What the reports say about each project on a cut-off day, read with a few set-based aggregates (none
runs per project): the year-to-date money, the latest report and the days a report was due and made.

- Year-to-date completed investment = the ledger's dated base of the cut-off day's year
  (storage.ledger_bases) + the reports of that year dated after the
  baseline's day, up to and including the cut-off day (bot.domain.year_to_date). Reports the baseline
  covers, reports after the cut-off day and withdrawn reports never count.
- Punctuality counts the days of the window on which the project owed a report (``due``, per stage:
  ``bot.domain.duties.due_days_by_stage``) and has at least one of its liaison's: two reports on one day count
  once, a report made on a day nothing was due adds nothing, and a 补报 the 项目办 entered afterwards counts in
  the money, not here (``storage.reports.reported_by_liaison``).
- ``last_report_at`` (最近填报) is the latest of its liaison's reports (``reported_by_liaison``: not a 补报) of the
  cut-off day's year (or of the window, when the window starts in the previous year) up to the cut-off day,
  made by the end of it: a past period made again shows the last report made within it (a correction keeps
  the time of the report it corrects: storage.corrections).
- ``backfilled``: whether the same reports (the year's, made by the end of the cut-off day) hold a 补报, so that
  a project without a report of its liaison's is not shown as one nothing was ever reported for.

Money columns are ``Wan`` (万元 stored as whole 元): ``SUM`` over them keeps the type, so the sums come
back as exact Decimals in 万元 on SQLite (integer sums) and PostgreSQL (numeric sums) alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, and_, case, func, literal_column, or_, select, true, type_coerce
from sqlalchemy import text as sql_text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.clock import day_start
from storage.ledger_bases import BaseOfYear, base_join
from storage.models import STANDINGS_INDEX, Project, Report
from storage.reports import reported_by_liaison
from storage.rows import all_rows as _rows
from storage.types import Wan

__all__ = [
    "ReportFigures",
    "counted_after",
    "counts_in_year",
    "covered_sums_query",
    "report_aggregate",
    "report_aggregate_query",
    "reported_days_query",
]


class ReportFigures(NamedTuple):
    """What the reports say about one project on the cut-off day."""

    year_sum: Decimal  # the year's reports up to the cut-off day, less those the dated baseline covers
    last_report_at: datetime | None
    reported_days: int
    backfilled: bool = False  # a 补报 of the 项目办's is among the year's reports (not in last_report_at)


def report_aggregate_query(
    *, cutoff: date, window_start: date, sqlite_index: str | None = None
) -> Select[Any]:
    """Per project: the sum of the year's reports up to ``cutoff``, the latest time its liaison reported (from
    ``window_start`` on when the window starts last year), of the reports made by the end of ``cutoff``, and
    whether those reports hold a 补报 (1, else 0).

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
    made_by = columns.created_at < day_start(cutoff + timedelta(days=1))
    if lower < year_start:  # the window reaches into last year: only this year's amounts are summed
        amount = case((columns.local_day >= year_start, columns.amount))
    return (
        select(columns.project_id, func.sum(type_coerce(amount, Wan())),
               func.max(case((and_(reported_by_liaison(columns), made_by), columns.created_at))),
               func.max(case((and_(columns.backfill == true(), made_by), 1), else_=0)))
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


def _owed_groups(due: Mapping[str, Sequence[date]]) -> list[tuple[tuple[date, ...], list[str]]]:
    """The stages that owed a report on the same days, grouped by those days (stages owing none left out)."""
    stages_by_days: dict[tuple[date, ...], list[str]] = {}
    for stage, days in sorted(due.items()):
        if days:
            stages_by_days.setdefault(tuple(days), []).append(stage)
    return list(stages_by_days.items())


def reported_days_query(*, due: Mapping[str, Sequence[date]]) -> Select[Any] | None:
    """Per project with a live report on a day some stage owed one (``due``: stage → days): for each group of
    stages owing the same days (``_owed_groups``, in its order), on how many of those days it has a report;
    None when no stage owed any. Which count is a project's is for its stage on the cut-off day to say
    (``report_aggregate``): the query does not read the stage a project is in now."""
    groups = _owed_groups(due)
    if not groups:
        return None
    owed = sorted({day for days, _ in groups for day in days})
    counts = [func.count(func.distinct(case((Report.local_day.in_(list(days)), Report.local_day))))
              for days, _ in groups]
    return (
        select(Report.project_id, *counts)
        .where(reported_by_liaison(), Report.local_day.in_(owed))  # a 补报 is not the liaison's
        .group_by(Report.project_id)
    )


def counts_in_year(base: BaseOfYear, year: int) -> ColumnElement[bool]:
    """Whether a report (joined with its project and ``base``, its base of ``year``: storage.ledger_bases) of
    ``year`` counts in that year's year-to-date: it is not covered by a base of the year dated in it
    (bot.domain.year_to_date.counts), written NULL-safe: a base without a day covers nothing."""
    return or_(base.baseline_date.is_(None), base.baseline_date < date(year, 1, 1),
               Report.local_day > base.baseline_date)


def covered_sums_query(*, cutoff: date) -> Select[Any]:
    """Per project whose base of the cut-off day's year is dated in it (storage.ledger_bases): the sum of the
    live reports of that year up to the base's day (and the cut-off day), which the base already counts."""
    year_start = date(cutoff.year, 1, 1)
    base = base_join(Project, cutoff.year)
    # The few projects with a dated base, found first: their reports are then read by project (an index range)
    # rather than every report of the year tested against a base.
    dated_project = aliased(Project, name="dated_project")
    dated_base = base_join(dated_project, cutoff.year, name="dated_base")
    dated = (select(dated_project.id).outerjoin(dated_base.table, dated_base.on)
             .where(dated_base.baseline_date >= year_start))
    return (
        select(Report.project_id, func.sum(Report.amount))
        .join(Project, Project.id == Report.project_id)
        .outerjoin(base.table, base.on)
        .where(Report.project_id.in_(dated),
               Report.withdrawn_at.is_(None), Report.local_day >= year_start,
               Report.local_day <= base.baseline_date, Report.local_day <= cutoff)
        .group_by(Report.project_id)
    )


async def _covered_sums(session: AsyncSession, *, cutoff: date) -> dict[int, Decimal]:
    return {project_id: Decimal(total or 0)
            for project_id, total in await _rows(session, covered_sums_query(cutoff=cutoff))}


async def report_aggregate(
    session: AsyncSession, *, cutoff: date, window_start: date, due: Mapping[str, Sequence[date]],
    stages: Mapping[int, str],
) -> dict[int, ReportFigures]:
    """Project id → its report figures (projects without a counted report are absent).

    ``due`` gives, per stage, the days a report was owed (``due_days_by_stage``); ``stages``, project id → the
    stage it was in on the cut-off day (bot.domain.stage_history): its reported days are those its stage then
    owed, whatever its stage now (a project finished or reopened since owed what it owed then).
    Two aggregates: the year's money over most of the table, and the window's days over its few reports
    (one query doing both costs more: its COUNT(DISTINCT …) would go through every report of the year);
    and the sums the projects' dated baselines cover, taken off the year's money (bot.domain.year_to_date).
    """
    index = await _sqlite_index(session, STANDINGS_INDEX)
    days: dict[int, int] = {}
    days_query = reported_days_query(due=due)
    if days_query is not None:
        group_of = {stage: i for i, (_, owing) in enumerate(_owed_groups(due)) for stage in owing}
        for project_id, *counts in await _rows(session, days_query):
            group = group_of.get(stages.get(project_id, ""))
            if group is not None:
                days[project_id] = int(counts[group])
    covered = await _covered_sums(session, cutoff=cutoff)
    figures: dict[int, ReportFigures] = {}
    query = report_aggregate_query(cutoff=cutoff, window_start=window_start, sqlite_index=index)
    for project_id, total, last_at, backfilled in await _rows(session, query):
        year_sum = (total if total is not None else Decimal(0)) - covered.get(project_id, Decimal(0))
        figures[project_id] = ReportFigures(year_sum, last_at, days.get(project_id, 0), bool(backfilled))
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
    sums = [func.sum(type_coerce(case((Report.local_day > day, Report.amount)), Wan())) for day in days]
    base = base_join(Project, cutoff.year)
    query = (select(Report.project_id, *sums)
             .join(Project, Project.id == Report.project_id)
             .outerjoin(base.table, base.on)
             .where(Report.withdrawn_at.is_(None), Report.local_day > min(days), Report.local_day <= cutoff,
                    counts_in_year(base, cutoff.year))
             .group_by(Report.project_id))
    return {row[0]: tuple(Decimal(v or 0) for v in row[1:]) for row in await _rows(session, query)}
