"""Every figure is rounded as the Excel ledger shows it: one decimal, half away from zero (四舍五入) on the
value's 15 significant digits; the chat's and the documents' filters and the charts go through it."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.rounding import one_decimal, percent, tenths
from bot.render import format_delta, format_pct, format_points


def excel(value: float, scale: int = 1, places: str = "0.1") -> Decimal:
    """What a spreadsheet's one-decimal number format shows of ``value``."""
    return (Decimal(format(value, ".15g")) * scale).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def test_ties_go_away_from_zero_as_in_the_ledger() -> None:
    assert format_points(-3.25) == "-3.3" and format_points(3.25) == "+3.3"  # Python's own :.1f gives -3.2
    assert tenths(72.25) == "72.3" and tenths(None) == "—"
    assert format_pct(0.6415) == "64.2%"  # 64.15 % of a plan: :.1f gave 64.1 %
    assert format_delta(-1.25) == "\u22121.3" and format_delta(0.04) == "0.0"


@given(st.floats(min_value=-1000, max_value=1000, allow_nan=False))
def test_the_filters_show_what_a_spreadsheet_shows(value: float) -> None:
    assert one_decimal(value) == excel(value)
    assert percent(value / 100) == excel(value / 100, 100)
    assert format_points(value) == f"{excel(value):+.1f}"
