"""疑似重复照片 for the photos of problems and the evidence photos of nodes: which earlier photo each repeats,
by the rule of report photos (``bot.domain.photo_match``: the same picture sent before for another project
or on another day), against the earlier photos of every kind (reports', problems', nodes').

Report photos have their repeat recorded when kept (``storage.photos.keep_photo``); these are found when read
(a problem's page, a project's nodes): the kept photos' hashes, the photos of any kind sharing a band of one
of them, compared exactly. So the order of downloads does not matter here either.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import to_local
from bot.domain.photo_match import Sighting, distance, first_repeated, hash_from_text
from storage.models import NodePhoto, PhotoBlob, Problem, ProblemPhoto, Project, ProjectNode, Report, ReportPhoto
from storage.photos import sharing_a_band


@dataclass(frozen=True)
class Repeat:
    """The earlier photo a photo repeats: its kind and id, project code and day, whether the bytes are the
    very same, and how many of the 64 hash bits differ."""

    kind: str
    photo_id: int
    project_code: str | None
    local_day: date
    identical: bool
    distance: int


@dataclass(frozen=True)
class _Seen:
    sighting: Sighting
    sha256: str
    project_code: str | None


def _queries(where):  # type: ignore[no-untyped-def]
    """Per kind: the kept photos (id, project id and code, sent at, sha256, hash) whose blob matches ``where``."""
    report = (select(ReportPhoto.id, Report.project_id, Project.code, Report.created_at, Report.local_day,
                     ReportPhoto.sha256, PhotoBlob.phash)
              .join(Report, Report.id == ReportPhoto.report_id).join(Project, Project.id == Report.project_id)
              .join(PhotoBlob, PhotoBlob.sha256 == ReportPhoto.sha256))
    problem = (select(ProblemPhoto.id, Problem.project_id, Project.code, Problem.created_at, ProblemPhoto.sha256,
                      PhotoBlob.phash)
               .join(Problem, Problem.id == ProblemPhoto.problem_id)
               .outerjoin(Project, Project.id == Problem.project_id)
               .join(PhotoBlob, PhotoBlob.sha256 == ProblemPhoto.sha256))
    node = (select(NodePhoto.id, ProjectNode.project_id, Project.code, NodePhoto.created_at, NodePhoto.sha256,
                   PhotoBlob.phash)
            .join(ProjectNode, ProjectNode.id == NodePhoto.node_id).join(Project, Project.id == ProjectNode.project_id)
            .join(PhotoBlob, PhotoBlob.sha256 == NodePhoto.sha256))
    return {"report": report.where(where), "problem": problem.where(where), "node": node.where(where)}


async def _sightings(session: AsyncSession, where) -> list[_Seen]:  # type: ignore[no-untyped-def]
    seen: list[_Seen] = []
    for kind, query in _queries(where).items():
        for row in await session.execute(query):
            if kind == "report":
                photo_id, project_id, code, at, day, sha, phash = row
            else:
                photo_id, project_id, code, at, sha, phash = row
                day = to_local(at).date()
            seen.append(_Seen(Sighting(photo_id=photo_id, project_id=project_id, local_day=day, reported_at=at,
                                       phash=hash_from_text(phash), kind=kind), sha, code))
    return seen


async def repeats_of(session: AsyncSession, *, kind: str, photo_ids: Sequence[int]) -> dict[int, Repeat]:
    """Photo id → the earliest earlier photo it repeats, for these photos of ``kind`` ("problem", "node");
    photos not kept, without a hash or repeating nothing are left out."""
    if not photo_ids:
        return {}
    table = {"problem": ProblemPhoto, "node": NodePhoto}[kind]
    hashes = [hash_from_text(h) for h in (await session.scalars(
        select(PhotoBlob.phash).join(table, table.sha256 == PhotoBlob.sha256)
        .where(table.id.in_(list(photo_ids)), PhotoBlob.phash.is_not(None)).distinct())).all()]
    if not hashes:
        return {}
    seen = await _sightings(session, sharing_a_band(hashes))
    wanted = set(photo_ids)
    found: dict[int, Repeat] = {}
    for mine in seen:
        me = mine.sighting
        if me.kind != kind or me.photo_id not in wanted:
            continue
        earlier = first_repeated(me, [other.sighting for other in seen])
        if earlier is None:
            continue
        other = next(s for s in seen if s.sighting.key == earlier.key)
        found[me.photo_id] = Repeat(kind=earlier.kind, photo_id=earlier.photo_id, project_code=other.project_code,
                                    local_day=earlier.local_day, identical=other.sha256 == mine.sha256,
                                    distance=distance(me.phash, earlier.phash))
    return found
