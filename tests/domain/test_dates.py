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
