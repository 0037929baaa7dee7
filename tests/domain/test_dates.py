"""Days as people type them (bot.domain.dates)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.dates import NEAR_AHEAD, parse_day, split_leading_day, split_near_day


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

from hypothesis import assume, given  # noqa: E402
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


# --- a day meant to be past (the day of a report to correct) ----------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("今天", date(2026, 12, 9)), ("昨天", date(2026, 12, 8)), ("昨日", date(2026, 12, 8)),
    ("前天", date(2026, 12, 7)), ("12-8", date(2026, 12, 8)), ("12.8", date(2026, 12, 8)),
    ("12月8日", date(2026, 12, 8)), ("12-20", date(2026, 12, 20)),  # less than a month ahead: that day
    ("1月20日", date(2026, 1, 20)), ("2-1", date(2026, 2, 1)),  # further ahead: this year's, gone by
    ("周一", date(2026, 12, 7)), ("周五", date(2026, 12, 4)),  # Friday not yet this week: last Friday
    ("上周五", date(2026, 12, 4)), ("上周一", date(2026, 11, 30)), ("2026-11-20", date(2026, 11, 20)),
    ("明天", None), ("后天", None), ("前天晚上", None),
])
def test_the_forms_of_a_past_day(text: str, expected: date | None) -> None:
    assert parse_day(text, today=TODAY, past=True) == expected


def test_a_day_ahead_is_never_read_from_yesterday_nor_a_dotted_number() -> None:
    """An answer opening "昨天，已协调" or "2.5 公里已通车" is text, not a promised day."""
    assert split_leading_day("昨天，已协调", today=TODAY) == (None, "昨天，已协调")
    assert split_leading_day("上周五 已协调", today=TODAY) == (None, "上周五 已协调")
    assert split_leading_day("2.5 公里已通车", today=TODAY) == (None, "2.5 公里已通车")


@given(days, st.integers(min_value=0, max_value=330),  # more than 11 months back: see the next test
       st.sampled_from(["{m}-{d}", "{m}/{d}", "{m}.{d}", "{m}月{d}日", "{m}月{d}号"]),
       st.text(alphabet="850 桩基理由：", max_size=8))
def test_a_past_month_and_day_is_the_latest_such_day_not_after_today(today: date, back: int, form: str,
                                                                      rest: str) -> None:
    day = today - timedelta(days=back)
    assume((day.month, day.day) != (2, 29))  # the latest 29 February may be four years back
    read, after = split_leading_day(f"{form.format(m=day.month, d=day.day)} {rest}", today=today, past=True)
    assert (read, after) == (day, rest.strip(" ：")), (read, after)


@given(days, st.integers(min_value=1, max_value=NEAR_AHEAD), st.sampled_from(["{m}-{d}", "{m}.{d}", "{m}月{d}日"]))
def test_a_past_day_written_less_than_a_month_ahead_is_that_day_not_last_years(today: date, ahead: int,
                                                                                 form: str) -> None:
    """12月20日 written on 2 December is a slip the caller refuses as not yet come, never 2025-12-20."""
    day = today + timedelta(days=ahead)
    assume((day.month, day.day) != (2, 29))
    assert parse_day(form.format(m=day.month, d=day.day), today=today, past=True) == day


@given(days, st.sampled_from(["今天", "昨天", "前天", "今日", "昨日"]))
def test_yesterday_and_the_day_before_are_read_when_a_past_day_is_meant(today: date, word: str) -> None:
    back = {"今": 0, "昨": 1, "前": 2}[word[0]]
    assert parse_day(word, today=today, past=True) == today - timedelta(days=back)
    assert parse_day(word, today=today) == (today if back == 0 else None)


@given(days, st.sampled_from("一二三四五六日"), st.sampled_from(["周", "星期", "上周"]))
def test_a_past_weekday_is_within_the_last_week_or_the_one_before(today: date, weekday: str, word: str) -> None:
    read = parse_day(f"{word}{weekday}", today=today, past=True)
    assert read is not None and read.weekday() == "一二三四五六日".index(weekday)
    if word == "上周":
        assert read.isocalendar()[:2] == (today - timedelta(days=7)).isocalendar()[:2]
    else:
        assert today - timedelta(days=6) <= read <= today


@pytest.mark.parametrize(("text", "day", "rest"), [
    ("12月20日前 已协调国土局", date(2026, 12, 20), "已协调国土局"),
    ("12月20日前完成签约", date(2026, 12, 20), "完成签约"),
    ("12-20前完成", date(2026, 12, 20), "完成"),
    ("2026-12-20之前完成", date(2026, 12, 20), "完成"),
    ("周五以前报送", date(2026, 12, 11), "报送"),
    ("12月20日前期工作完成", date(2026, 12, 20), "前期工作完成"),  # 前期 is a word, not "by"
    ("12月20日前后完成", date(2026, 12, 20), "前后完成"),
    ("前期工作12-20前完成", None, "前期工作12-20前完成"),
])
def test_a_day_a_promise_is_kept_by_leaves_its_by_out_of_the_words(text: str, day: date | None, rest: str) -> None:
    """"12月20日前" (by 20 December) is the promised day: the 前 is not left at the head of the answer."""
    assert split_near_day(text, today=TODAY)[:2] == (day, rest)


def test_a_day_past_by_which_is_still_read_past() -> None:
    """The rule for a day written without its year holds with 前 too: one just past is refused, not next year's."""
    assert split_near_day("12-1前完成", today=TODAY)[0] == date(2026, 12, 1)
