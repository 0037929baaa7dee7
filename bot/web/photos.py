"""Report photos on the web pages: what a report's timeline entry shows of its photos.

Photos are kept by the photo store (``bot.services.photos``) once it is part of the program; until then a
report's photos are the chat's file ids, which a browser cannot open, and the timeline shows how many
there are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Report


@dataclass(frozen=True)
class Pictures:
    """What a report's entry shows of its photos: how many it has, and those a browser can open."""

    count: int
    shown: tuple[int, ...] = ()  # ids of photos with a thumbnail (/web/photo/<id>)


async def of_reports(_session: AsyncSession, reports: Sequence[Report]) -> dict[int, Pictures]:
    """Report id → its pictures."""
    return {report.id: Pictures(count=len(report.photos)) for report in reports}
