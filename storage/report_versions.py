"""Which version of a project's day counts: for a report withdrawn (/undo) or replaced (corrected by its liaison,
or by an admin's correction), whether a later report replaced it, and the report of that project and day that
counts now, as a photo's page of the old version says it (``bot.web.photos``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Person, Report, ReportPhoto


class Counting(NamedTuple):
    """The report of the day that counts: its id, who sent it and when, and its first photo's id (None: none)."""

    report_id: int
    reporter: str
    created_at: datetime
    first_photo_id: int | None


class Superseded(NamedTuple):
    """A report that no longer counts: its day, when it stopped counting, whether a later report replaced it
    (else it was withdrawn), and the day's report that counts now (None: none does)."""

    local_day: date
    withdrawn_at: datetime
    replaced: bool
    counting: Counting | None


async def superseded(session: AsyncSession, *, report_id: int) -> Superseded | None:
    """The report ``report_id`` when it no longer counts, with the version that does; None when it counts (or
    there is no such report). Three small queries, only for a report that does not count."""
    row = (await session.execute(select(Report.project_id, Report.local_day, Report.withdrawn_at)
                                 .where(Report.id == report_id))).first()
    if row is None or row.withdrawn_at is None:
        return None
    replaced = await session.scalar(select(Report.id).where(Report.replaces_id == report_id).limit(1))
    live = (await session.execute(
        select(Report.id, Person.name, Report.created_at).join(Person, Person.id == Report.person_id)
        .where(Report.project_id == row.project_id, Report.local_day == row.local_day,
               Report.withdrawn_at.is_(None)).order_by(Report.id.desc()).limit(1))).first()
    counting = None
    if live is not None:
        first = await session.scalar(select(ReportPhoto.id).where(ReportPhoto.report_id == live.id)
                                     .order_by(ReportPhoto.id).limit(1))
        counting = Counting(live.id, live.name, live.created_at, first)
    return Superseded(row.local_day, row.withdrawn_at, replaced is not None or live is not None, counting)
