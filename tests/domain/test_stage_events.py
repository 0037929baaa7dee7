"""开工/竣工 reports: which are accepted, and which projects are late to start."""

from datetime import date

import pytest

from bot.domain.stage_events import FINISH, START, in_the_past, not_started, refusal

TODAY = date(2026, 12, 6)


@pytest.mark.parametrize(("kind", "stage", "day", "pending", "why"), [
    (START, "前期", TODAY, False, None),
    (START, "谋划", date(2026, 1, 5), False, None),
    (START, "在建", TODAY, False, "stage"),
    (FINISH, "前期", TODAY, False, "stage"),
    (FINISH, "在建", TODAY, False, None),
    (FINISH, "竣工", TODAY, False, "stage"),
    (START, "前期", date(2026, 12, 7), False, "future"),
    (START, "前期", date(2025, 12, 4), False, "too_old"),
    (START, "前期", TODAY, True, "pending"),
])
def test_what_may_be_reported(kind: str, stage: str, day: date, pending: bool, why: str | None) -> None:
    assert refusal(kind, stage=stage, day=day, today=TODAY, pending=pending) == why


def test_planned_to_start_by_now_and_not_started() -> None:
    assert not_started("前期", date(2026, 12, 6), TODAY)
    assert not_started("谋划", date(2026, 3, 1), TODAY)
    assert not not_started("前期", date(2026, 12, 7), TODAY)
    assert not not_started("在建", date(2026, 3, 1), TODAY)
    assert not not_started("前期", None, TODAY)


@pytest.mark.parametrize(("day", "text", "meant"), [
    (date(2026, 12, 1), "12月1日", date(2026, 12, 1)),
    (date(2027, 12, 1), "12月1日", date(2026, 12, 1)),
    (date(2027, 11, 30), "11-30", date(2026, 11, 30)),
    (date(2026, 12, 20), "12月20日", date(2026, 12, 20)),  # this year's, still ahead: refused as future
    (date(2027, 6, 30), "6月30日", date(2026, 6, 30)),
    (date(2027, 12, 1), "2027-12-01", date(2027, 12, 1)),  # a year written is a year meant (and refused)
    (date(2026, 12, 7), "明天", date(2026, 12, 7)),
])
def test_a_month_and_day_without_a_year_is_the_latest_such_day(day: date, text: str, meant: date) -> None:
    assert in_the_past(day, text, TODAY) == meant


def test_in_january_last_decembers_day_is_meant() -> None:
    assert in_the_past(date(2027, 12, 28), "12月28日", date(2027, 1, 4)) == date(2026, 12, 28)
