"""China working-day calendar and deadline arithmetic.

Deadlines are counted in China's working days: statutory holidays are off and
the make-up (调休) Saturdays/Sundays announced in the State Council's yearly
notice are working days.

Sources, in order of precedence:

1. Admin overrides (``DayOverride``), entered from the official notice once it
   is published. They always win.
2. The ``holidays`` package (``holidays.China``). Its data follows the official
   notices up to the last year it has been updated for; for later years it only
   knows the statutory festival dates and shifts weekend holidays to the next
   weekday, with no 调休 working weekends. Those later years are an estimate.

A day is *official* when it is on or before ``official_until`` or lies in a year
the admin has declared official (``official_years``: the whole State Council
notice for that year has been entered), or is itself an admin's override.
Entering some days of a year does not make the year official: the rest of it
is still an estimate. Every other day is
*estimated*, and deadline results say so.

The calendar also carries what it said of the days already passed (``KeptDays``): whether reports were due
on each, kept as each day passed, so that a later ruling or a new release of the package does not make a
past rest day owe a report (``bot.domain.duties.is_reporting_day``). Deadlines follow the calendar as it is.

This module is pure: no I/O (its few words are read from a template once, at import) and no clock of
its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

from bot.domain.worded import worded

__all__ = [
    "DEFAULT_END_OF_DAY",
    "DEFAULT_OFFICIAL_UNTIL",
    "SHANGHAI",
    "WORKING_WEEKEND_NAME",
    "DayOverride",
    "Deadline",
    "KeptDays",
    "WorkCalendar",
    "deadline_after",
]

SHANGHAI = ZoneInfo("Asia/Shanghai")
"""Time zone in which working days and end-of-day are reckoned."""

DEFAULT_END_OF_DAY = time(17, 30)
"""Default local time at which a deadline expires."""

DEFAULT_OFFICIAL_UNTIL = date(2026, 12, 31)
"""Last day covered by a published State Council notice (the 2026 notice)."""

_WORDS = "code_labels.j2"
WORKING_WEEKEND_NAME: str = worded(_WORDS, "working_weekend_name")
"""Name reported for a Saturday/Sunday that is a working day."""

_DAY_OFF_NAME: str = worded(_WORDS, "day_off_name")  # a day off that is no festival
_SEPARATOR: str = worded(_WORDS, "list_separator")  # between the festivals of one day
# The package's name for a swapped day off ("休息日（由 2026-10-10 调休）"): no festival of its own.
_PACKAGE_DAY_OFF = "休息日"
# Longest stretch searched for a working day (or a holiday's name) before
# giving up; the longest real break is 9 days, so this only trips on bad data.
_MAX_SCAN_DAYS = 366
# Trailing parenthesised note in the package's zh_CN names: "（补假）",
# "（推定）", "（补假，推定）", "（由 2026-10-10 调休）".
_TRAILING_NOTE = re.compile(r"（[^（）]*）$")
# Package names folded into the festival users know.
_NAME_ALIASES = {"农历除夕": "春节", "春节延长假期": "春节"}


@dataclass(frozen=True)
class DayOverride:
    """An admin's ruling for one day, taken from the official notice.

    ``name`` is shown to users for days off (e.g. "春节"); working weekends
    are always shown as "调休上班". ``entered`` is the local day the ruling
    was entered (None: not known, taken as in time).
    """

    day: date
    working: bool
    name: str = ""
    entered: date | None = None


@dataclass(frozen=True)
class KeptDays:
    """Whether reports were due on each day of ``first``..``last``, as the calendar stood when the day had passed.

    Only the days unlike a plain week are listed (``unusual``: a weekday that owed none, a weekend day that
    owed one); every other day of the range owed a report from Monday to Friday and none at the weekend.
    """

    first: date
    last: date
    unusual: Mapping[date, bool] = field(default_factory=dict)

    def due(self, day: date) -> bool | None:
        """Whether a report was due on `day` when it passed; None for a day outside the range."""
        if not self.first <= day <= self.last:
            return None
        return self.unusual.get(day, day.weekday() < 5)


@dataclass(frozen=True)
class _Year:
    working: frozenset[date]
    names: dict[date, str]  # package names of days off, already normalised


_LIBRARY_YEARS: dict[int, _Year] = {}


def _library_year(year: int) -> _Year:
    """The library's working days and holiday names of a year, built once per process: they do not depend
    on a calendar's overrides, and building a year takes milliseconds (every tick makes a calendar)."""
    cached = _LIBRARY_YEARS.get(year)
    if cached is not None:
        return cached
    lib = holidays.China(years=year, language="zh_CN")
    day = date(year, 1, 1)
    working: set[date] = set()
    while day.year == year:
        if lib.is_working_day(day):
            working.add(day)
        day += timedelta(days=1)
    names: dict[date, str] = {}
    for holiday, raw in lib.items():
        if holiday.year != year:
            continue
        name = _normalise_name(raw)
        if name:
            names[holiday] = name
    built = _Year(working=frozenset(working), names=names)
    _LIBRARY_YEARS[year] = built
    return built


def _normalise_name(raw: str) -> str | None:
    """Turn a package zh_CN holiday name into a festival name, or None.

    "国庆节（补假）" -> "国庆节"; "农历除夕" -> "春节";
    "休息日（由 2026-10-10 调休）" -> None (a swapped day has no festival of
    its own); "中秋节; 国庆节" -> "中秋节、国庆节".
    """
    parts: list[str] = []
    for part in raw.split(";"):
        name = _TRAILING_NOTE.sub("", part.strip()).strip()
        name = _NAME_ALIASES.get(name, name)
        if name and name != _PACKAGE_DAY_OFF and name not in parts:
            parts.append(name)
    return _SEPARATOR.join(parts) or None


class WorkCalendar:
    """China's working days: the holidays package plus admin overrides.

    Library data is built once per calendar year and cached, so each lookup is
    O(1) and walking n days is O(n).
    """

    def __init__(
        self,
        overrides: Iterable[DayOverride] = (),
        official_until: date = DEFAULT_OFFICIAL_UNTIL,
        official_years: Iterable[int] = (),
        kept: KeptDays | None = None,
    ) -> None:
        """Create a calendar.

        ``overrides`` win over the library; a day may appear only once
        (ValueError otherwise). ``official_until`` is the last day the library
        is trusted to follow an official notice; ``official_years`` are the
        later years whose notice the admin has entered in full; ``kept``, what
        the calendar said of the days already passed.
        """
        by_day: dict[date, DayOverride] = {}
        for override in overrides:
            if override.day in by_day:
                raise ValueError(f"duplicate override for {override.day.isoformat()}")
            by_day[override.day] = override
        self._overrides = by_day
        self._official_until = official_until
        self._official_years = frozenset(official_years)
        self._kept = kept
        self._years: dict[int, _Year] = {}

    @property
    def official_until(self) -> date:
        """The configured last officially known day (before override years)."""
        return self._official_until

    @property
    def official_years(self) -> frozenset[int]:
        """Years the admin has declared entered in full from the official notice."""
        return self._official_years

    # -- per-day queries -------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        """True if ``day`` is a working day (override first, then library)."""
        override = self._overrides.get(day)
        if override is not None:
            return override.working
        return day in self._year(day.year).working

    def made_working_after(self, day: date) -> bool:
        """True if ``day`` is a working day only by an admin's ruling entered after it had passed (a 调休
        working day entered the next day or later, where the library has a rest day): nobody knew to work,
        or to report, on it."""
        override = self._overrides.get(day)
        return (override is not None and override.working and override.entered is not None
                and override.entered > day and day not in self._year(day.year).working)

    def due_when_passed(self, day: date) -> bool | None:
        """Whether a report was due on `day` by the calendar as it stood when the day had passed (``KeptDays``);
        None for a day not kept (today, a day to come, or one before the record began)."""
        return None if self._kept is None else self._kept.due(day)

    def is_estimated(self, day: date) -> bool:
        """True if ``day`` lies beyond the officially known range (a day the admin entered is known)."""
        return day > self._official_until and day.year not in self._official_years and day not in self._overrides

    def day_name(self, day: date) -> str | None:
        """Chinese name explaining a non-ordinary day, else None.

        Days off get their festival name (e.g. "国庆节"), including swapped
        days and the weekends inside a holiday break; an override's own name
        is used when given. A working Saturday/Sunday is "调休上班". Ordinary
        working weekdays and ordinary weekends return None.
        """
        if self.is_working_day(day):
            return WORKING_WEEKEND_NAME if day.weekday() >= 5 else None
        own = self._own_name(day)
        if own:
            return own
        # A swapped day off or a weekend inside a break: borrow the name of
        # the nearest named day in the same run of days off.
        found = self._nearest_name_in_break(day)
        if found:
            return found
        if day.weekday() >= 5 and day not in self._overrides:
            return None
        return _DAY_OFF_NAME

    # -- walking ---------------------------------------------------------

    def next_working_day(self, day: date) -> date:
        """First working day strictly after ``day``."""
        return self._scan(day, 1)

    def previous_working_day(self, day: date) -> date:
        """Last working day strictly before ``day``."""
        return self._scan(day, -1)

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after ``start`` (``start`` itself not counted).

        ``n == 0`` returns ``start`` if it is a working day, else the next
        working day. Raises ValueError for negative ``n``.
        """
        if n < 0:
            raise ValueError("n must be >= 0")
        if n == 0:
            return start if self.is_working_day(start) else self.next_working_day(start)
        day = start
        for _ in range(n):
            day = self.next_working_day(day)
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Number of working days in (start, end]; 0 when ``end <= start``."""
        count = 0
        day = start + timedelta(days=1)
        while day <= end:
            if self.is_working_day(day):
                count += 1
            day += timedelta(days=1)
        return count

    # -- internals -------------------------------------------------------

    def _year(self, year: int) -> _Year:
        cached = self._years.get(year)
        if cached is None:
            cached = self._years[year] = _library_year(year)
        return cached

    def _own_name(self, day: date) -> str | None:
        """Name recorded for this very day (override, then library)."""
        override = self._overrides.get(day)
        if override is not None and override.name:
            return override.name
        return self._year(day.year).names.get(day)

    def _nearest_name_in_break(self, day: date) -> str | None:
        """Name of the closest named day in the same unbroken run of days off.

        Looks outwards one day at a time, earlier side first on ties, and
        stops on each side at the first working day.
        """
        directions = [-1, 1]
        for distance in range(1, _MAX_SCAN_DAYS):
            for direction in list(directions):
                other = day + timedelta(days=direction * distance)
                if self.is_working_day(other):
                    directions.remove(direction)
                    continue
                name = self._own_name(other)
                if name:
                    return name
            if not directions:
                break
        return None

    def _scan(self, day: date, direction: int) -> date:
        step = timedelta(days=direction)
        candidate = day + step
        for _ in range(_MAX_SCAN_DAYS):
            if self.is_working_day(candidate):
                return candidate
            candidate += step
        raise ValueError(f"no working day within {_MAX_SCAN_DAYS} days of {day.isoformat()}")


@dataclass(frozen=True)
class Deadline:
    """When something is due.

    ``at`` is an aware UTC datetime; ``local_day`` is the due date in the
    calendar's time zone; ``estimated`` is True if any day the computation
    relied on lies beyond the officially known range.
    """

    at: datetime
    local_day: date
    estimated: bool


def deadline_after(
    calendar: WorkCalendar,
    start: datetime,
    working_days: int,
    *,
    end_of_day: time = DEFAULT_END_OF_DAY,
    tz: ZoneInfo = SHANGHAI,
) -> Deadline:
    """Deadline ``working_days`` working days after ``start``.

    ``start`` must be timezone-aware. It is converted to a local date in
    ``tz``; the deadline is ``end_of_day`` (naive, local wall-clock time) on
    ``calendar.add_working_days(local_date, working_days)``.

    Only the local date of ``start`` matters: something raised after
    ``end_of_day`` still counts from that same date (the rule is "N working
    days after the day it was raised", not "after the next business day").

    ``estimated`` is True if any day in (local_date, due] is estimated; when
    ``working_days == 0`` the start day itself is checked too, because the
    result then depends on whether that day is a working day.
    """
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("start must be timezone-aware")
    if end_of_day.tzinfo is not None:
        raise ValueError("end_of_day must be a naive local time")
    local_start = start.astimezone(tz).date()
    due = calendar.add_working_days(local_start, working_days)
    first_checked = local_start if working_days == 0 else local_start + timedelta(days=1)
    estimated = False
    day = first_checked
    while day <= due:
        if calendar.is_estimated(day):
            estimated = True
            break
        day += timedelta(days=1)
    at = datetime.combine(due, end_of_day, tzinfo=tz).astimezone(UTC)
    return Deadline(at=at, local_day=due, estimated=estimated)
