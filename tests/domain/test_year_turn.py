"""The year turning: which year a week spanning two is measured on, which periods get no bulletin, and
praise never going to a project at 0 % or without a plan (bot.domain.periods, bot.weekly)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bot.domain.periods import FUTURE, NO_DATA, NOT_OVER, measured_on, parse_period, refusal
from bot.domain.progress import schedule_progress
from bot.weekly import assemble, deserves_praise
from tests.render.factories import make_standing


@pytest.mark.parametrize(("kind", "name", "day"), [
    ("weekly", "2026-W53", date(2026, 12, 31)),  # 2026-12-28 … 2027-01-03: Thursday 12-31, a 2026 week
    ("weekly", "2026-W01", date(2026, 1, 4)),  # 2025-12-29 … 2026-01-04: Thursday 01-01, a 2026 week
    ("weekly", "2020-W53", date(2020, 12, 31)),  # 2020-12-28 … 2021-01-03
    ("weekly", "2027-W01", date(2027, 1, 10)),
    ("weekly", "2026-W47", date(2026, 11, 22)),
    ("monthly", "2026-12", date(2026, 12, 31)),
    ("annual", "2026", date(2026, 12, 31)),
])
def test_a_week_spanning_two_years_is_measured_on_the_year_of_its_thursday(kind: str, name: str,
                                                                           day: date) -> None:
    assert measured_on(parse_period(kind, name)) == day


def test_periods_not_over_in_the_future_or_without_data_are_refused() -> None:
    w53 = parse_period("weekly", "2026-W53")
    assert refusal(w53, today=date(2027, 1, 4), planned=41, reported=0) is None
    assert refusal(w53, today=date(2026, 12, 31), planned=41, reported=5) == NOT_OVER
    assert refusal(w53, today=date(2027, 1, 1), planned=41, reported=5) is None  # measured on 12-31
    assert refusal(parse_period("weekly", "2027-W10"), today=date(2027, 1, 10), planned=41,
                   reported=5) == FUTURE
    assert refusal(parse_period("annual", "2025"), today=date(2026, 12, 6), planned=0, reported=0) == NO_DATA
    # No plan yet but reports: the bulletin goes out and says the plans are missing.
    assert refusal(parse_period("weekly", "2027-W01"), today=date(2027, 1, 11), planned=0, reported=3) is None


def _project(code: str, done: str, plan: str | None) -> object:
    cutoff = date(2027, 1, 10)
    schedule = schedule_progress(cutoff)
    rate = None if plan is None else float(Decimal(done) / Decimal(plan))
    return make_standing(code=code, ytd_done=Decimal(done), annual_plan=Decimal(plan or 0), rate=rate,
                         schedule=schedule, gap=None if rate is None else (rate - schedule) * 100,
                         light="none" if rate is None else "green", rank=None)


def test_praise_never_goes_to_a_project_at_zero_or_without_a_plan() -> None:
    zero, none, some = _project("A", "0", "100"), _project("B", "5", None), _project("C", "1", "100")
    assert [deserves_praise(p) for p in (zero, none, some)] == [False, False, True]  # type: ignore[arg-type]

    everyone_at_zero = [_project(f"Z{n}", "0", "100") for n in range(5)]
    standings = assemble("2027-W01", date(2027, 1, 10), everyone_at_zero, {})  # type: ignore[arg-type]
    assert standings.praised == [] and len(standings.ranked) == 5  # all tied at 0 %: ranked, not praised

    unplanned = [_project(f"N{n}", "3", None) for n in range(4)]
    standings = assemble("2027-W01", date(2027, 1, 10), unplanned, {})  # type: ignore[arg-type]
    assert (standings.ranked, standings.praised, standings.urged, standings.warned) == ([], [], [], [])
    assert [p.code for p in standings.unplanned] == ["N0", "N1", "N2", "N3"]
