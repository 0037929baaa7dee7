"""Repository functions for progress reports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Insert, and_, exists, false, func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit
from storage.audit import Actor
from storage.models import Person, Project, Report, ReportPhoto


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


def reported_by_liaison(reports: Any = None) -> ColumnElement[bool]:
    """Whether a report (of ``reports``: the table's columns or an alias's; the model's by default) is one its
    liaison (or his substitute) made: live, and not a 补报 the 项目办 entered afterwards (``Report.backfill``).
    The one rule of what 填报率, 按时填报 and the 连续未填报 streaks count as reported; a 补报 counts in the
    money like any live report."""
    columns = Report if reports is None else reports
    return and_(columns.withdrawn_at.is_(None), columns.backfill == false())


class ReportConflict(Exception):
    """The day's report of the project is no longer what the caller saw (another report was stored, or the
    one to replace was withdrawn or replaced meanwhile): nothing was written."""


def _insert_unless_reported(values: dict[str, object], *, check: bool) -> Insert:
    """INSERT the report unless (with `check`) the project already has a live report that day, as one
    statement (so the check and the write cannot be split by another writer on SQLite, whose write lock
    the INSERT holds)."""
    columns = list(values)
    live = select(_REPORTS.c.id).where(
        _REPORTS.c.project_id == values["project_id"], _REPORTS.c.local_day == values["local_day"],
        _REPORTS.c.withdrawn_at.is_(None),
    )
    row = select(*(literal(values[name], _REPORTS.c[name].type).label(name) for name in columns))
    return (insert(_REPORTS).from_select(columns, row.where(~exists(live)) if check else row)
            .returning(_REPORTS.c.id, _REPORTS.c.amount))


async def add_report(
    session: AsyncSession,
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
    replaces: int | None = None,
    on_behalf_of: tuple[int, str] | None = None,
    backfill_reason: str | None = None,
) -> NewReport:
    """Store the day's report of a project, its photos and its audit entry (``report.create``, or
    ``report.replace`` naming the report replaced): a few Core statements in the session's transaction.

    The project has at most one live report a day: with `replaces` (the id of the live report of that day
    the caller showed the user) that one is withdrawn and named by the new one; without it there must be
    none. Otherwise `ReportConflict` is raised, with nothing written.

    `on_behalf_of` (id, name): the liaison on leave a substitute reports for. The report is the
    substitute's (`person_id`); the audit entry names both (the actor, and ``for``/``for_person_id``).

    `backfill_reason`: the 项目办 enters the report of a past day that has none (补报, ``storage.backfills``):
    audited as ``report.backfill`` with the day and the reason, read back like a correction from nothing.
    """
    if session.get_bind().dialect.name == "postgresql":
        # Reports of one project wait for each other here (READ COMMITTED: the check below then sees what
        # the one before committed). On SQLite the INSERT itself holds the one write lock.
        await session.execute(select(Project.id).where(Project.id == project_id).with_for_update())
    replaced_amount: Decimal | None = None
    if replaces is not None:
        replaced_amount = await session.scalar(
            update(_REPORTS)
            .where(_REPORTS.c.id == replaces, _REPORTS.c.project_id == project_id,
                   _REPORTS.c.local_day == local_day, _REPORTS.c.withdrawn_at.is_(None))
            .values(withdrawn_at=now)
            .returning(_REPORTS.c.amount)
        )
        if replaced_amount is None:
            raise ReportConflict(project_code)
    values: dict[str, object] = {
        "project_id": project_id, "person_id": person_id, "local_day": local_day, "amount": amount,
        "progress_text": progress_text, "channel": channel, "created_at": now, "replaces_id": replaces,
    }
    # Replacing, the day's report was just withdrawn under the lock: nothing to check (and a day with two
    # live reports from before the one-a-day rule keeps its other one rather than fail half-written).
    if backfill_reason is not None:  # else the column's default: the report path's INSERT stays as it was
        values["backfill"] = True
    stored_row = (await session.execute(_insert_unless_reported(values, check=replaces is None))).first()
    if stored_row is None:
        raise ReportConflict(project_code)
    report_id, stored = stored_row
    if photos:
        # Due for download at once (storage.photos: the photo keeper keeps them for good).
        await session.execute(insert(_PHOTOS), [{"report_id": report_id, "channel": channel, "file_id": file_id,
                                                 "fetch_after": now} for file_id in photos])
    detail: dict[str, object] = {"report_id": report_id, "amount": str(amount), "progress": progress_text,
                                 "photos": len(photos)}
    if on_behalf_of is not None:
        detail.update(for_person_id=on_behalf_of[0], **{"for": on_behalf_of[1]})
    if replaces is not None:
        detail.update(replaces=replaces, replaced_amount=f"{replaced_amount.normalize():f}")
    action = "report.replace" if replaces else "report.create"
    if backfill_reason is not None:
        action = "report.backfill"
        detail.update(day=local_day.isoformat(), before="0", after=f"{amount.normalize():f}", before_progress="",
                      after_progress=progress_text, reason=backfill_reason, reported_by="")
    await audit.record(session, actor=actor, at=now, action=action, object_type="project",
                       object_key=project_code, detail=detail)
    return NewReport(id=report_id, project_id=project_id, person_id=person_id, local_day=local_day, amount=stored,
                     progress_text=progress_text, photos=tuple(photos), channel=channel, created_at=now)


async def add_photos(session: AsyncSession, *, report_id: int, channel: str, photos: Sequence[str],
                     now: datetime) -> int | None:
    """Attach more photos to a report that still counts (the rest of an album sent with it), due for
    download at once; how many photos it has now, or None when it was withdrawn or replaced meanwhile."""
    live = await session.scalar(select(_REPORTS.c.id).where(_REPORTS.c.id == report_id,
                                                            _REPORTS.c.withdrawn_at.is_(None)))
    if live is None:
        return None
    if photos:
        await session.execute(insert(_PHOTOS), [{"report_id": report_id, "channel": channel, "file_id": file_id,
                                                 "fetch_after": now} for file_id in photos])
    return int(await session.scalar(select(func.count()).where(_PHOTOS.c.report_id == report_id)) or 0)


@dataclass(frozen=True)
class DayReport:
    """The live report of a project on a day, as the replace question shows it."""

    id: int
    amount: Decimal
    progress_text: str
    created_at: datetime
    person_name: str
    photo_count: int


async def live_report_of_day(session: AsyncSession, *, project_id: int, local_day: date) -> DayReport | None:
    """The project's report that counts for that day, if any (one SELECT)."""
    photos = select(func.count(ReportPhoto.id)).where(ReportPhoto.report_id == Report.id).scalar_subquery()
    row = (await session.execute(
        select(Report.id, Report.amount, Report.progress_text, Report.created_at, Person.name, photos)
        .join(Person, Person.id == Report.person_id)
        .where(Report.project_id == project_id, Report.local_day == local_day, Report.withdrawn_at.is_(None))
        .order_by(Report.id.desc())
        .limit(1)
    )).first()
    return DayReport(*row) if row is not None else None


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
