"""The calendar's history: whether reports were due on each day that has passed, kept as it passed.

`keep_passed_days` writes every day from the last one kept (or, the first time, from New Year of the year
before) up to yesterday, with what the calendar in force says of it (``bot.domain.duties.is_reporting_day``).
It runs each day right after midnight and at start-up (``jobs.calendar_days``), before every calendar change
(``bot.services.admin_ops``) and at each reminder run, so a change, or a new release of the holidays package,
meets the past already kept. `kept_days` reads the record back for the
calendar (``bot.domain.workdays.KeptDays``): the days unlike a plain week, and the range kept.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.duties import is_reporting_day
from bot.domain.workdays import KeptDays, WorkCalendar
from storage.models import PassedDay


async def kept_days(session: AsyncSession) -> KeptDays | None:
    """What the calendar said of the days kept, or None before anything was kept."""
    first, last = (await session.execute(select(func.min(PassedDay.day), func.max(PassedDay.day)))).one()
    if first is None or last is None:
        return None
    unusual = await session.execute(select(PassedDay.day, PassedDay.reporting)
                                    .where(PassedDay.reporting == PassedDay.weekend))
    return KeptDays(first=first, last=last, unusual={day: reporting for day, reporting in unusual.all()})


async def keep_passed_days(session: AsyncSession, *, calendar: WorkCalendar, today: date, now: datetime) -> int:
    """Keep the days before `today` not kept yet, as `calendar` (the one in force) has them; returns how many.
    A day kept once is never written again (two processes keeping at once write the same days)."""
    last = await session.scalar(select(func.max(PassedDay.day)))
    start = last + timedelta(days=1) if last is not None else date(today.year - 1, 1, 1)
    days = [start + timedelta(days=n) for n in range((today - start).days)]
    if not days:
        return 0
    rows = [{"day": day, "reporting": is_reporting_day(day, calendar), "weekend": day.weekday() >= 5, "kept_at": now}
            for day in days]
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    await session.execute(module.insert(PassedDay).values(rows).on_conflict_do_nothing(index_elements=["day"]))
    return len(days)


__all__ = ["keep_passed_days", "kept_days"]
