"""Queries behind reminders and periodic bulletins: who has not reported, and the bulletin groups."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import to_local
from bot.domain.duties import REPORTING_STAGES
from storage.models import BulletinGroup, Person, Project, Report
from storage.reports import reported_by_liaison


@dataclass(frozen=True)
class ReportingDuty:
    """A project that should be reported on, its liaison, and its last report day."""

    project_id: int
    code: str
    name: str
    liaison_id: int
    liaison: str
    lead_unit_id: int
    lead_official_id: int | None
    last_day: date | None
    since: date | None = None  # the local day the project was entered: a duty starts then
    stage: str = "在建"


async def reporting_duties(session: AsyncSession, *, up_to: date) -> list[ReportingDuty]:
    """Projects still being built that have a liaison, with the last day (≤ up_to) its liaison reported (a 补报
    the 项目办 entered is not his: ``storage.reports.reported_by_liaison``) and the day the project was entered."""
    last = (select(Report.project_id, func.max(Report.local_day).label("last_day"))
            .where(reported_by_liaison(), Report.local_day <= up_to)  # a 补报 does not end a streak
            .group_by(Report.project_id).subquery())
    rows = await session.execute(
        select(Project.id, Project.code, Project.name, Project.liaison_id, Person.name, Project.lead_unit_id,
               Project.lead_official_id, last.c.last_day, Project.created_at, Project.stage)
        .join(Person, Person.id == Project.liaison_id)
        .outerjoin(last, last.c.project_id == Project.id)
        .where(Project.stage.in_(REPORTING_STAGES), Person.active.is_(True))
        .order_by(Project.liaison_id, Project.code)
    )
    return [ReportingDuty(*row[:-2], since=to_local(row[-2]).date(), stage=row[-1]) for row in rows.all()]



async def bulletin_groups(session: AsyncSession) -> list[BulletinGroup]:
    """The bulletin groups, in the order they were added."""
    return list((await session.scalars(select(BulletinGroup).order_by(BulletinGroup.id))).all())
