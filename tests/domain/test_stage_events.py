"""开工/竣工 reports: which are accepted, and which projects are late to start."""

from datetime import date

import pytest

from bot.domain.stage_events import FINISH, START, not_started, refusal

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
