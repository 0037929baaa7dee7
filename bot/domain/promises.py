"""Days that people set: a unit's promised date (承诺完成日期) and a meeting's deadline (议定事项期限).

A day someone types is a working day: one that falls on a rest day moves to the next working day, and
the reply says so (`SetDay.moved`, with the rest day's name). A promised date must not be in the past,
and must fall within the problem's resolution deadline; a later one is not refused but becomes an
extension request (延期申请) for the next level to approve. Pure: the caller passes today and the deadline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Literal

from bot.domain.worded import worded
from bot.domain.workdays import SHANGHAI, WorkCalendar

Verdict = Literal["ok", "past", "extension"]
WEEKEND_NAME: str = worded("code_labels.j2", "weekend_name")


@dataclass(frozen=True)
class SetDay:
    """The day typed, and the working day it stands for."""

    asked: date
    day: date
    rest_name: str | None  # why `asked` is not a working day ("春节", "周末"); None when it is one
    estimated: bool  # the calendar only estimates this stretch

    @property
    def moved(self) -> bool:
        return self.day != self.asked


def on_working_day(calendar: WorkCalendar, asked: date) -> SetDay:
    """`asked` if it is a working day, else the next working day, with the name of the rest day."""
    if calendar.is_working_day(asked):
        return SetDay(asked, asked, None, calendar.is_estimated(asked))
    day = calendar.next_working_day(asked)
    name = calendar.day_name(asked) or WEEKEND_NAME
    return SetDay(asked, day, name, calendar.is_estimated(asked) or calendar.is_estimated(day))


def end_of(day: date, end_of_day: time) -> datetime:
    """The end of the working day on `day`, Shanghai time."""
    return datetime.combine(day, end_of_day, tzinfo=SHANGHAI)


def promised_end(day: date | None, end_of_day: time) -> datetime | None:
    """When the unit's promised day (承诺完成日期) runs out, in UTC: the end of its working day (``end_of_day``, the
    problem's policy's); None when it gave none. The one definition the overdue rule, the stored problems and the
    replay of a past promise use."""
    return None if day is None else end_of(day, end_of_day).astimezone(UTC)


@dataclass(frozen=True)
class PromiseCheck:
    """What to do with a promised date: keep it (`ok`), refuse it (`past`) or ask for an extension."""

    verdict: Verdict
    set_day: SetDay

    @property
    def day(self) -> date:
        return self.set_day.day


def check_promise(calendar: WorkCalendar, asked: date, *, now: datetime, resolution_due_at: datetime | None,
                  end_of_day: time) -> PromiseCheck:
    """A promised date against the calendar, the time now and the problem's resolution deadline.

    Past: the day (once on a working day) ends before now. Extension: it ends after the resolution
    deadline. A problem without a resolution deadline takes any future working day.
    """
    set_day = on_working_day(calendar, asked)
    ends = end_of(set_day.day, end_of_day)
    if asked < now.astimezone(SHANGHAI).date() or ends <= now:
        return PromiseCheck("past", set_day)
    if resolution_due_at is not None and ends > resolution_due_at:
        return PromiseCheck("extension", set_day)
    return PromiseCheck("ok", set_day)


__all__ = ["WEEKEND_NAME", "PromiseCheck", "SetDay", "Verdict", "check_promise", "end_of", "on_working_day",
           "promised_end"]
