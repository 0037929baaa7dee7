"""Bulletin periods: which week, month, quarter, half-year or year a bulletin reports on, and when it is due.

Pure date arithmetic. A period is named by what it reports on ("2026-W47", "2026-11", "2026-Q4",
"2026-H2", "2026"); its bulletin is due on the first working day after it ends (the weekly one on the
first working day of the next ISO week, the others on the first working day of the next month).

A bulletin's figures are measured on one day of one year (``measured_on``): the period's last day, except
for a week that spans two years, which is measured on the year of its Thursday, the year ISO 8601 numbers
it in and its name says ("2026-W53", 2026-12-28 … 2027-01-03, is a 2026 week: measured on 31 December
2026, against the 2026 plans; "2026-W01", 2025-12-29 … 2026-01-04, is measured on 4 January 2026). A
period whose measuring day has not passed, or of which nothing is known, gets no bulletin
(``refusal``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from bot.domain.worded import worded
from bot.domain.workdays import WorkCalendar

KINDS = ("weekly", "monthly", "quarterly", "halfyear", "annual")
KIND_NAMES: dict[str, str] = worded("code_labels.j2", "kind_names")  # weekly → 周通报…


@dataclass(frozen=True)
class Period:
    """A reporting period: its kind, name, first and last day."""

    kind: str
    name: str
    start: date
    end: date


def _month_end(year: int, month: int) -> date:
    return (date(year + month // 12, month % 12 + 1, 1)) - timedelta(days=1)


def parse_period(kind: str, name: str) -> Period:
    """"2026-W47" (weekly), "2026-11" (monthly), "2026-Q4", "2026-H2", "2026"; ValueError otherwise."""
    patterns = {"weekly": r"([0-9]{4})-W([0-9]{1,2})", "monthly": r"([0-9]{4})-([0-9]{1,2})",
                "quarterly": r"([0-9]{4})-Q([1-4])",
                "halfyear": r"([0-9]{4})-H([12])", "annual": r"([0-9]{4})"}
    if kind not in patterns:
        raise ValueError(f"unknown bulletin kind {kind!r}")
    match = re.fullmatch(patterns[kind], name.strip().upper())
    if not match:
        raise ValueError(f"{name!r} is not a {kind} period")
    year = int(match.group(1))
    if kind == "weekly":
        start = date.fromisocalendar(year, int(match.group(2)), 1)
        return Period(kind, f"{year}-W{int(match.group(2)):02d}", start, start + timedelta(days=6))
    if kind == "monthly":
        month = int(match.group(2))
        if not 1 <= month <= 12:
            raise ValueError(f"{name!r} is not a month")
        return Period(kind, f"{year}-{month:02d}", date(year, month, 1), _month_end(year, month))
    if kind == "quarterly":
        q = int(match.group(2))
        return Period(kind, f"{year}-Q{q}", date(year, 3 * q - 2, 1), _month_end(year, 3 * q))
    if kind == "halfyear":
        h = int(match.group(2))
        return Period(kind, f"{year}-H{h}", date(year, 6 * h - 5, 1), _month_end(year, 6 * h))
    return Period(kind, str(year), date(year, 1, 1), date(year, 12, 31))


def period_containing(kind: str, day: date) -> Period:
    """The period of this kind that `day` falls in."""
    if kind == "weekly":
        iso = day.isocalendar()
        return parse_period(kind, f"{iso.year}-W{iso.week}")
    if kind == "monthly":
        return parse_period(kind, f"{day.year}-{day.month}")
    if kind == "quarterly":
        return parse_period(kind, f"{day.year}-Q{(day.month - 1) // 3 + 1}")
    if kind == "halfyear":
        return parse_period(kind, f"{day.year}-H{1 if day.month <= 6 else 2}")
    return parse_period(kind, str(day.year))


def previous_period(period: Period) -> Period:
    """The period of the same kind just before ``period`` (what its bulletin's changes are measured against)."""
    return period_containing(period.kind, period.start - timedelta(days=1))


def due_day(calendar: WorkCalendar, period: Period) -> date:
    """The first working day after the period ends: when its bulletin goes out."""
    return calendar.next_working_day(period.end)


def latest_due(calendar: WorkCalendar, kind: str, today: date) -> Period | None:
    """The most recent period of this kind whose bulletin is due on or before `today` (None if not yet)."""
    current = period_containing(kind, today)
    previous = period_containing(kind, current.start - timedelta(days=1))
    if due_day(calendar, previous) <= today:
        return previous
    earlier = period_containing(kind, previous.start - timedelta(days=1))
    return earlier if due_day(calendar, earlier) <= today else None


def due_together(calendar: WorkCalendar, kind: str, today: date) -> list[Period]:
    """The latest period of this kind due on or before `today` and the earlier ones falling due on the same
    day, oldest first (empty if none is due yet). A break of more than a week (春节) puts two weeks' due days
    on the first working day after it: both weeks have their bulletin that day, neither is skipped."""
    latest = latest_due(calendar, kind, today)
    if latest is None:
        return []
    day = due_day(calendar, latest)
    found = [latest]
    while due_day(calendar, earlier := previous_period(found[0])) == day:
        found.insert(0, earlier)
    return found


def measured_on(period: Period) -> date:
    """The cut-off day of a period's figures: its last day; for a week spanning two years, the last day of
    its ISO year (the year of its Thursday) in it."""
    if period.kind == "weekly":
        thursday = period.start + timedelta(days=3)
        return min(period.end, date(thursday.year, 12, 31))
    return period.end


FUTURE, NOT_OVER, NO_DATA, NO_PROJECTS = "future", "not_over", "no_data", "no_projects"


def refusal(period: Period, *, today: date, planned: int, reported: int, listed: int | None = None) -> str | None:
    """Why a period gets no bulletin on ``today`` (None: it may have one).

    ``future``: it has not started; ``not_over``: its measuring day is today or later (the figures are
    not in yet); ``no_data``: no project has a plan for its year (``planned``) and no report is dated in
    its year up to its measuring day (``reported``), so every figure would be an empty zero;
    ``no_projects``: no project was in the ledger by its measuring day (``listed``: how many were, when
    known; storage.ledger_entries.ledger_on), so it would list nothing.
    """
    if period.start > today:
        return FUTURE
    if measured_on(period) >= today:
        return NOT_OVER
    if planned == 0 and reported == 0:
        return NO_DATA
    if listed == 0:
        return NO_PROJECTS
    return None
