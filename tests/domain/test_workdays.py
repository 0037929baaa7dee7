"""Tests for China working-day arithmetic (bot.domain.workdays)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.workdays import (
    DayOverride,
    Deadline,
    WorkCalendar,
    deadline_after,
)

SH = ZoneInfo("Asia/Shanghai")
UTC = UTC


def d(text: str) -> date:
    return date.fromisoformat(text)


def days(first: str, last: str) -> list[date]:
    start, end = d(first), d(last)
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


# --- the official 2026 notice (国务院办公厅关于2026年部分节假日安排的通知) ---

OFFICIAL_2026_OFF = [
    *days("2026-01-01", "2026-01-03"),  # 元旦
    *days("2026-02-15", "2026-02-23"),  # 春节
    *days("2026-04-04", "2026-04-06"),  # 清明节
    *days("2026-05-01", "2026-05-05"),  # 劳动节
    *days("2026-06-19", "2026-06-21"),  # 端午节
    *days("2026-09-25", "2026-09-27"),  # 中秋节
    *days("2026-10-01", "2026-10-07"),  # 国庆节
]
OFFICIAL_2026_WORKING_WEEKENDS = [
    d("2026-01-04"),
    d("2026-02-14"),
    d("2026-02-28"),
    d("2026-05-09"),
    d("2026-09-20"),
    d("2026-10-10"),
]

# Hypothetical 2027 Spring Festival notice, as an admin would enter it. These
# are NOT the real dates (unpublished at the time of writing); they only need
# to differ from the library's estimate.
HYPOTHETICAL_2027_SPRING = [
    *(DayOverride(day, False, "春节") for day in days("2027-02-05", "2027-02-12")),
    DayOverride(d("2027-02-20"), True, "春节调休"),
]


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar()


def test_whole_of_2026_matches_official_notice(cal: WorkCalendar) -> None:
    off = set(OFFICIAL_2026_OFF)
    working_weekends = set(OFFICIAL_2026_WORKING_WEEKENDS)
    mismatches = []
    for day in days("2026-01-01", "2026-12-31"):
        if day in off:
            expected = False
        elif day in working_weekends:
            expected = True
        else:
            expected = day.weekday() < 5
        if cal.is_working_day(day) != expected:
            mismatches.append(day)
    assert mismatches == []
    # 261 weekdays - 19 weekday holidays + 6 make-up weekend days.
    assert cal.working_days_between(d("2025-12-31"), d("2026-12-31")) == 248


# --- National Day 2026 ----------------------------------------------------


@pytest.mark.parametrize("day", days("2026-10-01", "2026-10-07"))
def test_national_day_2026_is_off(cal: WorkCalendar, day: date) -> None:
    assert not cal.is_working_day(day)
    assert cal.day_name(day) == "国庆节"
    assert not cal.is_estimated(day)


def test_national_day_2026_makeup_saturday(cal: WorkCalendar) -> None:
    assert cal.is_working_day(d("2026-10-10"))
    assert cal.day_name(d("2026-10-10")) == "调休上班"
    assert cal.is_working_day(d("2026-09-20"))  # Sunday before the break


@pytest.mark.parametrize(
    ("start", "n", "due"),
    [
        ("2026-09-30", 0, "2026-09-30"),
        ("2026-09-30", 1, "2026-10-08"),
        ("2026-09-30", 2, "2026-10-09"),
        ("2026-09-30", 3, "2026-10-10"),  # 调休 Saturday
        ("2026-09-30", 4, "2026-10-12"),
        ("2026-10-03", 0, "2026-10-08"),  # raised during the break
    ],
)
def test_national_day_2026_deadlines(cal: WorkCalendar, start: str, n: int, due: str) -> None:
    assert cal.add_working_days(d(start), n) == d(due)


def test_national_day_2026_deadline_after(cal: WorkCalendar) -> None:
    result = deadline_after(cal, datetime(2026, 9, 30, 10, 0, tzinfo=SH), 3)
    assert result == Deadline(
        at=datetime(2026, 10, 10, 9, 30, tzinfo=UTC),
        local_day=d("2026-10-10"),
        estimated=False,
    )


# --- Spring Festival 2026 / 2027 -----------------------------------------


@pytest.mark.parametrize(
    ("start", "n", "due"),
    [
        ("2026-02-13", 1, "2026-02-14"),  # 调休 Saturday
        ("2026-02-13", 2, "2026-02-24"),  # 02-15..02-23 off
        ("2026-02-14", 5, "2026-02-28"),  # 调休 Saturday after the break
    ],
)
def test_spring_festival_2026(cal: WorkCalendar, start: str, n: int, due: str) -> None:
    assert cal.add_working_days(d(start), n) == d(due)
    result = deadline_after(cal, datetime.fromisoformat(start).replace(hour=9, tzinfo=SH), n)
    assert result.local_day == d(due)
    assert result.estimated is False


def test_spring_festival_2027_library_estimate(cal: WorkCalendar) -> None:
    # The library's estimate: 02-05 (除夕) to 02-10 off, no make-up weekends.
    assert [cal.is_working_day(day) for day in days("2027-02-04", "2027-02-11")] == [
        True, False, False, False, False, False, False, True,
    ]
    assert cal.day_name(d("2027-02-05")) == "春节"
    assert cal.is_estimated(d("2027-02-08"))
    result = deadline_after(cal, datetime(2027, 2, 4, 9, 0, tzinfo=SH), 1)
    assert result.local_day == d("2027-02-11")
    assert result.estimated is True


def test_entered_days_are_known_but_the_rest_of_their_year_is_still_an_estimate() -> None:
    cal = WorkCalendar(HYPOTHETICAL_2027_SPRING)
    assert not cal.is_estimated(d("2027-02-08"))  # entered by the admin
    assert cal.is_estimated(d("2027-04-05"))  # 清明: not entered, the year not declared official
    assert cal.is_estimated(d("2027-12-31"))
    assert cal.official_years == frozenset()
    assert deadline_after(cal, datetime(2027, 2, 4, 9, 0, tzinfo=SH), 1).estimated  # crosses 13-14 Feb


def test_spring_festival_2027_with_overrides() -> None:
    cal = WorkCalendar(HYPOTHETICAL_2027_SPRING, official_years=[2027])
    assert not cal.is_estimated(d("2027-02-08"))
    assert not cal.is_estimated(d("2027-12-31"))  # the whole year is declared official
    assert not cal.is_working_day(d("2027-02-11"))  # library said working
    assert not cal.is_working_day(d("2027-02-12"))
    assert cal.is_working_day(d("2027-02-20"))  # Saturday
    assert cal.day_name(d("2027-02-20")) == "调休上班"
    assert cal.day_name(d("2027-02-11")) == "春节"
    assert cal.day_name(d("2027-02-13")) == "春节"  # weekend inside the break
    start = datetime(2027, 2, 4, 9, 0, tzinfo=SH)
    assert deadline_after(cal, start, 1) == Deadline(
        at=datetime(2027, 2, 15, 9, 30, tzinfo=UTC),
        local_day=d("2027-02-15"),
        estimated=False,
    )
    assert deadline_after(cal, start, 6).local_day == d("2027-02-20")


def test_an_official_later_year_does_not_make_earlier_years_official() -> None:
    cal = WorkCalendar([DayOverride(d("2028-01-03"), True)], official_years=[2028])
    assert cal.is_estimated(d("2027-06-01"))
    assert not cal.is_estimated(d("2028-06-01"))
    assert not cal.is_estimated(d("2026-12-31"))
    assert cal.official_years == frozenset({2028})


# --- crossing into an estimated year ---------------------------------------


@pytest.mark.parametrize(
    ("n", "due", "estimated"),
    [
        (1, "2026-12-31", False),
        (2, "2027-01-04", True),  # 2027-01-01 元旦 off (estimate)
        (5, "2027-01-07", True),
    ],
)
def test_deadline_crossing_into_2027(n: int, due: str, estimated: bool) -> None:
    cal = WorkCalendar()
    result = deadline_after(cal, datetime(2026, 12, 30, 15, 0, tzinfo=SH), n)
    assert result.local_day == d(due)
    assert result.estimated is estimated


def test_official_until_parameter() -> None:
    assert WorkCalendar().is_estimated(d("2027-01-01"))
    assert not WorkCalendar().is_estimated(d("2026-12-31"))
    cal = WorkCalendar(official_until=d("2027-12-31"))
    result = deadline_after(cal, datetime(2026, 12, 30, 15, 0, tzinfo=SH), 5)
    assert result.estimated is False
    assert cal.official_until == d("2027-12-31")


# --- overrides --------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working", "name", "library_working", "expected_name"),
    [
        ("2026-03-10", False, "区级停工日", True, "区级停工日"),  # plain Tuesday off
        ("2026-03-11", False, "", True, "休息日"),  # unnamed day off
        ("2026-03-14", True, "", False, "调休上班"),  # plain Saturday working
        ("2026-10-05", True, "", False, None),  # library holiday made working
        ("2026-10-10", False, "", True, "休息日"),  # library 调休 Saturday made off
        ("2026-10-08", False, "", True, "国庆节"),  # break extended: borrows its name
    ],
)
def test_override_wins_over_library(
    day: str, working: bool, name: str, library_working: bool, expected_name: str | None
) -> None:
    assert WorkCalendar().is_working_day(d(day)) is library_working
    cal = WorkCalendar([DayOverride(d(day), working, name)])
    assert cal.is_working_day(d(day)) is working
    assert cal.day_name(d(day)) == expected_name


def test_overrides_shift_deadlines() -> None:
    overrides = [
        DayOverride(d("2026-03-10"), False, "区级停工日"),
        DayOverride(d("2026-03-14"), True),
    ]
    plain, custom = WorkCalendar(), WorkCalendar(overrides)
    start = d("2026-03-09")  # Monday
    assert plain.add_working_days(start, 5) == d("2026-03-16")
    assert custom.add_working_days(start, 5) == d("2026-03-16")  # lost Tue, gained Sat
    assert plain.add_working_days(start, 1) == d("2026-03-10")
    assert custom.add_working_days(start, 1) == d("2026-03-11")
    assert custom.add_working_days(start, 4) == d("2026-03-14")
    assert custom.working_days_between(start, d("2026-03-15")) == 4
    assert plain.working_days_between(start, d("2026-03-15")) == 4


def test_duplicate_override_rejected() -> None:
    with pytest.raises(ValueError):
        WorkCalendar([DayOverride(d("2026-03-10"), False), DayOverride(d("2026-03-10"), True)])


# --- walking helpers --------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "next_day", "previous_day"),
    [
        ("2026-09-30", "2026-10-08", "2026-09-29"),
        ("2026-10-04", "2026-10-08", "2026-09-30"),
        ("2026-10-09", "2026-10-10", "2026-10-08"),
        ("2026-02-14", "2026-02-24", "2026-02-13"),
        ("2026-03-02", "2026-03-03", "2026-02-28"),  # Monday: back to 调休 Saturday
    ],
)
def test_next_and_previous_working_day(
    cal: WorkCalendar, day: str, next_day: str, previous_day: str
) -> None:
    assert cal.next_working_day(d(day)) == d(next_day)
    assert cal.previous_working_day(d(day)) == d(previous_day)


@pytest.mark.parametrize(
    ("start", "end", "count"),
    [
        ("2026-09-30", "2026-10-10", 3),
        ("2026-09-30", "2026-09-30", 0),
        ("2026-10-10", "2026-09-30", 0),  # empty interval
        ("2026-10-07", "2026-10-08", 1),
    ],
)
def test_working_days_between(cal: WorkCalendar, start: str, end: str, count: int) -> None:
    assert cal.working_days_between(d(start), d(end)) == count


def test_working_days_between_inverts_add(cal: WorkCalendar) -> None:
    start = d("2026-09-15")
    for n in (1, 7, 30, 120):
        assert cal.working_days_between(start, cal.add_working_days(start, n)) == n


def test_add_working_days_rejects_negative(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError):
        cal.add_working_days(d("2026-09-30"), -1)


@pytest.mark.parametrize(
    ("day", "name"),
    [
        ("2026-01-01", "元旦"),
        ("2026-02-16", "春节"),  # 除夕 folded into 春节
        ("2026-02-20", "春节"),  # swapped day off
        ("2026-04-06", "清明节"),
        ("2026-05-05", "劳动节"),
        ("2026-06-19", "端午节"),
        ("2026-09-25", "中秋节"),
        ("2026-10-09", None),  # ordinary Friday
        ("2026-10-17", None),  # ordinary Saturday
    ],
)
def test_day_names_are_chinese(cal: WorkCalendar, day: str, name: str | None) -> None:
    assert cal.day_name(d(day)) == name


# --- deadline_after ---------------------------------------------------------


def test_deadline_is_1730_shanghai_in_utc(cal: WorkCalendar) -> None:
    result = deadline_after(cal, datetime(2026, 3, 2, 9, 0, tzinfo=SH), 2)
    assert result.at == datetime(2026, 3, 4, 9, 30, tzinfo=UTC)
    assert result.at.utcoffset() == timedelta(0)
    assert result.at.astimezone(SH).time() == time(17, 30)


def test_deadline_custom_end_of_day(cal: WorkCalendar) -> None:
    result = deadline_after(
        cal, datetime(2026, 3, 2, 9, 0, tzinfo=SH), 2, end_of_day=time(12, 0)
    )
    assert result.at == datetime(2026, 3, 4, 4, 0, tzinfo=UTC)


def test_start_after_end_of_day_counts_from_same_local_date(cal: WorkCalendar) -> None:
    early = deadline_after(cal, datetime(2026, 3, 2, 9, 0, tzinfo=SH), 1)
    late = deadline_after(cal, datetime(2026, 3, 2, 23, 59, tzinfo=SH), 1)
    assert early.local_day == late.local_day == d("2026-03-03")


def test_start_is_converted_to_shanghai_date(cal: WorkCalendar) -> None:
    # 2026-03-02 18:00 UTC is already Tuesday 02:00 in Shanghai.
    result = deadline_after(cal, datetime(2026, 3, 2, 18, 0, tzinfo=UTC), 1)
    assert result.local_day == d("2026-03-04")


def test_deadline_zero_days_on_a_holiday(cal: WorkCalendar) -> None:
    result = deadline_after(cal, datetime(2026, 10, 2, 9, 0, tzinfo=SH), 0)
    assert result.local_day == d("2026-10-08")


def test_deadline_rejects_naive_start(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError):
        deadline_after(cal, datetime(2026, 3, 2, 9, 0), 1)  # noqa: DTZ001
