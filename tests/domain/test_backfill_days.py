"""Which past days the 项目办 may enter afterwards (bot.domain.backfill_days)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.backfill_days import BackfillRefusal, backfill_refusal
from bot.domain.workdays import WorkCalendar

CALENDAR = WorkCalendar()
TODAY = date(2026, 12, 22)  # a Tuesday
ENTERED = date(2026, 12, 2)  # a Wednesday: the day the project came into the ledger


def refusal(day: date, *, entered: date | None = ENTERED, covered_until: date | None = None) -> BackfillRefusal | None:
    return backfill_refusal(day, today=TODAY, calendar=CALENDAR, entered=entered, covered_until=covered_until)


def test_a_past_working_day_after_the_project_came_in_may_be_entered() -> None:
    assert refusal(date(2026, 12, 21)) is None
    assert refusal(ENTERED) is None  # the day it came in owes a report
    assert refusal(date(2021, 6, 1), entered=None) is None  # not known when: long ago


def test_today_is_the_liaisons() -> None:
    assert refusal(TODAY) == BackfillRefusal("today")


@pytest.mark.parametrize("day", [date(2026, 12, 1), date(2026, 11, 29), date(2025, 12, 31), date(2021, 6, 1)])
def test_a_day_before_the_project_came_in_is_refused_naming_the_day_it_did(day: date) -> None:
    assert refusal(day) == BackfillRefusal("before_entry", bound=ENTERED, earliest=ENTERED)


def test_the_earliest_day_offered_is_a_working_day_before_today() -> None:
    sunday = date(2026, 12, 20)
    assert refusal(date(2026, 11, 2), entered=sunday) == BackfillRefusal(
        "before_entry", bound=sunday, earliest=date(2026, 12, 21)
    )
    assert refusal(date(2026, 11, 2), entered=TODAY) == BackfillRefusal("before_entry", bound=TODAY)


def test_a_day_the_ledger_base_counts_is_refused_naming_the_first_day_after_it() -> None:
    base_day = date(2026, 12, 10)  # the ledger's 截至 day: what was done up to it is in the base
    after = BackfillRefusal("covered", bound=base_day, earliest=date(2026, 12, 11))
    assert refusal(base_day, covered_until=base_day) == after
    assert refusal(date(2026, 12, 3), covered_until=base_day) == after
    assert refusal(date(2026, 12, 11), covered_until=base_day) is None
    friday = date(2026, 12, 18)  # the day after it a Saturday: the Monday is offered
    assert refusal(friday, covered_until=friday) == BackfillRefusal(
        "covered", bound=friday, earliest=date(2026, 12, 21)
    )
    assert refusal(date(2026, 12, 21), covered_until=date(2026, 12, 21)) == BackfillRefusal(
        "covered", bound=date(2026, 12, 21)
    )  # covered up to yesterday: nothing to enter
    # a day before the project came in is refused for that, whatever the base covers
    assert refusal(date(2026, 12, 1), covered_until=base_day) == BackfillRefusal(
        "before_entry", bound=ENTERED, earliest=ENTERED
    )


def test_a_day_off_owes_nothing() -> None:
    assert refusal(date(2026, 12, 20)) == BackfillRefusal("not_working")
