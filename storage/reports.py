"""Repository functions for progress reports."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, direct
from storage.audit import Actor
from storage.db import Unit
from storage.direct import Direct
from storage.models import Report, ReportPhoto


@dataclass(frozen=True)
class NewReport:
    """A report as just stored by `add_report` (plain values; the amount as it reads back)."""

    id: int
    project_id: int
    person_id: int
    local_day: date
    amount: Decimal
    progress_text: str
    photos: tuple[str, ...]
    channel: str
    created_at: datetime


_REPORTS, _PHOTOS = Report.__table__, ReportPhoto.__table__
_INSERT_REPORT = Direct(
    insert(_REPORTS).values(
        project_id=bindparam("project_id"), person_id=bindparam("person_id"), local_day=bindparam("local_day"),
        amount=bindparam("amount"), progress_text=bindparam("progress_text"), channel=bindparam("channel"),
        created_at=bindparam("created_at"),
    ).returning(_REPORTS.c.id, _REPORTS.c.amount)
)
_INSERT_PHOTO = Direct(
    insert(_PHOTOS).values(report_id=bindparam("report_id"), channel=bindparam("channel"),
                           file_id=bindparam("file_id"))
)


async def add_report(
    session: AsyncSession | Unit,
    *,
    project_id: int,
    person_id: int,
    local_day: date,
    amount: Decimal,
    progress_text: str,
    photos: Sequence[str],
    channel: str,
    now: datetime,
    actor: Actor,
    project_code: str,
    commit: bool = False,
) -> NewReport:
    """Store a report, its photos and its audit entry (``report.create`` on the project) in one round trip
    on SQLite (see storage.direct). With `commit` (`session` is then a unit of work), the report is the
    unit's last write and is committed in the same round trip."""
    steps = [direct.Step(_INSERT_REPORT, {
        "project_id": project_id, "person_id": person_id, "local_day": local_day, "amount": amount,
        "progress_text": progress_text, "channel": channel, "created_at": now,
    })]
    steps += [direct.Step(_INSERT_PHOTO, functools.partial(_photo, file_id=file_id, channel=channel))
              for file_id in photos]
    steps.append(audit.entry(
        actor=actor, at=now, action="report.create", object_type="project", object_key=project_code,
        detail=lambda done: {"report_id": done[0][0][0], "amount": str(amount), "progress": progress_text,
                             "photos": len(photos)},
    ))
    [(report_id, stored)], *_ = await direct.run(session, *steps, commit=commit)
    return NewReport(id=report_id, project_id=project_id, person_id=person_id, local_day=local_day, amount=stored,
                     progress_text=progress_text, photos=tuple(photos), channel=channel, created_at=now)


def _photo(done: list[list[direct.Row]], *, file_id: str, channel: str) -> dict[str, object]:
    return {"report_id": done[0][0][0], "channel": channel, "file_id": file_id}


async def last_report_of_day(session: AsyncSession, *, person_id: int, local_day: date) -> Report | None:
    """The person's latest report of that day that has not been withdrawn."""
    return await session.scalar(
        select(Report)
        .where(Report.person_id == person_id, Report.local_day == local_day, Report.withdrawn_at.is_(None))
        .order_by(Report.created_at.desc(), Report.id.desc())
        .limit(1)
    )


async def projects_reported_on(session: AsyncSession, *, project_ids: Sequence[int], local_day: date) -> set[int]:
    """Which of these projects have a (not withdrawn) report on that day."""
    if not project_ids:
        return set()
    rows = await session.scalars(
        select(Report.project_id)
        .where(Report.project_id.in_(project_ids), Report.local_day == local_day, Report.withdrawn_at.is_(None))
        .distinct()
    )
    return set(rows.all())
