"""Kept photos of every kind (a report's, a problem's, a node's evidence) as sightings of a picture
(``bot.domain.photo_match.Sighting``: which photo, of which project and day, sent when, with which hash), for
the rule of 疑似重复照片 to compare. One query per kind, for the photos whose blob matches a condition (in
practice ``storage.photos.sharing_a_band``). A report photo's day is its report's; a problem's or a node's
photo's is the day it was sent (Shanghai time). A photo was sent with its report, its problem, or its node's
evidence at once (the node and the number of its sending: a node done, reopened and done again has several
sendings, however close in time; the late parts of an album join the sending that marked it done).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import to_local
from bot.domain.photo_match import Sighting, hash_from_text
from storage.models import NodePhoto, PhotoBlob, Problem, ProblemPhoto, Project, ProjectNode, Report, ReportPhoto


@dataclass(frozen=True)
class Seen:
    """A sighting, with the photo's bytes (sha256) and its project's code (None: a problem of no project)."""

    sighting: Sighting
    sha256: str
    project_code: str | None


def _queries(where: ColumnElement[bool]) -> dict[str, Any]:
    """Per kind: the kept photos (id, what sent with, project id and code, sent at, day, sha256, hash) whose
    blob matches."""
    report = (select(ReportPhoto.id, ReportPhoto.report_id, Report.project_id, Project.code, Report.created_at,
                     Report.local_day, ReportPhoto.sha256, PhotoBlob.phash)
              .join(Report, Report.id == ReportPhoto.report_id).join(Project, Project.id == Report.project_id)
              .join(PhotoBlob, PhotoBlob.sha256 == ReportPhoto.sha256))
    problem = (select(ProblemPhoto.id, ProblemPhoto.problem_id, Problem.project_id, Project.code,
                      Problem.created_at, ProblemPhoto.sha256, PhotoBlob.phash)
               .join(Problem, Problem.id == ProblemPhoto.problem_id)
               .outerjoin(Project, Project.id == Problem.project_id)
               .join(PhotoBlob, PhotoBlob.sha256 == ProblemPhoto.sha256))
    node = (select(NodePhoto.id, NodePhoto.node_id, ProjectNode.project_id, Project.code, NodePhoto.created_at,
                   NodePhoto.sha256, PhotoBlob.phash, NodePhoto.sending)
            .join(ProjectNode, ProjectNode.id == NodePhoto.node_id).join(Project, Project.id == ProjectNode.project_id)
            .join(PhotoBlob, PhotoBlob.sha256 == NodePhoto.sha256))
    hashed = PhotoBlob.phash.is_not(None)
    return {"report": report.where(where, hashed), "problem": problem.where(where, hashed),
            "node": node.where(where, hashed)}


async def sightings(session: AsyncSession, where: ColumnElement[bool]) -> list[Seen]:
    """The kept photos of every kind whose blob (with a hash) matches ``where``."""
    seen: list[Seen] = []
    for kind, query in _queries(where).items():
        for row in await session.execute(query):
            if kind == "report":
                photo_id, sent_with, project_id, code, at, day, sha, phash = row
            elif kind == "node":
                photo_id, node_id, project_id, code, at, sha, phash, sending = row
                day, sent_with = to_local(at).date(), (node_id, sending)
            else:
                photo_id, sent_with, project_id, code, at, sha, phash = row
                day = to_local(at).date()
            seen.append(Seen(Sighting(photo_id=photo_id, project_id=project_id, local_day=day, reported_at=at,
                                      phash=hash_from_text(phash), kind=kind, sent_with=sent_with), sha, code))
    return seen
