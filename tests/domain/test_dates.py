"""Days as people type them (bot.domain.dates)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.dates import parse_day, split_leading_day


@pytest.mark.parametrize("text", ["2026-11-20", "2026/11/20", "2026.11.20", "2026年11月20日", "2026年11月20",
                                  " 2026-11-20 ", "2026-1-5"])
def test_a_day_in_any_usual_form(text: str) -> None:
    assert parse_day(text) == (date(2026, 1, 5) if text == "2026-1-5" else date(2026, 11, 20))


@pytest.mark.parametrize("text", ["2026-02-30", "2026-13-01", "20261120", "11月20日", "2026-11-20 起", "明天", ""])
def test_not_a_day(text: str) -> None:
    assert parse_day(text) is None


def test_a_leading_day_and_the_rest() -> None:
    assert split_leading_day("2026-12-10 先行施工") == (date(2026, 12, 10), "先行施工")
    assert split_leading_day("2026年12月10日先行施工") == (date(2026, 12, 10), "先行施工")
    assert split_leading_day(" 协调中 ") == (None, "协调中")
    assert split_leading_day("2026-02-30 协调中") == (None, "2026-02-30 协调中")  # no such day: all is text


# --- the forms people type, given today ------------------------------------------------------------------

from datetime import timedelta  # noqa: E402

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

TODAY = date(2026, 12, 9)  # a Wednesday


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-12-20", date(2026, 12, 20)),
    ("12-20", date(2026, 12, 20)),
    ("12/20", date(2026, 12, 20)),
    ("12月20日", date(2026, 12, 20)),
    ("12月20号", date(2026, 12, 20)),
    ("12月20", date(2026, 12, 20)),
    ("1-5", date(2027, 1, 5)),  # passed this year: next year's
    ("12-9", date(2026, 12, 9)),  # today is today
    ("今天", date(2026, 12, 9)),
    ("明天", date(2026, 12, 10)),
    ("后天", date(2026, 12, 11)),
    ("周五", date(2026, 12, 11)),
    ("本周五", date(2026, 12, 11)),
    ("下周五", date(2026, 12, 18)),
    ("下星期一", date(2026, 12, 14)),
    ("下周日", date(2026, 12, 20)),
    ("2-29", date(2028, 2, 29)),  # the next 29 February
    ("13-01", None), ("12-32", None), ("月底", None), ("下下周五", None), ("12月底", None), ("3-5天", None),
])
def test_the_forms_people_type(text: str, expected: date | None) -> None:
    assert parse_day(text, today=TODAY) == expected


def test_short_forms_need_today() -> None:
    assert parse_day("12-20") is None and parse_day("明天") is None


@pytest.mark.parametrize(("text", "day", "rest"), [
    ("12-20 已协调", date(2026, 12, 20), "已协调"),
    ("12月20日已协调", date(2026, 12, 20), "已协调"),
    ("明天,已协调", date(2026, 12, 10), "已协调"),
    ("下周五 先行施工", date(2026, 12, 18), "先行施工"),
    ("3-5天内完成", None, "3-5天内完成"),
    ("明天再说吧", None, "明天再说吧"),  # not a day on its own: all of it is text
])
def test_a_leading_day_in_any_form(text: str, day: date | None, rest: str) -> None:
    assert split_leading_day(text, today=TODAY) == (day, rest)


days = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))


@given(days)
def test_every_full_date_reads_back(day: date) -> None:
    for text in (day.isoformat(), f"{day.year}/{day.month}/{day.day}", f"{day.year}年{day.month}月{day.day}日"):
        assert parse_day(text) == day


@given(days, days)
def test_a_month_and_day_is_the_next_such_day_within_a_year(today: date, day: date) -> None:
    read = parse_day(f"{day.month}月{day.day}日", today=today)
    assert read is not None
    assert (read.month, read.day) == (day.month, day.day)
    assert today <= read <= today + timedelta(days=366 * 4)  # 29 Feb may wait for a leap year
    if (day.month, day.day) != (2, 29):
        assert read < today + timedelta(days=366)


@given(days, st.sampled_from("一二三四五六日"))
def test_next_weeks_day_is_in_next_week(today: date, weekday: str) -> None:
    read = parse_day(f"下周{weekday}", today=today)
    assert read is not None
    assert read.isocalendar()[:2] == (today + timedelta(days=7)).isocalendar()[:2]
    assert "一二三四五六日".index(weekday) == read.weekday()


@given(days, st.text(alphabet="已协调完成审批", min_size=1, max_size=8))
def test_split_then_join_keeps_the_text(today: date, rest: str) -> None:
    day, text = split_leading_day(f"{today.month}-{today.day} {rest}", today=today)
    assert (day, text) == (today, rest)
