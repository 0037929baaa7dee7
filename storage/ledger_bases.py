"""Each year's ledger base (截至某日累计完成) per project: the one lookup every year-to-date figure uses, and
the write.

The base of a project for year Y is its ``ledger_bases`` row for Y: the year's completed investment up to a
day, as Y's ledger gave it (bot.domain.year_to_date). A project without one has no base for Y, with one
fallback: a project whose own base (``projects.done_before`` of ``baseline_year``, the base last imported) is
of Y reads it (the import always writes the row of its year, so this only serves projects written by hand).
A later year's ledger never overwrites an earlier year's base: the year just ended keeps its figures.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.entered import entered_by, entered_on
from storage.models import LedgerBase, Project
from storage.yearly_rows import replace_years


class BaseOfYear(NamedTuple):
    """SQL for reading the base of one year of many projects in one query:
    ``select(…, done_before, baseline_date).outerjoin(table, on)``."""

    table: Any  # the table to outer-join
    on: Any  # its ON clause
    done_before: Any  # the base of the year (NULL: none)
    baseline_date: Any  # the day it counts up to (NULL: none, or undated)
    year: Any  # the year when the project has a base of it, else NULL


def base_join(project: Any, year: Any, *, name: str = "base_of_year") -> BaseOfYear:
    """The base of ``year`` (a value or a bound parameter) of ``project`` (the projects table, an alias of it
    or its columns)."""
    bases = aliased(LedgerBase, name=name)
    stored = bases.project_id.is_not(None)
    own = project.baseline_year == year
    return BaseOfYear(
        bases, and_(bases.project_id == project.id, bases.year == year),
        case((stored, bases.done_before), (own, project.done_before)),
        case((stored, bases.baseline_date), (own, project.baseline_date)),
        case((or_(stored, own), year)),
    )


async def write_bases(session: AsyncSession, bases: Iterable[tuple[int, int, Decimal, date | None]], *,
                      now: datetime) -> None:
    """Set the bases (project id, year, 截至某日累计完成, its day), replacing those projects' bases of those
    years only. The caller keeps the projects' own columns as the base last written."""
    await replace_years(session, LedgerBase.__table__, base_rows(bases, now=now))


def base_rows(bases: Iterable[tuple[Any, int, Decimal, date | None]], *, now: datetime) -> list[dict[str, Any]]:
    """The ``ledger_bases`` rows of these bases (project id, year, 截至某日累计完成, its day)."""
    return [{"project_id": p, "year": y, "done_before": d, "baseline_date": day, "set_at": now}
            for p, y, d, day in bases]


async def base_days(session: AsyncSession, *, year: int, project_id: int | None = None,
                    entered: date | None = None) -> dict[date, int]:
    """The days the non-zero bases of ``year`` are dated (截至某日), each with how many projects have a base of
    that day: what a bulletin says about the bases its figures cannot split (bot.domain.year_to_date.base_days).
    Undated bases are not given (they cover no report). ``project_id``: that project's only (a project's chart);
    ``entered``: of the projects in the ledger by that day only (a past period's bulletin: storage.entered)."""
    base = base_join(Project, year)
    query = (select(base.baseline_date, func.count(Project.id))
             .outerjoin(base.table, base.on)
             .where(base.baseline_date.is_not(None), base.done_before > 0)
             .group_by(base.baseline_date))
    if project_id is not None:
        query = query.where(Project.id == project_id)
    if entered is not None:
        query = query.where(entered_by(entered))
    rows = await session.execute(query)
    return {day: int(count) for day, count in rows.all()}


async def base_days_entered(session: AsyncSession, *, year: int) -> dict[tuple[date, date], int]:
    """(The day a non-zero base of ``year`` is dated, the day its project came into the ledger: storage.entered) →
    how many projects: the bases that blur the overview's trend, each only in the weeks that count its project
    (bot.domain.trend.counted_bases). One query, grouped by import (an import enters its projects at once)."""
    base = base_join(Project, year)
    rows = await session.execute(
        select(base.baseline_date, Project.created_at, func.count(Project.id))
        .outerjoin(base.table, base.on)
        .where(base.baseline_date.is_not(None), base.done_before > 0)
        .group_by(base.baseline_date, Project.created_at))
    days: dict[tuple[date, date], int] = {}
    for day, at, count in rows.all():
        key = (day, entered_on(at))
        days[key] = days.get(key, 0) + int(count)
    return days


async def base_day_by_project(session: AsyncSession, *, year: int) -> dict[int, date]:
    """Project id → the day its non-zero base of ``year`` is dated, for the projects that have one: which of a
    lead official's projects blur his trend's earlier points (bot.domain.trend.unblurred)."""
    base = base_join(Project, year)
    rows = await session.execute(
        select(Project.id, base.baseline_date)
        .outerjoin(base.table, base.on)
        .where(base.baseline_date.is_not(None), base.done_before > 0))
    return {project_id: day for project_id, day in rows.all()}


async def base_day_by_code(session: AsyncSession, *, year: int, codes: Collection[str]) -> dict[str, date]:
    """Project code → the day its base of ``year`` is dated, for those of ``codes`` that have a dated one (a base
    of 0 too: any dated base holds the reports up to its day, bot.domain.year_to_date.counts)."""
    base = base_join(Project, year)
    rows = await session.execute(
        select(Project.code, base.baseline_date)
        .outerjoin(base.table, base.on)
        .where(base.baseline_date.is_not(None), Project.code.in_(list(codes))))
    return {code: day for code, day in rows.all()}
