"""How a figure is rounded for people to read: one decimal, half away from zero (四舍五入), taken on the value
as a spreadsheet shows it (its 15 significant digits).

The Excel ledger stores the exact values under number formats (``0.0%``, ``+0.0;-0.0``, ``0.0``) that Excel and
LibreOffice round this way; the chat, the bulletins' texts, the Word documents, the charts and the web pages
round through this module, so that a figure reads the same in all of them (Python's own ``f"{x:.1f}"`` rounds a
tie such as -3.25 to even, -3.2, where the ledger shows -3.3). Pure: no I/O.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

TENTH = Decimal("0.1")


def _decimal(value: float | Decimal | int) -> Decimal:
    return Decimal(format(value, ".15g")) if isinstance(value, float) else Decimal(value)


def one_decimal(value: float | Decimal | int) -> Decimal:
    """``value`` to one decimal, half away from zero: 72.25 → 72.3, -3.25 → -3.3."""
    return _decimal(value).quantize(TENTH, rounding=ROUND_HALF_UP)


def percent(fraction: float | Decimal | int) -> Decimal:
    """A fraction as a percentage to one decimal, as ``0.0%`` shows it: 0.61245 → 61.2, 0.61255 → 61.3."""
    return (_decimal(fraction) * 100).quantize(TENTH, rounding=ROUND_HALF_UP)


def tenths(value: float | Decimal | int | None) -> str:
    """``one_decimal`` written out (72.3), or a dash when there is no value."""
    return "—" if value is None else f"{one_decimal(value):.1f}"
