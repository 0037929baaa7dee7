"""A project's monthly chart (bot.domain.trend.monthly_cumulative) gives no done for the months its ledger base
blurs: before the base's day a month's year-to-date holds the base whole, as a trend's weeks (``blurred_on``)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from bot.domain.trend import blurring, month_ends, monthly_cumulative

TODAY = date(2026, 11, 20)
BASE_DAY = date(2026, 9, 20)


def _months(bases: dict[date, int]) -> list[tuple[int, Decimal | None, bool]]:
    points = monthly_cumulative(year=2026, today=TODAY, baseline=Decimal(3000),
                                daily={date(2026, 10, 5): Decimal(100)}, plan=Decimal(10000), bases=bases)
    return [(p.month, p.done, p.blurred) for p in points]


def test_the_months_before_the_base_day_have_no_done() -> None:
    months = _months({BASE_DAY: 1})
    assert all(done is None and blurred for _m, done, blurred in months[:8])  # January to August
    assert months[8:11] == [(9, Decimal(3000), False), (10, Decimal(3100), False), (11, Decimal(3100), False)]
    assert months[11] == (12, None, False)  # December is still to come: not blurred
    assert blurring(month_ends(2026, TODAY), {BASE_DAY: 1}).later == ((BASE_DAY, 1),)


def test_a_base_dated_on_or_before_januarys_end_or_of_another_year_blurs_nothing() -> None:
    for bases in ({}, {date(2026, 1, 31): 1}, {date(2025, 12, 1): 1}):
        assert not any(blurred for _m, _done, blurred in _months(bases))
        assert not blurring(month_ends(2026, TODAY), bases)


def test_a_base_dated_after_today_blurs_the_month_under_way_too() -> None:
    months = _months({date(2026, 11, 30): 1})
    assert all(blurred for _m, _done, blurred in months[:11]) and months[11] == (12, None, False)
    assert month_ends(2026, TODAY)[-1] == TODAY
