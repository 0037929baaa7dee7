"""Calendar days as people type them: 2026-11-20, 2026/11/20, 2026.11.20 or 2026年11月20日."""

from __future__ import annotations

import re
from datetime import date

_DAY = r"([0-9]{4})[-/.年]([0-9]{1,2})[-/.月]([0-9]{1,2})日?"
_WHOLE = re.compile(_DAY)
_LEADING = re.compile(rf"{_DAY}\s*")


def day_of(match: re.Match[str]) -> date | None:
    """The day a match of (year, month, day) groups names; None if there is no such day (2026-02-30)."""
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def parse_day(text: str) -> date | None:
    """The day `text` is (surrounding spaces aside); None if it is not one."""
    match = _WHOLE.fullmatch(text.strip())
    return day_of(match) if match else None


def split_leading_day(text: str) -> tuple[date | None, str]:
    """A day at the start of `text` and the rest: ("2026-12-10 先行施工" → (2026-12-10, "先行施工"));
    (None, the whole text) when it does not start with a real day."""
    match = _LEADING.match(text)
    day = day_of(match) if match else None
    if match is None or day is None:
        return None, text.strip()
    return day, text[match.end():].strip()
