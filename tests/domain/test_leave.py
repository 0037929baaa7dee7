"""Reading /leave and the rules of a leave: who is asked to report, which days are due, how a streak counts."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.duties import asked_of, due_days, missed_days, report_due
from bot.domain.leave import (
    LEAVE_MAX_DAYS,
    LeaveError,
    LeaveRequest,
    LeaveSpan,
    cut_short,
    on_leave,
    overlapping,
    parse_leave,
    reporter_on,
    standing_for,
)
from bot.domain.workdays import WorkCalendar

TODAY = date(2026, 9, 28)  # a Monday
CALENDAR = WorkCalendar()
LEAVE = LeaveSpan(person_id=1, start=date(2026, 9, 30), end=date(2026, 10, 9), substitute_id=2)


def test_the_forms_people_type() -> None:
    expected = LeaveRequest(None, date(2026, 9, 30), date(2026, 10, 9), "武杰")
    for text in ("2026-09-30 2026-10-09 武杰", "9-30 10-9 武杰", "9月30日至10月9日 武杰", "9-30至10-9 武杰",
                 "2026/9/30 到 2026/10/9 武杰", "9-30~10-9 武杰"):
        assert parse_leave(text, today=TODAY) == expected, text
    assert parse_leave("明天", today=TODAY) == LeaveRequest(None, date(2026, 9, 29), date(2026, 9, 29), None)
    assert parse_leave("郝芳 9-30 10-9", today=TODAY) == LeaveRequest("郝芳", date(2026, 9, 30), date(2026, 10, 9),
                                                                     None)
    assert parse_leave("郝芳 周三 下周五 武杰", today=TODAY) == LeaveRequest(
        "郝芳", date(2026, 9, 30), date(2026, 10, 9), "武杰")


def test_what_is_refused() -> None:
    assert parse_leave("10-9 9-30", today=TODAY) == LeaveError("order")
    assert parse_leave("2026-09-01", today=TODAY) == LeaveError("past")
    assert parse_leave("2026-10-01 2027-03-01", today=TODAY) == LeaveError("too_long")
    assert parse_leave("下个月", today=TODAY) == LeaveError("usage")
    assert parse_leave("9-30 10-9 武杰 李海涛", today=TODAY) == LeaveError("usage")
    assert parse_leave("2026-02-30", today=TODAY) == LeaveError("usage")


@given(st.text(max_size=40))
def test_any_text_is_read_or_refused(text: str) -> None:
    result = parse_leave(text, today=TODAY)
    assert isinstance(result, LeaveRequest | LeaveError)
    if isinstance(result, LeaveRequest):
        assert TODAY <= result.start <= result.end
        assert (result.end - result.start).days < LEAVE_MAX_DAYS


@given(st.dates(min_value=TODAY, max_value=date(2027, 12, 31)), st.integers(0, LEAVE_MAX_DAYS - 1))
def test_a_typed_window_is_read_back(start: date, length: int) -> None:
    end = start + timedelta(days=length)
    assert parse_leave(f"{start} {end} 武杰", today=TODAY) == LeaveRequest(None, start, end, "武杰")


def test_who_is_asked_and_what_is_due_across_national_day() -> None:
    # 9/30 on leave: the substitute is asked, the day is not due; the holiday asks nobody
    assert asked_of(date(2026, 9, 30), "在建", CALENDAR, 1, [LEAVE]) == 2
    assert not report_due(date(2026, 9, 30), "在建", CALENDAR, away=[LEAVE])
    assert asked_of(date(2026, 10, 2), "在建", CALENDAR, 1, [LEAVE]) is None
    assert asked_of(date(2026, 10, 10), "在建", CALENDAR, 1, [LEAVE]) == 1  # 调休 Saturday, back
    assert asked_of(date(2026, 9, 30), "竣工", CALENDAR, 1, [LEAVE]) is None
    no_substitute = LeaveSpan(1, LEAVE.start, LEAVE.end)
    assert reporter_on([no_substitute], 1, date(2026, 10, 8)) is None
    assert reporter_on([no_substitute], 3, date(2026, 10, 8)) == 3  # someone else's leave

    window = [d for d in (TODAY + timedelta(days=n) for n in range(14)) if CALENDAR.is_working_day(d)]
    expected = [date(2026, 9, 28), date(2026, 9, 29), date(2026, 10, 10)]
    assert due_days(window, "在建", CALENDAR, away=[LEAVE]) == expected
    assert due_days(window, "在建", CALENDAR) == window
    # last report 9/29: 9/30, 10/8, 10/9 on leave; 10/10 and 10/12 missed
    assert missed_days(CALENDAR, date(2026, 9, 29), date(2026, 10, 12), away=[LEAVE]) == 2
    assert missed_days(CALENDAR, date(2026, 9, 29), date(2026, 10, 12)) == 5


def test_ending_a_leave() -> None:
    assert cut_short(LEAVE, date(2026, 9, 30)) is None  # not begun (it starts today): cancelled
    assert cut_short(LEAVE, date(2026, 10, 8)) == LeaveSpan(1, LEAVE.start, date(2026, 10, 7), 2)
    assert cut_short(LEAVE, date(2026, 10, 12)) == LEAVE  # over: as it was
    assert overlapping([LEAVE], date(2026, 10, 9), date(2026, 10, 12)) == LEAVE
    assert overlapping([LEAVE], date(2026, 10, 10), date(2026, 10, 12)) is None


def test_a_lead_officials_level_goes_to_his_substitute_while_his_leave_runs() -> None:
    """刘文华 (1) away 9/30–10/9 with 陈建国 (2) standing in; 孙立新 (3) away 10/1 without anyone."""
    spans = [LEAVE, LeaveSpan(person_id=3, start=date(2026, 10, 1), end=date(2026, 10, 2))]
    assert on_leave(spans, 1, date(2026, 9, 29)) is None  # not yet away
    assert on_leave(spans, 1, date(2026, 9, 30)) == LEAVE
    assert on_leave(spans, 1, date(2026, 10, 9)) == LEAVE  # 陈建国 holds the level (storage.problems.lead_holders)
    assert on_leave(spans, 1, date(2026, 10, 10)) is None  # back
    assert on_leave(spans, 3, date(2026, 10, 1)).substitute_id is None  # no substitute named: as if not away
    assert standing_for(spans, 2, date(2026, 10, 1)) == frozenset({1})
    assert standing_for(spans, 2, date(2026, 10, 10)) == frozenset()
    assert standing_for(spans, 1, date(2026, 10, 1)) == frozenset()
