"""Admin-changeable settings and the calendar overrides, with the domain objects built from them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import to_local
from bot.domain.digest_settings import DIGEST_KEY, DigestSettings
from bot.domain.escalation import SlaPolicy
from bot.domain.workdays import DayOverride, WorkCalendar
from storage.calendar_history import kept_days
from storage.models import CalendarOverride, Setting

SLA_KEY = "sla"
OFFICIAL_YEARS_KEY = "calendar_official_years"


async def load_digest_settings(session: AsyncSession) -> DigestSettings:
    """The digest schedule and thresholds in force (defaults until an admin changes them)."""
    return DigestSettings.from_json(await get_setting(session, key=DIGEST_KEY))


async def get_setting(session: AsyncSession, *, key: str) -> Any | None:
    row = await session.get(Setting, key)
    return None if row is None else row.value


async def set_setting(session: AsyncSession, *, key: str, value: Any, now: datetime, by: str) -> None:
    row = await session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=value, updated_at=now, updated_by=by))
    else:
        row.value, row.updated_at, row.updated_by = value, now, by


async def load_policy(session: AsyncSession) -> SlaPolicy:
    """The SLA policy in force (defaults until an admin changes it)."""
    stored = await get_setting(session, key=SLA_KEY)
    return SlaPolicy.from_json(stored) if stored else SlaPolicy()


async def calendar_overrides(session: AsyncSession) -> list[CalendarOverride]:
    return list((await session.scalars(select(CalendarOverride).order_by(CalendarOverride.day))).all())


async def set_calendar_day(session: AsyncSession, *, day: date, working: bool, name: str, now: datetime,
                           by: str) -> None:
    """Enter the ruling for `day`. Its time (``created_at``) is when the day became working or off: a new name
    alone keeps it, since whether a report was owed on a past day depends on when it was made a working day
    (bot.domain.duties.is_reporting_day)."""
    row = await session.get(CalendarOverride, day)
    if row is None:
        session.add(CalendarOverride(day=day, working=working, name=name, created_at=now, created_by=by))
    elif row.working != working:
        row.working, row.name, row.created_at, row.created_by = working, name, now, by
    else:
        row.name = name


async def clear_calendar_day(session: AsyncSession, *, day: date) -> bool:
    result = await session.execute(delete(CalendarOverride).where(CalendarOverride.day == day))
    return bool(result.rowcount)


async def official_years(session: AsyncSession) -> list[int]:
    """The years the admin has declared entered in full (see bot.domain.workdays)."""
    return sorted(int(y) for y in await get_setting(session, key=OFFICIAL_YEARS_KEY) or [])


async def load_calendar(session: AsyncSession) -> WorkCalendar:
    """China's working-day calendar with the admins' official days and official years applied, and what it said of
    the days already passed (storage.calendar_history)."""
    rows = await calendar_overrides(session)
    return WorkCalendar([DayOverride(day=r.day, working=r.working, name=r.name, entered=to_local(r.created_at).date())
                         for r in rows],
                        official_years=await official_years(session), kept=await kept_days(session))
