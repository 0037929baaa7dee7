"""Which open problems a lead official's digest names, so that it stays readable on a phone.

A leader holding many projects may have dozens of open problems on them; his digest names at most a few, the
most urgent first (past a deadline running on it, then the highest level reached, then the oldest), and says how
many more there are (`/issues` lists them all). A problem the unit reports solved, waiting for the raiser's 销号,
is the least urgent. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from bot.domain import overdue as overdue_rule
from bot.domain.overdue import Deadlines

LEADER_PROBLEMS = 10  # a lead official's digest names at most so many problems of his projects
END_OF_DAY = timedelta(microseconds=1)  # the last instant before the day after the cut-off day


class Numbered(Protocol):
    @property
    def number(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def level(self) -> int: ...


class OpenItem(Numbered, Deadlines, Protocol):
    pass


P = TypeVar("P", bound=OpenItem)


def is_overdue(problem: OpenItem, overdue_before: datetime) -> bool:
    """Past a deadline running on it by the end of the digest's cut-off day (`overdue_before`: the start of the
    day after), as `/issues` marks ⚠️已超期 (`bot.domain.overdue`: the 办结 deadline, the unit's promised day,
    the 受理 deadline while it waits at the unit)."""
    return overdue_rule.is_overdue(problem, overdue_before - END_OF_DAY)


def passed_by(problem: OpenItem, overdue_before: datetime) -> frozenset[overdue_rule.Clock]:
    """Which of its deadlines had passed by the end of the cut-off day (the digest names the passed promise or
    受理 deadline beside its ⚠️已超期, not only a 办结 deadline still ahead)."""
    return overdue_rule.passed(problem, overdue_before - END_OF_DAY)


def urgency(problem: OpenItem, overdue_before: datetime) -> tuple[bool, bool, int, int, str]:
    """A sort key, most urgent first: overdue, not yet reported solved, highest level, oldest (lowest number)."""
    return urgency_given(problem, overdue=is_overdue(problem, overdue_before))


def urgency_given(problem: Numbered, *, overdue: bool) -> tuple[bool, bool, int, int, str]:
    """`urgency` with whether the problem is overdue said by the caller (the web pages: any deadline running on
    it passed by now, as the chat marks ⚠️已超期)."""
    return not overdue, problem.status == "resolved", -problem.level, len(problem.number), problem.number


def most_urgent(problems: Sequence[P], *, overdue_before: datetime, limit: int = LEADER_PROBLEMS
                ) -> tuple[list[P], int]:
    """The `limit` most urgent problems, most urgent first, and how many are left out."""
    ranked = sorted(problems, key=lambda p: urgency(p, overdue_before))
    return ranked[:limit], max(0, len(ranked) - limit)
