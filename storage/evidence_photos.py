"""Reading back the photos attached to problems and the evidence photos of nodes, kept like report photos
(``storage.photos``): a problem's or nodes' photos with their keeping state, and one photo with what its
route checks the viewer's scope on (the problem, or the node's project)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import NodePhoto, PhotoBlob, ProblemPhoto, ProjectNode


@dataclass(frozen=True)
class EvidencePhoto:
    """A problem's or a node's photo: kept (``sha256``), waiting for a (next) download (``fetch_after``), or
    given up (neither; ``fetch_reason`` says why)."""

    id: int
    owner_id: int  # the problem's or the node's id
    channel: str
    sha256: str | None
    content_type: str | None
    has_thumbnail: bool
    fetch_after: datetime | None
    fetch_reason: str | None

    @property
    def state(self) -> str:
        """kept | waiting | lost (as ``bot.services.photos.ProjectPhoto.state``)."""
        return "kept" if self.sha256 else ("waiting" if self.fetch_after is not None else "lost")


def _query(table: type[ProblemPhoto] | type[NodePhoto], owner):  # type: ignore[no-untyped-def]
    return (select(table.id, owner, table.channel, table.sha256, PhotoBlob.content_type,
                   func.coalesce(PhotoBlob.has_thumbnail, False), table.fetch_after, table.fetch_reason)
            .outerjoin(PhotoBlob, PhotoBlob.sha256 == table.sha256).order_by(table.id))


def _photos(rows: object) -> list[EvidencePhoto]:
    return [EvidencePhoto(i, owner, channel, sha, content_type, bool(thumb), after, error)
            for i, owner, channel, sha, content_type, thumb, after, error in rows]  # type: ignore[attr-defined]


async def photos_of_problem(session: AsyncSession, *, problem_id: int) -> list[EvidencePhoto]:
    """The photos the problem was raised with, in the order they were sent."""
    return _photos(await session.execute(
        _query(ProblemPhoto, ProblemPhoto.problem_id).where(ProblemPhoto.problem_id == problem_id)))


async def photos_of_nodes(session: AsyncSession, *, node_ids: Collection[int]) -> dict[int, list[EvidencePhoto]]:
    """Node id → its evidence photos in the order they were sent (nodes without photos are left out)."""
    found: dict[int, list[EvidencePhoto]] = {}
    if node_ids:
        for photo in _photos(await session.execute(
                _query(NodePhoto, NodePhoto.node_id).where(NodePhoto.node_id.in_(list(node_ids))))):
            found.setdefault(photo.owner_id, []).append(photo)
    return found


@dataclass(frozen=True)
class StoredEvidence:
    """Where a problem's or node's photo's bytes are, and what its reader's scope is checked on: the problem
    (a problem photo), or the node's project (a node photo)."""

    id: int
    owner_id: int  # the problem's id, or the node's project's id
    sha256: str | None
    content_type: str | None
    has_thumbnail: bool
    fetch_after: datetime | None = None  # not kept: when the next download is due (None: given up)
    fetch_reason: str | None = None  # not kept: why the last download failed


async def _stored(session: AsyncSession, query) -> StoredEvidence | None:  # type: ignore[no-untyped-def]
    row = (await session.execute(query)).first()
    return None if row is None else StoredEvidence(row[0], row[1], row[2], row[3], bool(row[4]), row[5], row[6])


async def stored_problem_photo(session: AsyncSession, *, photo_id: int) -> StoredEvidence | None:
    """The problem photo with this id (``owner_id``: its problem), or None."""
    return await _stored(session, select(
        ProblemPhoto.id, ProblemPhoto.problem_id, ProblemPhoto.sha256, PhotoBlob.content_type,
        func.coalesce(PhotoBlob.has_thumbnail, False), ProblemPhoto.fetch_after, ProblemPhoto.fetch_reason)
        .outerjoin(PhotoBlob, PhotoBlob.sha256 == ProblemPhoto.sha256).where(ProblemPhoto.id == photo_id))


async def stored_node_photo(session: AsyncSession, *, photo_id: int) -> StoredEvidence | None:
    """The node evidence photo with this id (``owner_id``: its node's project), or None."""
    return await _stored(session, select(
        NodePhoto.id, ProjectNode.project_id, NodePhoto.sha256, PhotoBlob.content_type,
        func.coalesce(PhotoBlob.has_thumbnail, False), NodePhoto.fetch_after, NodePhoto.fetch_reason)
        .join(ProjectNode, ProjectNode.id == NodePhoto.node_id)
        .outerjoin(PhotoBlob, PhotoBlob.sha256 == NodePhoto.sha256).where(NodePhoto.id == photo_id))
