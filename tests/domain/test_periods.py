"""Bulletin periods and their due days on China's working-day calendar."""

from datetime import date

import pytest

from bot.domain.periods import due_day, due_together, latest_due, parse_period, period_containing
from bot.domain.workdays import WorkCalendar

CAL = WorkCalendar()


@pytest.mark.parametrize(("kind", "name", "start", "end"), [
    ("weekly", "2026-W47", date(2026, 11, 16), date(2026, 11, 22)),
    ("monthly", "2026-2", date(2026, 2, 1), date(2026, 2, 28)),
    ("monthly", "2028-02", date(2028, 2, 1), date(2028, 2, 29)),
    ("quarterly", "2026-Q4", date(2026, 10, 1), date(2026, 12, 31)),
    ("halfyear", "2026-H1", date(2026, 1, 1), date(2026, 6, 30)),
    ("annual", "2026", date(2026, 1, 1), date(2026, 12, 31)),
])
def test_parse_period(kind: str, name: str, start: date, end: date) -> None:
    period = parse_period(kind, name)
    assert (period.start, period.end) == (start, end)
    assert period_containing(kind, end) == period


@pytest.mark.parametrize(("kind", "name"), [("weekly", "2026-11"), ("monthly", "2026-13"), ("quarterly", "2026-Q5"),
                                            ("daily", "2026")])
def test_bad_periods_are_refused(kind: str, name: str) -> None:
    with pytest.raises(ValueError):
        parse_period(kind, name)


def test_weekly_bulletin_is_due_on_the_first_working_day_after_a_holiday_week() -> None:
    # National Day 2026: week 40 (28 Sep - 4 Oct) ends in the holiday; 5-7 Oct are off too
    assert due_day(CAL, parse_period("weekly", "2026-W40")) == date(2026, 10, 8)
    assert latest_due(CAL, "weekly", date(2026, 10, 7)).name == "2026-W39"  # type: ignore[union-attr]
    assert latest_due(CAL, "weekly", date(2026, 10, 8)).name == "2026-W40"  # type: ignore[union-attr]


def test_monthly_bulletin_for_october_is_due_on_the_second_of_november() -> None:
    assert due_day(CAL, parse_period("monthly", "2026-10")) == date(2026, 11, 2)
    assert latest_due(CAL, "monthly", date(2026, 11, 1)).name == "2026-09"  # type: ignore[union-attr]
    assert latest_due(CAL, "monthly", date(2026, 11, 2)).name == "2026-10"  # type: ignore[union-attr]


def test_two_weeks_falling_due_after_one_break_are_both_due() -> None:
    """The 2026 春节 break (02-15 … 02-23, the official notice): 2026-W07 (02-09 … 02-15) and 2026-W08 (02-16 …
    02-22) both fall due on Tuesday 02-24, and neither may be skipped; a later week alone is due alone."""
    w07, w08 = parse_period("weekly", "2026-W07"), parse_period("weekly", "2026-W08")
    assert due_day(CAL, w07) == due_day(CAL, w08) == date(2026, 2, 24)
    assert due_together(CAL, "weekly", date(2026, 2, 24)) == [w07, w08]
    assert due_together(CAL, "weekly", date(2026, 2, 23)) == []  # W06 went out on 02-09; W07 is not due yet
    assert due_together(CAL, "weekly", date(2026, 3, 2)) == [parse_period("weekly", "2026-W09")]
    assert due_together(CAL, "monthly", date(2026, 11, 2)) == [parse_period("monthly", "2026-10")]
