"""填报率 read and counted: the four weeks up to a cut-off day (``bot.domain.participation``) for /rank, the
weekly bulletin and the web 填报情况 page."""

from __future__ import annotations

import asyncio
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.participation import Participation, last_weeks, participation
from bot.domain.workdays import WorkCalendar
from storage.participation import participation_duties, reported_days_by_project
from storage.settings import load_calendar

__all__ = ["load_participation"]


async def load_participation(session: AsyncSession, *, cutoff: date,
                             calendar: WorkCalendar | None = None) -> Participation:
    """Every unit's and liaison's 填报率 week by week, the week of ``cutoff`` (up to it) and the three before.

    Three queries; the counting (projects × days) in a worker thread, so that the event loop goes on answering.
    """
    weeks = last_weeks(cutoff)
    calendar = calendar or await load_calendar(session)
    duties = await participation_duties(session, start=weeks[0].start, end=cutoff)
    reported = await reported_days_by_project(session, start=weeks[0].start, end=cutoff)
    return await asyncio.to_thread(participation, duties, weeks, calendar, reported)
