"""Promised dates and deadlines set by people (bot.domain.promises), against the calendar."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.domain.promises import check_promise, on_working_day
from bot.domain.workdays import DayOverride, WorkCalendar

SH = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar()
EOD = time(17, 30)
NOW = datetime(2026, 12, 9, 10, 0, tzinfo=SH)  # Wednesday
DUE = datetime(2026, 12, 18, 17, 30, tzinfo=SH)  # Friday next week


@pytest.mark.parametrize(("asked", "verdict", "day"), [
    (date(2026, 12, 9), "ok", date(2026, 12, 9)),  # today, before the end of the day
    (date(2026, 12, 8), "past", date(2026, 12, 8)),
    (date(2026, 12, 18), "ok", date(2026, 12, 18)),  # the deadline's own day
    (date(2026, 12, 12), "ok", date(2026, 12, 14)),  # Saturday: Monday
    (date(2026, 12, 19), "extension", date(2026, 12, 21)),  # Saturday after the deadline: Monday, too late
    (date(2026, 12, 21), "extension", date(2026, 12, 21)),
])
def test_promise_verdicts(asked: date, verdict: str, day: date) -> None:
    check = check_promise(CAL, asked, now=NOW, resolution_due_at=DUE, end_of_day=EOD)
    assert (check.verdict, check.day) == (verdict, day)


def test_today_after_the_end_of_the_day_is_past() -> None:
    late = datetime(2026, 12, 9, 18, 0, tzinfo=SH)
    assert check_promise(CAL, date(2026, 12, 9), now=late, resolution_due_at=DUE, end_of_day=EOD).verdict == "past"


def test_a_rest_day_moves_and_says_why() -> None:
    weekend = on_working_day(CAL, date(2026, 12, 12))
    assert (weekend.moved, weekend.day, weekend.rest_name) == (True, date(2026, 12, 14), "周末")
    national = on_working_day(CAL, date(2026, 10, 3))
    assert national.moved and national.day == date(2026, 10, 8) and national.rest_name == "国庆节"
    entered = on_working_day(WorkCalendar([DayOverride(date(2027, 3, 10), False, "区运会")]), date(2027, 3, 10))
    assert entered.rest_name == "区运会" and entered.day == date(2027, 3, 11)
    assert not on_working_day(CAL, date(2026, 12, 14)).moved
