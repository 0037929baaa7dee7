"""疑似重复照片 for the photos of problems and the evidence photos of nodes: which earlier photo each repeats,
by the rule of every photo (``bot.domain.photo_match``: the same picture sent before for another project or on
another day, or with it), against the earlier photos of every kind (reports', problems', nodes').

Report photos have their repeat recorded when kept (``storage.photos.keep_photo``), against the same photos of
every kind; these are found when read (a problem's page, a project's nodes): the kept photos' hashes, the
photos of any kind sharing a band of one of them (``storage.photo_sightings``), compared exactly. So the order
of downloads does not matter here either.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.photo_match import distance, first_repeated, hash_from_text
from storage.models import NodePhoto, PhotoBlob, ProblemPhoto
from storage.photo_sightings import sightings
from storage.photos import sharing_a_band


@dataclass(frozen=True)
class Repeat:
    """The earlier photo a photo repeats: its kind and id, project code and day, whether the bytes are the
    very same, how many of the 64 hash bits differ, and whether it came with the same problem (node's evidence)."""

    kind: str
    photo_id: int
    project_code: str | None
    local_day: date
    identical: bool
    distance: int
    together: bool = False


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
    seen = await sightings(session, sharing_a_band(hashes))
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
                                    distance=distance(me.phash, earlier.phash), together=earlier.sent_together(me))
    return found
