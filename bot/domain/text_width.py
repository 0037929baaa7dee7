"""How wide a text is in a monospaced layout (chart labels, spreadsheet columns): wide (CJK) characters
count two columns."""

from __future__ import annotations

import unicodedata


def display_width(text: str) -> int:
    """Columns ``text`` takes: wide (CJK) characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)
