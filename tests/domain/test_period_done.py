"""本期完成投资 (bot.domain.standings.period_done): the growth of year-to-date over the period, one rule for every
bulletin, the ledger's base counted once, in the period that opens the year."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from bot.domain.periods import parse_period
from bot.domain.standings import period_done, period_opening
from tests.render.factories import make_standing

PROJECTS = [
    make_standing(code="ZD2026-001", ytd_done=Decimal("26951")),
    make_standing(code="ZD2026-002", ytd_done=Decimal("900")),
]


def test_a_period_opening_the_year_has_no_opening_day() -> None:
    for kind, name in (("annual", "2026"), ("halfyear", "2026-H1"), ("quarterly", "2026-Q1"), ("monthly", "2026-01")):
        period = parse_period(kind, name)
        assert period_opening(period.start, period.end) is None, name
    for kind, name, opening in (
        ("halfyear", "2026-H2", date(2026, 6, 30)),
        ("quarterly", "2026-Q4", date(2026, 9, 30)),
        ("monthly", "2026-12", date(2026, 11, 30)),
    ):
        period = parse_period(kind, name)
        assert period_opening(period.start, period.end) == opening, name
    # a week straddling New Year measured on 31 December opens in its year
    assert period_opening(date(2026, 12, 28), date(2026, 12, 31)) == date(2026, 12, 27)


def test_the_year_says_its_total_and_a_later_period_only_what_it_added() -> None:
    """The annual bulletin's 本期 is the year-to-date, the ledger's base (26,051 of ZD2026-001) in it; December's
    is the reports counted after 30 November, a project without any adding nothing."""
    assert period_done(PROJECTS, opening=None, counted_since={"ZD2026-002": Decimal("900")}) == Decimal("27851")
    counted = {"ZD2026-002": Decimal("900"), "ZD2026-999": Decimal("5")}  # another project: not in the bulletin
    assert period_done(PROJECTS, opening=date(2026, 11, 30), counted_since=counted) == Decimal("900")
