"""Who sent a photo, and with what: a report (its project and day), a problem (its number) or a node's
evidence (its project and node), for telling the sender when the photo store could not keep it
(``bot.services.photo_store_fault``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.problem_numbers import problem_number
from storage.models import NodePhoto, Problem, ProblemPhoto, Project, ProjectNode, Report, ReportPhoto
from storage.photos import PhotoKind


@dataclass(frozen=True)
class PhotoSending:
    """What a photo came with: ``kind`` and the id of its report, problem or node (``owner_id``), who sent it
    (None when nobody is known: a node's evidence whose marker left no name), and how people name it."""

    kind: PhotoKind
    owner_id: int
    person_id: int | None
    code: str | None = None  # the project's code (a report's, a node's, a problem's when it has one)
    day: date | None = None  # a report's day
    number: str | None = None  # a problem's number (W0007)
    node: str | None = None  # a node's name


async def sending_of(session: AsyncSession, *, kind: PhotoKind, photo_id: int) -> PhotoSending | None:
    """The sending the photo ``photo_id`` of ``kind`` belongs to; None when it is gone."""
    if kind == "report":
        row = (await session.execute(
            select(Report.id, Report.person_id, Project.code, Report.local_day)
            .join(ReportPhoto, ReportPhoto.report_id == Report.id).join(Project, Project.id == Report.project_id)
            .where(ReportPhoto.id == photo_id))).first()
        return None if row is None else PhotoSending(kind, row[0], row[1], code=row[2], day=row[3])
    if kind == "problem":
        row = (await session.execute(
            select(Problem.id, Problem.raised_by_id, Project.code)
            .join(ProblemPhoto, ProblemPhoto.problem_id == Problem.id)
            .outerjoin(Project, Project.id == Problem.project_id)
            .where(ProblemPhoto.id == photo_id))).first()
        return None if row is None else PhotoSending(kind, row[0], row[1], code=row[2], number=problem_number(row[0]))
    row = (await session.execute(
        select(ProjectNode.id, ProjectNode.done_by_id, Project.code, ProjectNode.name)
        .join(NodePhoto, NodePhoto.node_id == ProjectNode.id).join(Project, Project.id == ProjectNode.project_id)
        .where(NodePhoto.id == photo_id))).first()
    return None if row is None else PhotoSending(kind, row[0], row[1], code=row[2], node=row[3])
