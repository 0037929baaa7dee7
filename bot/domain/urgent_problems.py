"""Which open problems a lead official's digest names, so that it stays readable on a phone.

A leader holding many projects may have dozens of open problems on them; his digest names at most a few, the
most urgent first (past the resolution deadline, then the highest level reached, then the oldest), and says how
many more there are (`/issues` lists them all). A problem the unit reports solved, waiting for the raiser's 销号,
is the least urgent. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, TypeVar

LEADER_PROBLEMS = 10  # a lead official's digest names at most so many problems of his projects


class OpenItem(Protocol):
    @property
    def number(self) -> str: ...
    @property
    def resolution_due_at(self) -> datetime | None: ...
    @property
    def status(self) -> str: ...
    @property
    def level(self) -> int: ...


P = TypeVar("P", bound=OpenItem)


def is_overdue(problem: OpenItem, overdue_before: datetime) -> bool:
    """Still being handled and past its resolution deadline (`overdue_before`: the start of the day after the
    digest's cut-off day, as the digest marks ⚠️已超期)."""
    due = problem.resolution_due_at
    return problem.status != "resolved" and due is not None and due < overdue_before


def urgency(problem: OpenItem, overdue_before: datetime) -> tuple[bool, bool, int, int, str]:
    """A sort key, most urgent first: overdue, not yet reported solved, highest level, oldest (lowest number)."""
    return urgency_given(problem, overdue=is_overdue(problem, overdue_before))


def urgency_given(problem: OpenItem, *, overdue: bool) -> tuple[bool, bool, int, int, str]:
    """`urgency` with whether the problem is overdue said by the caller (the web pages: any deadline running on
    it passed by now, as the chat marks ⚠️已超期)."""
    return not overdue, problem.status == "resolved", -problem.level, len(problem.number), problem.number


def most_urgent(problems: Sequence[P], *, overdue_before: datetime, limit: int = LEADER_PROBLEMS
                ) -> tuple[list[P], int]:
    """The `limit` most urgent problems, most urgent first, and how many are left out."""
    ranked = sorted(problems, key=lambda p: urgency(p, overdue_before))
    return ranked[:limit], max(0, len(ranked) - limit)
