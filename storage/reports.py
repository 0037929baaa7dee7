"""Repository functions for progress reports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Report, ReportPhoto


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
) -> Report:
    report = Report(
        project_id=project_id,
        person_id=person_id,
        local_day=local_day,
        amount=amount,
        progress_text=progress_text,
        channel=channel,
        created_at=now,
        photos=[ReportPhoto(channel=channel, file_id=file_id) for file_id in photos],
    )
    session.add(report)
    await session.flush()
    return report


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
