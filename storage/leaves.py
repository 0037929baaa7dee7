"""Leaves (请假) as stored: recorded, listed, cut short or cancelled; the spans the rules read
(``bot.domain.leave``)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import local_day
from bot.domain.leave import LeaveSpan, cut_short, on_leave
from storage.models import AuditEntry, Leave, PersonRole


def span(leave: Leave) -> LeaveSpan:
    """The rules' view of a stored leave."""
    return LeaveSpan(leave.person_id, leave.start, leave.end, leave.substitute_id)


async def add_leave(session: AsyncSession, *, person_id: int, substitute_id: int | None, start: date, end: date,
                    now: datetime, actor: str) -> Leave:
    leave = Leave(person_id=person_id, substitute_id=substitute_id, start=start, end=end, created_at=now,
                  created_by=actor)
    session.add(leave)
    await session.flush()
    return leave


async def current_leaves(session: AsyncSession, *, today: date, person_id: int | None = None,
                         involving: int | None = None) -> list[Leave]:
    """Leaves not cancelled and not over by `today`, by start: of `person_id`, or where `involving` is the
    person or the substitute, or everyone's."""
    query = select(Leave).where(Leave.cancelled_at.is_(None), Leave.end >= today)
    if person_id is not None:
        query = query.where(Leave.person_id == person_id)
    if involving is not None:
        query = query.where(or_(Leave.person_id == involving, Leave.substitute_id == involving))
    return list((await session.scalars(query.order_by(Leave.start, Leave.id))).all())


async def spans_between(session: AsyncSession, *, start: date, end: date) -> list[LeaveSpan]:
    """Every leave (not cancelled) sharing a day with start..end."""
    rows = await session.scalars(select(Leave).where(Leave.cancelled_at.is_(None), Leave.start <= end,
                                                     Leave.end >= start))
    return [span(leave) for leave in rows.all()]


async def covering_for(session: AsyncSession, *, substitute_id: int, day: date) -> list[LeaveSpan]:
    """The leaves on `day` whose substitute is `substitute_id`."""
    rows = await session.scalars(select(Leave).where(Leave.cancelled_at.is_(None), Leave.substitute_id ==
                                                     substitute_id, Leave.start <= day, Leave.end >= day))
    return [span(leave) for leave in rows.all()]


async def stood_in_last(session: AsyncSession, *, person_id: int, substitute_id: int, today: date) -> Leave | None:
    """The latest leave of `person_id` that `substitute_id` stood in for, when it is over by `today` (it ran out, was
    cut short by 销假, or was cancelled once begun); None when there is none, or the latest runs still."""
    rows = await session.scalars(select(Leave).where(
        Leave.person_id == person_id, Leave.substitute_id == substitute_id, Leave.start <= today)
        .order_by(Leave.start.desc(), Leave.id.desc()))
    begun = (le for le in rows.all() if le.cancelled_at is None or local_day(le.cancelled_at) >= le.start)
    latest = next(begun, None)
    if latest is None or (latest.cancelled_at is None and latest.end >= today):
        return None
    return latest


async def substitutes_on(session: AsyncSession, *, person_ids: Collection[int], day: date) -> dict[int, int]:
    """Those of `person_ids` on a leave covering `day` that names a substitute, each with that substitute, in
    one read whatever their number."""
    if not person_ids:
        return {}
    rows = await session.scalars(select(Leave).where(Leave.cancelled_at.is_(None),
                                                     Leave.person_id.in_(sorted(set(person_ids))),
                                                     Leave.start <= day, Leave.end >= day))
    spans = [span(leave) for leave in rows.all()]
    found = {person_id: on_leave(spans, person_id, day) for person_id in person_ids}
    return {person_id: leave.substitute_id for person_id, leave in found.items()
            if leave is not None and leave.substitute_id is not None}


async def leads_begun_unhandled(session: AsyncSession, *, since: date, day: date) -> list[Leave]:
    """The leaves of 包抓领导 naming a substitute that run on `day` (not cancelled, not cut short before it), began
    in since..day and whose start was not handled yet (`Leave.start_handled_at`), by id. A liaison's leave is
    none of them: its substitute reports, he holds no level."""
    leads = select(PersonRole.person_id).where(PersonRole.role == "lead")
    return list((await session.scalars(select(Leave).where(
        Leave.cancelled_at.is_(None), Leave.substitute_id.is_not(None), Leave.start_handled_at.is_(None),
        Leave.start >= since, Leave.start <= day, Leave.end >= day, Leave.person_id.in_(leads))
        .order_by(Leave.id))).all())


async def leads_ended_unhandled(session: AsyncSession, *, start: date, end: date) -> list[Leave]:
    """The leaves of 包抓领导 naming a substitute that ran to their last day (not cancelled, not cut short by 销假)
    with that day in start..end and whose end was not handled yet (`Leave.end_handled_at`), by id. (One cut short
    before that mark was kept is told apart by its audit entry.)"""
    leads = select(PersonRole.person_id).where(PersonRole.role == "lead")
    rows = list((await session.scalars(select(Leave).where(
        Leave.cancelled_at.is_(None), Leave.substitute_id.is_not(None), Leave.end_handled_at.is_(None),
        Leave.end >= start, Leave.end <= end, Leave.person_id.in_(leads)).order_by(Leave.id))).all())
    if not rows:
        return []
    ended = await session.scalars(select(AuditEntry).where(
        AuditEntry.action == "leave.end", AuditEntry.object_key.in_(sorted({str(le.person_id) for le in rows}))))
    by_hand = {entry.detail.get("leave_id") for entry in ended.all()}
    return [le for le in rows if le.id not in by_hand]


async def end_leave(session: AsyncSession, leave: Leave, *, today: date, now: datetime) -> bool:
    """销假 today: a leave not begun is cancelled, one running ends yesterday (its end handled now: whom it concerns
    is told at once). False if it was over."""
    shortened = cut_short(span(leave), today)
    if shortened is None:
        leave.cancelled_at = now
    elif shortened.end == leave.end:
        return False
    else:
        leave.end = shortened.end
    leave.end_handled_at = now
    await session.flush()
    return True
