"""When a report is due (bot.domain.duties)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.domain.duties import (
    asked_of,
    due_days,
    entered_late,
    is_reporting_day,
    last_owed_day,
    missed_days,
    report_due,
)
from bot.domain.workdays import DayOverride, KeptDays, WorkCalendar

CALENDAR = WorkCalendar([DayOverride(day=date(2026, 11, 28), working=True, name="调休上班")])


@pytest.mark.parametrize(("day", "stage", "due"), [
    (date(2026, 11, 20), "在建", True),  # a Friday
    (date(2026, 11, 20), "前期", True),
    (date(2026, 11, 20), "谋划", True),
    (date(2026, 11, 20), "竣工", False),
    (date(2026, 11, 20), "投产", False),
    (date(2026, 11, 22), "在建", False),  # a Sunday
    (date(2026, 11, 28), "在建", True),  # a Saturday made a working day
    (date(2026, 10, 1), "在建", False),  # 国庆节
])
def test_report_due(day: date, stage: str, due: bool) -> None:
    assert report_due(day, stage, CALENDAR) is due


def test_reporting_day_follows_the_calendar() -> None:
    assert is_reporting_day(date(2026, 11, 28), CALENDAR)
    assert not is_reporting_day(date(2026, 11, 29), CALENDAR)


WEDNESDAY = date(2026, 11, 18)  # a project entered in the bot that day (its liaison: 1)


def test_nothing_is_due_before_the_project_was_entered() -> None:
    week = [date(2026, 11, 16) + timedelta(days=n) for n in range(7)]
    assert due_days(week, "在建", CALENDAR, entered=WEDNESDAY) == week[2:5]  # Wednesday to Friday
    assert due_days(week, "在建", CALENDAR, entered=None) == week[:5]  # not known: long ago
    assert not report_due(date(2026, 11, 17), "在建", CALENDAR, entered=WEDNESDAY)
    assert report_due(WEDNESDAY, "在建", CALENDAR, entered=WEDNESDAY)  # the day it was entered owes one
    # the reminders: nobody is asked the day before; its liaison from that day on
    assert asked_of(date(2026, 11, 17), "在建", CALENDAR, 1, [], entered=WEDNESDAY) is None
    assert asked_of(WEDNESDAY, "在建", CALENDAR, 1, [], entered=WEDNESDAY) == 1
    # the 连续未填报 streak of a project never reported since New Year counts from its entry on
    assert missed_days(CALENDAR, date(2025, 12, 31), date(2026, 11, 20), entered=WEDNESDAY) == 3
    assert missed_days(CALENDAR, date(2026, 11, 13), date(2026, 11, 20), entered=WEDNESDAY) == 3
    assert missed_days(CALENDAR, date(2026, 11, 13), date(2026, 11, 20)) == 5
    assert missed_days(CALENDAR, date(2026, 11, 13), date(2026, 11, 20), stage="竣工") == 0


# 2027's 调休 working Sunday 01-31, entered the day after; Monday 02-01 made a holiday the day after, too.
LATE = WorkCalendar([DayOverride(day=date(2027, 1, 31), working=True, entered=date(2027, 2, 1)),
                     DayOverride(day=date(2027, 2, 1), working=False, name="春节", entered=date(2027, 2, 2))])


@pytest.mark.parametrize(("entered", "due"), [
    (date(2027, 1, 20), True),  # in time: everybody was asked
    (date(2027, 1, 31), True),  # that very day: the day had not passed
    (date(2027, 2, 1), False),  # the day after: nobody was asked, nothing is owed
    (None, True),  # not known: taken as in time
])
def test_a_working_day_entered_after_it_passed_owes_nothing(entered: date | None, due: bool) -> None:
    sunday = date(2027, 1, 31)
    calendar = WorkCalendar([DayOverride(day=sunday, working=True, entered=entered)])

    assert calendar.is_working_day(sunday)  # deadlines still count it
    assert is_reporting_day(sunday, calendar) is due
    assert report_due(sunday, "在建", calendar) is due
    assert (asked_of(sunday, "在建", calendar, 1, []) == 1) is due
    assert missed_days(calendar, date(2027, 1, 29), date(2027, 2, 1)) == 1 + due  # Monday 02-01, the Sunday if due


def test_a_late_ruling_on_a_day_the_library_already_works_changes_nothing() -> None:
    """Entering `work` late for a weekday that was a working day anyway: people were asked, the day is owed."""
    friday = date(2027, 1, 29)
    calendar = WorkCalendar([DayOverride(day=friday, working=True, entered=date(2027, 2, 3))])
    assert is_reporting_day(friday, calendar)


def test_a_working_day_made_a_holiday_after_it_passed_owes_nothing() -> None:
    assert not is_reporting_day(date(2027, 2, 1), LATE)
    week = [date(2027, 1, 25) + timedelta(days=n) for n in range(8)]  # Monday 01-25 to Monday 02-01
    assert due_days(week, "在建", LATE) == week[:5]  # Monday to Friday; neither late ruling is owed
    assert missed_days(LATE, date(2027, 1, 29), date(2027, 2, 2)) == 1  # Tuesday 02-02 only


# What the calendar said when the days passed (storage.calendar_history keeps it): Saturday 2027-03-13 and
# Monday 2027-02-01 (a holiday then) owed nothing, Sunday 2027-01-31 (a 调休 working day then) owed one.
KEPT = KeptDays(first=date(2027, 1, 1), last=date(2027, 3, 14),
                unusual={date(2027, 2, 1): False, date(2027, 1, 31): True})


def test_a_day_that_passed_as_a_rest_day_owes_nothing_whatever_the_calendar_says_now() -> None:
    """The calendar now works Saturday 03-13 (a new release of the holidays package) and Monday 02-01 (its holiday
    removed after it passed): neither owes a report; deadlines still count both."""
    now = WorkCalendar([DayOverride(day=date(2027, 3, 13), working=True)], kept=KEPT)
    for day in (date(2027, 3, 13), date(2027, 2, 1)):
        assert now.is_working_day(day)
        assert not is_reporting_day(day, now)
        assert asked_of(day, "在建", now, 1, []) is None
    week = [date(2027, 3, 8) + timedelta(days=n) for n in range(7)]
    assert due_days(week, "在建", now) == week[:5]
    assert missed_days(now, date(2027, 1, 29), date(2027, 2, 2)) == 1  # Tuesday 02-02 only
    assert entered_late([date(2027, 3, 13), date(2027, 3, 12)], now) == [date(2027, 3, 13)]


def test_a_day_kept_as_owed_stays_owed_unless_it_is_a_holiday_now() -> None:
    """Sunday 01-31 was owed when it passed: it still is, though the ruling now looks late; made a holiday since,
    it owes nothing (a mistake corrected). Days not kept follow the calendar as it is."""
    late_ruling = DayOverride(day=date(2027, 1, 31), working=True, entered=date(2027, 2, 1))
    assert is_reporting_day(date(2027, 1, 31), WorkCalendar([late_ruling], kept=KEPT))
    assert not is_reporting_day(date(2027, 1, 31), WorkCalendar([late_ruling]))  # not kept: entered late
    corrected = WorkCalendar([DayOverride(day=date(2027, 1, 31), working=False, name="补休")], kept=KEPT)
    assert not is_reporting_day(date(2027, 1, 31), corrected)
    assert is_reporting_day(date(2027, 3, 15), WorkCalendar(kept=KEPT))  # after the days kept
    assert KEPT.due(date(2026, 12, 31)) is None and KEPT.due(date(2027, 3, 12)) is True


def test_a_day_under_way_is_not_owed_until_it_is_over() -> None:
    """Today owes a report only once it is over: a window ending today (or later) is owed up to yesterday."""
    today = date(2026, 12, 9)
    assert last_owed_day(date(2026, 12, 8), today=today) == date(2026, 12, 8)  # a past window: all of it
    assert last_owed_day(today, today=today) == date(2026, 12, 8)
    assert last_owed_day(date(2026, 12, 13), today=today) == date(2026, 12, 8)  # a week not over yet
    assert last_owed_day(today, today=None) == today  # no day under way
