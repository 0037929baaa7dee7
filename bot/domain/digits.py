"""Which characters are digits when a number is read from user text.

``str.isdigit()`` and ``str.isdecimal()`` accept superscripts ("²"), circled numbers ("①") and the digits of
other scripts ("٣"), and NFKC folds "1²" into "12". User text is read with explicit sets instead: ASCII
digits, and full-width digits folded to ASCII.
"""

from __future__ import annotations

ASCII_DIGITS = frozenset("0123456789")
# The largest id a row can have: ids are 32-bit signed integers in the schema (PostgreSQL's INTEGER), and a
# larger number sent to the database overflows (OverflowError on SQLite, DBAPIError on PostgreSQL).
ID_MAX = 2**31 - 1
INT_DIGITS_MAX = 18
FULL_WIDTH_DIGITS = frozenset("０１２３４５６７８９")
_FOLD = str.maketrans("０１２３４５６７８９", "0123456789")


def is_digits(text: str) -> bool:
    """Whether `text` is a non-empty run of ASCII digits 0-9."""
    return bool(text) and all(ch in ASCII_DIGITS for ch in text)


def as_int(text: str) -> int | None:
    """A whole number typed by a user (ASCII or full-width digits, surrounding spaces ignored, at most 18 of
    them: Python refuses to read numbers of thousands of digits); None otherwise."""
    folded = text.strip().translate(_FOLD)
    return int(folded) if is_digits(folded) and len(folded) <= INT_DIGITS_MAX else None


def as_index(text: str, size: int) -> int | None:
    """A position in a list of `size` choices carried by a button ("0", "1", …), else None."""
    number = as_int(text)
    return number if number is not None and number < size else None


def as_id(text: str) -> int | None:
    """An id typed by a user or carried by a button (a W-number, a person's id, a row's id): a whole number
    from 1 to ID_MAX, else None, so that no number can overflow the database's id columns."""
    folded = text.strip().translate(_FOLD)
    if not is_digits(folded) or len(folded) > len(str(ID_MAX)):
        return None
    number = int(folded)
    return number if 1 <= number <= ID_MAX else None
