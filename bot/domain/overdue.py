"""When a problem is overdue (⚠️已超期): the one rule `/issues`, the cards, the web pages, a lead official's digest
and the top officials' summary all mark a problem by.

A problem being worked on (待受理, 办理中, 已答复) is overdue once a deadline running on it has passed: the unit's
受理 deadline while it waits at the unit to be taken up, the level's 办结 deadline, and the unit's promised day
(承诺完成日期, the end of that working day), a promise of its own even while the 办结 deadline is still ahead. One
reported solved (待销号) or closed is not. Pure: the caller passes "now" (a digest: the end of its cut-off day).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from bot.domain.escalation import ACTIVE, RESPONSE_LEVELS, Clock, SlaPolicy
from bot.domain.promises import promised_end


@dataclass(frozen=True)
class ProblemDeadlines:
    """A problem's deadlines as the rule reads them, for a caller holding a stored problem."""

    status: str
    level: int
    response_due_at: datetime | None
    resolution_due_at: datetime | None
    promised_due_at: datetime | None


class Deadlines(Protocol):
    """What the rule reads of a problem."""

    @property
    def status(self) -> str: ...
    @property
    def level(self) -> int: ...
    @property
    def response_due_at(self) -> datetime | None: ...
    @property
    def resolution_due_at(self) -> datetime | None: ...
    @property
    def promised_due_at(self) -> datetime | None: ...


def promised_due_at(day: date | None, policy: SlaPolicy) -> datetime | None:
    """The end of the working day (per the problem's policy) on the unit's promised date, if it gave one."""
    return promised_end(day, policy.end_of_day)


def running(problem: Deadlines) -> dict[Clock, datetime]:
    """The deadlines running on the problem, by clock: none unless it is being worked on."""
    if problem.status not in ACTIVE:
        return {}
    found: dict[Clock, datetime | None] = {"resolution": problem.resolution_due_at,
                                           "promise": problem.promised_due_at}
    if problem.status == "open" and problem.level in RESPONSE_LEVELS:
        found["response"] = problem.response_due_at
    return {clock: due for clock, due in found.items() if due is not None}


def next_deadline(problem: Deadlines) -> datetime | None:
    """The nearest deadline running on the problem (None: none runs)."""
    return min(running(problem).values(), default=None)


def passed(problem: Deadlines, now: datetime) -> frozenset[Clock]:
    """The clocks whose deadline has passed by ``now`` (empty: not overdue)."""
    return frozenset(clock for clock, due in running(problem).items() if due <= now)


def earliest(problem: Deadlines) -> tuple[datetime, Clock] | None:
    """The nearest deadline running on the problem and its clock (on a tie the 办结 deadline, then the 受理 one:
    a promise due with the deadline is named as the deadline)."""
    order: tuple[Clock, ...] = ("resolution", "response", "promise")
    found = running(problem)
    return min(((due, clock) for clock, due in found.items()), key=lambda d: (d[0], order.index(d[1])),
               default=None)


def is_overdue(problem: Deadlines, now: datetime) -> bool:
    """Whether a deadline running on the problem has passed by ``now``: what ⚠️已超期 marks everywhere."""
    due = next_deadline(problem)
    return due is not None and due <= now
