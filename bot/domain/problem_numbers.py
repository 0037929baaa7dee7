"""A problem's number as people read and type it: problem 7 is "W0007" in every message, page and export."""

from __future__ import annotations

import re

from bot.domain.digits import as_id

PREFIX = "W"
_SHAPE = re.compile(r"^[Ww]?[0-9]{1,7}$")


def problem_number(problem_id: int) -> str:
    """The number people see for problem ``problem_id``: "W" and at least four digits."""
    return f"{PREFIX}{problem_id:04d}"


def parse_problem_number(text: str, *, prefix_required: bool = False) -> int | None:
    """"W0007" / "w7" / "7" → 7 (with ``prefix_required`` only the forms with W); None for anything that is not
    a problem's id (0, a number too large for the database, other words)."""
    text = text.strip().upper()
    if prefix_required and not text.startswith(PREFIX):
        return None
    return as_id(text.removeprefix(PREFIX))


def looks_like_problem_number(word: str) -> bool:
    """Whether a typed word is meant as a problem's number ("W12", "12"), valid or not."""
    return _SHAPE.match(word) is not None
