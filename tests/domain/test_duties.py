"""When a report is due (bot.domain.duties)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.domain.duties import asked_of, due_days, is_reporting_day, missed_days, report_due
from bot.domain.workdays import DayOverride, WorkCalendar

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
