"""Each year's annual plan (年度计划投资) per project: the one lookup every figure uses, and the writes.

The plan of a project for year Y is its ``annual_plans`` row for Y. A project without one has no plan for Y
(shown as 无年度计划, left out of rankings, never praised or warned), with one fallback: a project whose
ledger baseline is of Y reads ``projects.annual_plan`` (the import and /project_set always write the row of
the baseline's year, so this only serves rows written by hand). Plans of earlier years are never
overwritten by a later year's: a ledger import writes the plan of the year it is for, /project_set the
plan of the current year.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import AnnualPlan, Project, Report
from storage.yearly_rows import replace_years


def plan_of_year(project: Any, year: Any) -> Any:
    """SQL: the annual plan of ``project`` (the projects table or an alias of it) for ``year`` (a value or a
    bound parameter); NULL when the project has none for that year. A correlated subquery: for one
    project; a query over many joins ``plan_join`` instead."""
    plans = aliased(AnnualPlan)
    stored = select(plans.amount).where(plans.project_id == project.id, plans.year == year).scalar_subquery()
    return func.coalesce(stored, _fallback(project, year))


def plan_join(project: Any, year: Any) -> tuple[Any, Any, Any]:
    """(table to outer-join, its ON clause, the plan column) for reading the plan of ``year`` of many
    projects in one query: ``select(…, column).outerjoin(table, on)``."""
    plans = aliased(AnnualPlan, name="plan_of_year")
    on = and_(plans.project_id == project.id, plans.year == year)
    return plans, on, func.coalesce(plans.amount, _fallback(project, year))


def _fallback(project: Any, year: Any) -> Any:
    """A project without a row for the year reads its own ``annual_plan`` when its baseline is of that year
    (every project written since plans are kept per year has a row for its baseline's year)."""
    return case((project.baseline_year == year, project.annual_plan))


async def plans_of_year(session: AsyncSession, *, year: int) -> dict[int, Decimal | None]:
    """Project id → its plan for ``year`` (None: no plan that year), for every project, in one query."""
    projects = aliased(Project)
    rows = await session.execute(select(projects.id, plan_of_year(projects, year)))
    return {project_id: plan for project_id, plan in rows.all()}


async def plan_for(session: AsyncSession, *, project_id: int, year: int) -> Decimal | None:
    """One project's plan for ``year`` (None: none)."""
    projects = aliased(Project)
    return await session.scalar(select(plan_of_year(projects, year)).where(projects.id == project_id))


async def count_planned(session: AsyncSession, *, year: int) -> int:
    """How many projects have a plan for ``year``."""
    projects = aliased(Project)
    return int(await session.scalar(
        select(func.count()).select_from(projects).where(plan_of_year(projects, year).is_not(None))) or 0)


async def write_plans(session: AsyncSession, plans: Iterable[tuple[int, int, Decimal]], *, now: datetime) -> None:
    """Set the plans (project id, year, amount), replacing those projects' plans of those years only. The
    caller keeps ``projects.annual_plan`` as the plan last written."""
    await replace_years(session, AnnualPlan.__table__, plan_rows(plans, now=now))


def plan_rows(plans: Iterable[tuple[Any, int, Decimal]], *, now: datetime) -> list[dict[str, Any]]:
    """The ``annual_plans`` rows of these plans (project id, year, amount)."""
    return [{"project_id": p, "year": y, "amount": a, "set_at": now} for p, y, a in plans]


async def set_plan(session: AsyncSession, *, project_id: int, year: int, amount: Decimal, now: datetime) -> None:
    """Set one project's plan for ``year`` (the other years' stay as they are)."""
    await write_plans(session, [(project_id, year, amount)], now=now)


async def year_facts(session: AsyncSession, *, cutoff: date) -> tuple[int, int]:
    """(projects with a plan for the cut-off day's year, live reports dated in that year up to the cut-off
    day): whether anything at all is known of that year (bot.domain.periods.refusal)."""
    planned = await count_planned(session, year=cutoff.year)
    reported = await session.scalar(select(func.count(Report.id)).where(
        Report.withdrawn_at.is_(None), Report.local_day >= date(cutoff.year, 1, 1), Report.local_day <= cutoff))
    return planned, int(reported or 0)
