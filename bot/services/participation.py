"""填报率 read and counted: the four weeks up to a cut-off day (``bot.domain.participation``) for /rank, the
weekly bulletin and the web 填报情况 page."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.participation import Duty, Participation, Week, last_weeks, participation, reported_masks
from bot.domain.stage_history import Move
from bot.domain.workdays import WorkCalendar
from storage.participation import participation_duties, reported_day_masks
from storage.project_versions import Versions
from storage.rows import gc_paused
from storage.settings import load_calendar

__all__ = ["load_participation"]


async def load_participation(session: AsyncSession, *, cutoff: date, calendar: WorkCalendar | None = None,
                             today: date | None = None, moves: Mapping[int, Sequence[Move]] | None = None,
                             versions: Versions | None = None) -> Participation:
    """Every unit's and liaison's 填报率 week by week, the week of ``cutoff`` (up to it) and the three before;
    ``today``: the day under way (by the clock), which counts only once it is over (a cut-off of today);
    ``moves``: the projects' stage histories, ``versions`` their dated versions (storage.project_versions: each
    project's unit and liaison are those it had at the end of ``cutoff``), when the caller has read them.

    Three queries, one more without ``moves`` and one more without ``versions``; the counting (the reported days
    grouped, projects × days) in a worker thread, so that the event loop goes on answering.
    """
    weeks = last_weeks(cutoff)
    calendar = calendar or await load_calendar(session)
    duties = await participation_duties(session, start=weeks[0].start, end=cutoff, moves=moves, versions=versions)
    rows = await reported_day_masks(session, start=weeks[0].start, end=cutoff)
    return await asyncio.to_thread(_count, duties, weeks, calendar, rows, today)


def _count(duties: list[Duty], weeks: list[Week], calendar: WorkCalendar, rows: Sequence[tuple[int, int]],
           today: date | None) -> Participation:
    with gc_paused():  # many small objects, no cycles: a full collection would hold the event loop too
        return participation(duties, weeks, calendar, reported_masks(rows, weeks[0].start), today=today)
