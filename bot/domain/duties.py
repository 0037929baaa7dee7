"""When a report is due: the one rule behind /mine's 今日未填报, the 16:00/18:00 reminders, the missed-days
alerts and the punctuality (按时填报) of the rankings, bulletins, /rank and exports.

A report is due on a working day of the calendar (rest days and holidays excepted, 调休 working weekends
included) for a project still being prepared or built, unless its liaison is on an approved leave that
day (``bot.domain.leave``): those days are not due, so they neither count as missed nor weigh on the
unit's punctuality (a substitute's report on such a day is stored and counts for the investment, but the
day stays out of the punctuality share). A 竣工 or 投产 project owes no reports, and no project owes any
for the days before it was entered in the bot (imported or added; ``entered``: that local day, which owes
one): a project entered on a Wednesday has not missed that Monday and Tuesday. Nothing here forbids
reporting: a liaison may report on a rest day or on a finished project if they wish.

The calendar is read as it stood on the day: a day that passed as a rest day owes no report, whatever the
calendar says of it later, since nobody was asked for one that day. What the calendar said is kept as each
day passes (``WorkCalendar.due_when_passed``, kept by ``storage.calendar_history``): a holiday removed after
its day (``/calendar DAY auto``), a 调休 working day entered late, or a new release of the ``holidays``
package that adds a past 调休 day changes nothing; for a day not kept (before the record began, or not yet
kept) a 调休 working day entered only after it had passed (``WorkCalendar.made_working_after``) owes none
either. A report sent on such a day is kept and counts like one sent on a rest day. The other way a later
ruling is heard: a working day made a holiday after it passed owes nothing (it is no working day now: the
office corrected a mistake nobody should pay for), and its reports likewise stay.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from bot.domain.leave import LeaveSpan, days_covered, reporter_on
from bot.domain.workdays import WorkCalendar

# Stages whose projects report their progress; 竣工 and 投产 are done.
REPORTING_STAGES: tuple[str, ...] = ("谋划", "前期", "在建")


def is_reporting_day(day: date, calendar: WorkCalendar) -> bool:
    """Whether reports are due on `day` at all: a working day now that was one when it passed (or, not kept,
    that the calendar did not make one only after it had passed)."""
    if not calendar.is_working_day(day):
        return False
    then = calendar.due_when_passed(day)
    return then if then is not None else not calendar.made_working_after(day)


def entered_late(days: Iterable[date], calendar: WorkCalendar) -> list[date]:
    """The days of `days` that are working days now but passed as rest days, which owe no report (shown to the
    admin beside the calendar's entries and the days a change restored)."""
    return [day for day in days if calendar.is_working_day(day) and not is_reporting_day(day, calendar)]


def last_owed_day(end: date, *, today: date | None) -> date:
    """The last day of a window ending on ``end`` that owes a report: ``end``, unless ``end`` is ``today`` (or
    later), still under way: liaisons have until the evening, so today is owed only once it is over and the
    day before is the last (``today`` None: the window is over). The one rule for 填报率
    (``bot.domain.participation``) and the standings' 按时填报 (``bot.services.standings``)."""
    if today is None or end < today:
        return end
    return today - timedelta(days=1)


def entered_by(day: date, entered: date | None) -> bool:
    """Whether a project entered in the bot on the local day `entered` (None: not known, long ago) existed on
    `day`: before that it owes nothing."""
    return entered is None or day >= entered


def report_due(day: date, stage: str, calendar: WorkCalendar, *, away: Iterable[LeaveSpan] = (),
               entered: date | None = None) -> bool:
    """Whether a project in `stage` owes a report on `day`; `away` are its liaison's leaves, `entered` the
    local day the project was entered in the bot (nothing is due before it)."""
    return (stage in REPORTING_STAGES and entered_by(day, entered) and is_reporting_day(day, calendar)
            and not days_covered(away, [day]))


def due_days(days: Iterable[date], stage: str, calendar: WorkCalendar, *,
             away: Iterable[LeaveSpan] = (), entered: date | None = None) -> list[date]:
    """The days of `days` on which a project in `stage` owes a report (`report_due`), in order; `away`
    are its liaison's leaves (their days are not due), `entered` the day it was entered (none before)."""
    away = list(away)
    return [day for day in days if report_due(day, stage, calendar, away=away, entered=entered)]


def window_working_days(calendar: WorkCalendar, window_start: date, cutoff: date) -> list[date]:
    """The working days of ``window_start``..``cutoff`` (both included) on which reports were due
    (``is_reporting_day``), in order."""
    if window_start > cutoff:
        raise ValueError(f"window starts after the cut-off: {window_start} > {cutoff}")
    days: list[date] = []
    day = window_start
    while day <= cutoff:
        if is_reporting_day(day, calendar):
            days.append(day)
        day += timedelta(days=1)
    return days


def due_days_by_stage(calendar: WorkCalendar, window_start: date, cutoff: date,
                      stages: Iterable[str]) -> dict[str, tuple[date, ...]]:
    """Per stage: the days of ``window_start``..``cutoff`` on which a project in it owes a report
    (``due_days``; none for a 竣工/投产 project)."""
    if window_start > cutoff:
        raise ValueError(f"window starts after the cut-off: {window_start} > {cutoff}")
    window = [window_start + timedelta(days=n) for n in range((cutoff - window_start).days + 1)]
    return {stage: tuple(due_days(window, stage, calendar)) for stage in set(stages)}


def missed_days(calendar: WorkCalendar, since: date, today: date, *, away: Iterable[LeaveSpan] = (),
                entered: date | None = None, stage: str = "在建") -> int:
    """The days in (since, today] a project in `stage` owed a report (`report_due`: working days, not
    covered by a leave of the liaison, not before the project was `entered`): a 连续未填报 streak's length."""
    away = list(away)
    count = 0
    day = since
    while day < today:
        day = date.fromordinal(day.toordinal() + 1)
        count += report_due(day, stage, calendar, away=away, entered=entered)
    return count


def asked_of(day: date, stage: str, calendar: WorkCalendar, liaison_id: int,
             leaves: Iterable[LeaveSpan], *, entered: date | None = None) -> int | None:
    """Whom the reminders ask for a project's report on `day`: nobody on a rest day, for a finished
    project or before it was `entered`; its liaison; while the liaison is on leave, the substitute the leave
    names, or nobody. (A leave day is not due either way: a substitute is asked as a courtesy, and their
    report counts.)"""
    if stage not in REPORTING_STAGES or not entered_by(day, entered) or not is_reporting_day(day, calendar):
        return None
    return reporter_on(leaves, liaison_id, day)
