"""When a report is due: the one rule behind /mine's 今日未填报, the 16:00/18:00 reminders, the missed-days
alerts and the punctuality (按时填报) of the rankings, bulletins, /rank and exports.

A report is due on a working day of the calendar (rest days and holidays excepted, 调休 working weekends
included) for a project still being prepared or built. A 竣工 or 投产 project owes no reports. Nothing here
forbids reporting: a liaison may report on a rest day or on a finished project if they wish.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from bot.domain.workdays import WorkCalendar

# Stages whose projects report their progress; 竣工 and 投产 are done.
REPORTING_STAGES: tuple[str, ...] = ("谋划", "前期", "在建")


def is_reporting_day(day: date, calendar: WorkCalendar) -> bool:
    """Whether reports are due on `day` at all (a working day)."""
    return calendar.is_working_day(day)


def report_due(day: date, stage: str, calendar: WorkCalendar) -> bool:
    """Whether a project in `stage` owes a report on `day`."""
    return stage in REPORTING_STAGES and is_reporting_day(day, calendar)


def due_days(days: Iterable[date], stage: str, calendar: WorkCalendar) -> list[date]:
    """The days of `days` on which a project in `stage` owes a report (`report_due`), in order."""
    return [day for day in days if report_due(day, stage, calendar)]
