"""Half-months: their days, numbers, when liaisons are asked and when the office compiles, on China's
working-day calendar; and the facts a report is prefilled with."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.halfmonth import (
    DayReport,
    HalfMonth,
    ask_day,
    compile_day,
    containing,
    following,
    latest_asked,
    parse,
    previous,
    progress_facts,
    reported_within,
)
from bot.domain.stage_history import Move
from bot.domain.workdays import WorkCalendar

CAL = WorkCalendar()


@pytest.mark.parametrize(("day", "start", "end", "number"), [
    (date(2026, 1, 1), date(2026, 1, 1), date(2026, 1, 15), 1),
    (date(2026, 2, 20), date(2026, 2, 16), date(2026, 2, 28), 4),
    (date(2028, 2, 29), date(2028, 2, 16), date(2028, 2, 29), 4),
    (date(2026, 11, 15), date(2026, 11, 1), date(2026, 11, 15), 21),
    (date(2026, 12, 31), date(2026, 12, 16), date(2026, 12, 31), 24),
])
def test_half_months_and_their_numbers(day: date, start: date, end: date, number: int) -> None:
    half = containing(day)
    assert (half.start, half.end, half.number) == (start, end, number)
    assert parse(day.isoformat()) == half and half.key == start.isoformat()


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)))
def test_half_months_tile_the_calendar(day: date) -> None:
    half = containing(day)
    assert half.start <= day <= half.end and half.start.day in (1, 16)
    assert following(half).start == half.end + timedelta(days=1)
    assert previous(following(half)) == half
    assert 1 <= half.number <= 24


@pytest.mark.parametrize("text", ["2026-11", "2026-13-01", "下半月", "", "2026-02-30"])
def test_bad_dates_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse(text)


def test_asked_on_the_first_working_day_and_compiled_two_working_days_later() -> None:
    # 2026-11-16 is a Monday; 2026-08-16 a Sunday; 2026-10-01 starts the National Day break (to 10-07)
    first_nov = HalfMonth(date(2026, 11, 1), date(2026, 11, 15))
    assert ask_day(first_nov, CAL) == date(2026, 11, 16) and compile_day(first_nov, CAL) == date(2026, 11, 18)
    assert ask_day(containing(date(2026, 8, 1)), CAL) == date(2026, 8, 17)
    second_sep = containing(date(2026, 9, 20))
    assert ask_day(second_sep, CAL) == date(2026, 10, 8)
    assert compile_day(second_sep, CAL) == date(2026, 10, 10)  # the 调休 Saturday is a working day


def test_the_half_month_asked_for_changes_on_the_ask_day() -> None:
    assert latest_asked(date(2026, 11, 16), CAL) == containing(date(2026, 11, 1))
    assert latest_asked(date(2026, 11, 15), CAL) == containing(date(2026, 10, 16))
    assert latest_asked(date(2026, 10, 7), CAL) == containing(date(2026, 9, 1))  # holiday: not asked yet
    assert latest_asked(date(2026, 10, 8), CAL) == containing(date(2026, 9, 16))


def test_progress_facts_count_sum_and_keep_each_text_once_latest_last() -> None:
    reports = [DayReport(date(2026, 11, 12), Decimal("80"), "主体十层"),
               DayReport(date(2026, 11, 10), Decimal("120"), "主体八层"),
               DayReport(date(2026, 11, 11), Decimal("0"), " "),
               DayReport(date(2026, 11, 13), Decimal("5"), "主体十层")]
    facts = progress_facts(reports)
    assert (facts.reports, facts.total, facts.latest_day) == (4, Decimal("205"), date(2026, 11, 13))
    assert facts.texts == ("主体八层", "主体十层")
    assert progress_facts([]).latest_day is None


@pytest.mark.parametrize(("stage", "moves", "owed"), [
    ("在建", [], True),
    ("竣工", [], False),  # finished before its finish day was recorded: on every day
    ("竣工", [Move("finish", date(2026, 11, 10))], True),  # finished within the half-month: its last report
    ("竣工", [Move("finish", date(2026, 11, 1))], True),  # on its first day: the day before it was 在建
    ("竣工", [Move("finish", date(2026, 10, 31))], False),  # finished before it
    ("在建", [Move("finish", date(2026, 10, 20)), Move("reopen", date(2026, 11, 15))], True),  # reopened on its end
    ("在建", [Move("finish", date(2026, 10, 20)), Move("reopen", date(2026, 11, 16))], False),  # reopened after it
    ("在建", [Move("start", date(2026, 11, 20))], True),  # 前期 then: prepared, owes it
])
def test_a_project_owes_the_half_months_in_which_it_was_prepared_or_built(stage: str, moves: list[Move],
                                                                          owed: bool) -> None:
    assert reported_within(stage, moves, HalfMonth(date(2026, 11, 1), date(2026, 11, 15))) is owed
