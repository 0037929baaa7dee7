"""The one injectable clock: every rule that depends on "now" asks it, so tests can travel in time."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    """Something that tells the current time as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that only moves when told to (tests, `diaodu job … --at`)."""

    def __init__(self, at: datetime) -> None:
        self.set(at)

    def now(self) -> datetime:
        return self._now

    def set(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._now = at.astimezone(UTC)

    def advance(self, **delta: float) -> None:
        self._now += timedelta(**delta)


def local_today(clock: Clock, tz: ZoneInfo = SHANGHAI) -> date:
    """Today's date where our users live."""
    return clock.now().astimezone(tz).date()


def local_day(at: datetime, tz: ZoneInfo = SHANGHAI) -> date:
    """The local date of an instant (`to_local`'s day): the day the rules of "today" read for `now`."""
    return to_local(at, tz).date()


def to_local(at: datetime, tz: ZoneInfo = SHANGHAI) -> datetime:
    """An aware datetime shown in local time (naive values from SQLite are taken as UTC)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(tz)


def day_start(day: date, tz: ZoneInfo = SHANGHAI) -> datetime:
    """The first instant of the local day ``day`` (aware): ``day_start(d + 1 day)`` ends day ``d``."""
    return datetime.combine(day, time(0), tzinfo=tz)


async def set_within(event: asyncio.Event, seconds: float) -> bool:
    """Wait up to ``seconds`` for ``event``; whether it was set. The loops that look every few seconds until a stop
    is asked for wait with this (the event loop's timers run on the monotonic clock: a step of the wall clock does
    not hold them up)."""
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except TimeoutError:
        return False
    return True
