"""Repository functions for projects and the figures shown about them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Person, Project, ProjectSupportingUnit, Report, ReportPhoto


async def get_project_by_code(session: AsyncSession, *, code: str) -> Project | None:
    return await session.scalar(select(Project).where(Project.code == code.strip().upper()))


async def projects_of_liaison(session: AsyncSession, *, person_id: int) -> list[Project]:
    query = select(Project).where(Project.liaison_id == person_id).order_by(Project.code)
    return list((await session.scalars(query)).unique().all())


async def projects_for_person(session: AsyncSession, *, person: Person) -> list[Project]:
    """Projects a person follows: as liaison, lead official, or through their unit; top and admin see all."""
    roles = person.role_names
    query = select(Project).order_by(Project.code)
    if not roles & {"top", "admin"}:
        conditions = [Project.liaison_id == person.id, Project.lead_official_id == person.id]
        if "unit" in roles and person.unit_id is not None:
            supporting = select(ProjectSupportingUnit.project_id).where(
                ProjectSupportingUnit.unit_id == person.unit_id
            )
            conditions += [Project.lead_unit_id == person.unit_id, Project.id.in_(supporting)]
        query = query.where(or_(*conditions))
    return list((await session.scalars(query)).unique().all())


@dataclass(frozen=True)
class ProjectFigures:
    """Year-to-date money and the latest report of a project."""

    ytd_done: Decimal
    all_reported: Decimal
    last_report: Report | None
    photo_count: int


async def reported_sum(session: AsyncSession, *, project_id: int, since: date | None = None) -> Decimal:
    """Sum of the project's reported amounts that were not withdrawn (from `since` on, if given)."""
    query = select(func.coalesce(func.sum(Report.amount), 0)).where(
        Report.project_id == project_id, Report.withdrawn_at.is_(None)
    )
    if since is not None:
        query = query.where(Report.local_day >= since)
    return Decimal(await session.scalar(query) or 0)


async def project_figures(session: AsyncSession, *, project: Project, today: date) -> ProjectFigures:
    year_start = date(today.year, 1, 1)
    this_year = await reported_sum(session, project_id=project.id, since=year_start)
    everything = await reported_sum(session, project_id=project.id)
    baseline = project.done_before if project.baseline_year == today.year else Decimal(0)
    last = await session.scalar(
        select(Report)
        .where(Report.project_id == project.id, Report.withdrawn_at.is_(None))
        .order_by(Report.created_at.desc(), Report.id.desc())
        .limit(1)
    )
    photos = await session.scalar(
        select(func.count(ReportPhoto.id))
        .join(Report, Report.id == ReportPhoto.report_id)
        .where(Report.project_id == project.id, Report.withdrawn_at.is_(None))
    )
    return ProjectFigures(
        ytd_done=baseline + this_year, all_reported=everything, last_report=last, photo_count=int(photos or 0)
    )


def remaining_investment(project: Project, all_reported: Decimal) -> Decimal:
    """What is left of the total investment after the ledger's baseline and every report."""
    return project.total_investment - project.done_before - all_reported
