"""The problems of a period, their histories read once and each replayed once at the period's end
(``bot.domain.problem_history.problem_then``), and every problem figure of the period taken from that one replay.

A bulletin reads every problem with its history once (for its Excel ledger), replays every one raised by its
period's end once at that end (``every_problem_at``), lists them so in its Excel 问题清单 (``ledger_rows``) and
takes from the same replay its 问题办理 shares, its table per unit, its note on deadlines never recorded, each
project's open problems and the problems its digests name; the period before is replayed once at its own end.
/rank, the web pages and the exports read only the problems that may count in the one figure they show
(``storage.problem_history``). Both count with the functions below.

A problem may count in a figure of ``since``..``end`` (``may_count``) when it was raised before ``end`` and is
being worked on or awaiting 销号 now, or has an event since ``since``: any other was resolved (or closed) before
``since`` and stayed so, and counts in none of the figures.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from bot.domain.escalation import ACTIVE
from bot.domain.nodes import NODE_PROBLEM
from bot.domain.problem_history import (
    ProblemNow,
    ProblemThen,
    Step,
    UnitProblemFigures,
    handled_within_deadline,
    ledger_row_then,
    open_by_project,
    problem_then,
    problems_by_unit,
    unrecorded_deadlines,
)
from bot.domain.problem_numbers import problem_number
from bot.domain.standings import ProblemRow

__all__ = [
    "ProblemAbout",
    "ProblemHistory",
    "ProblemLine",
    "ProblemsAt",
    "every_problem_at",
    "handling_shares",
    "ledger_rows",
    "may_count",
    "open_problems",
    "problems_at",
    "unclosed",
    "unit_figures",
    "units_with_problems",
    "unrecorded",
]

# The statuses of a problem not closed: being worked on (待受理, 办理中, 已答复) or awaiting 销号.
_NOT_CLOSED = ACTIVE | {"resolved"}


class ProblemAbout(NamedTuple):
    """What a digest names a problem by."""

    project_code: str | None  # None: a meeting decision
    project_name: str | None
    category: str
    text: str


@dataclass(frozen=True)
class ProblemHistory:
    """A problem as the problems table has it now, with its history: what it is replayed from at any instant."""

    now: ProblemNow
    steps: tuple[Step, ...]  # the events of its history, oldest first
    touched_at: datetime | None  # its last event of any kind; None: none
    about: ProblemAbout


class ProblemLine(NamedTuple):
    """A problem not yet closed at a period's end, as a digest names it: how it stood then, and what it is."""

    then: ProblemThen
    project_code: str | None  # None: a meeting decision
    project_name: str | None
    category: str
    text: str


def may_count(history: ProblemHistory, *, since: datetime, end: datetime, awaiting: bool = True) -> bool:
    """Whether the problem may count in a figure of ``since``..``end``: raised before ``end``, and being worked on
    now (or awaiting 销号, with ``awaiting``) or with an event since ``since``."""
    now = history.now
    return now.raised_at < end and (now.status in ACTIVE or (awaiting and now.status == "resolved")
                                    or (history.touched_at is not None and history.touched_at >= since))


@dataclass(frozen=True)
class ProblemsAt:
    """The problems that may count in a figure of a window ending at ``end`` and starting at ``since`` or later
    (``since`` None: every problem raised before ``end``), each with its history and as it stood at ``end``
    (replayed once)."""

    end: datetime
    since: datetime | None
    replayed: tuple[tuple[ProblemHistory, ProblemThen], ...]

    def counted(self, *, since: datetime, nodes: bool = True, awaiting: bool = False) -> list[ProblemThen]:
        """The problems that may count in a figure of ``since``..``end`` (``may_count``), as they stood at
        ``end``, by number; without ``nodes``, an overdue node's problems aside; with ``awaiting``, those
        awaiting 销号 now too."""
        if self.since is not None and since < self.since:
            raise ValueError(f"read for the windows from {self.since}, asked from {since}")
        since, end = _utc(since), _utc(self.end)
        return [then for history, then in self.replayed
                if may_count(history, since=since, end=end, awaiting=awaiting)
                and (nodes or history.now.kind != NODE_PROBLEM)]


def problems_at(histories: Iterable[ProblemHistory], *, since: datetime, end: datetime) -> ProblemsAt:
    """The problems of ``histories`` that may count in a figure of a window ending at ``end`` and starting at
    ``since`` or later, replayed at ``end``."""
    since_utc, end_utc = _utc(since), _utc(end)
    return ProblemsAt(end=end, since=since, replayed=tuple(
        (history, problem_then(history.now, history.steps, end=end_utc)) for history in histories
        if may_count(history, since=since_utc, end=end_utc)))


def every_problem_at(histories: Iterable[ProblemHistory], *, end: datetime) -> ProblemsAt:
    """Every problem of ``histories`` raised before ``end``, replayed at ``end``: the Excel 问题清单 lists them all
    (``ledger_rows``), and the figures of any window ending at ``end`` count those that may count in it."""
    end_utc = _utc(end)
    return ProblemsAt(end=end, since=None, replayed=tuple(
        (history, problem_then(history.now, history.steps, end=end_utc)) for history in histories
        if history.now.raised_at < end_utc))


def ledger_rows(rows: Sequence[ProblemRow], problems: ProblemsAt) -> list[ProblemRow]:
    """The Excel 问题清单 as it stood at ``problems.end``: each of ``rows`` (the ledger's, every problem with its
    events) raised before then, as its replay in ``problems`` has it (``ledger_row_then``); ``problems``: every
    problem replayed (``every_problem_at``), so no problem is replayed twice."""
    if problems.since is not None:
        raise ValueError("the problem ledger lists every problem: replay them all (every_problem_at)")
    then_of = {problem_number(history.now.id): then for history, then in problems.replayed}
    return [ledger_row_then(row, then_of[row.number], end=problems.end) for row in rows if row.raised_at < problems.end]


def _utc(instant: datetime) -> datetime:
    """The instant in UTC, as the database gives its instants: compared many times, the same zone compares fast."""
    return instant.astimezone(UTC)


def units_with_problems(histories: Iterable[ProblemHistory], *, end: datetime) -> set[str]:
    """The units holding now a problem raised before ``end`` (an overdue node's aside); ``histories``: every
    problem's."""
    end = _utc(end)
    return {h.now.unit for h in histories if h.now.raised_at < end and h.now.kind != NODE_PROBLEM}


def handling_shares(problems: ProblemsAt, *, start: datetime, units: Iterable[str]) -> dict[str, float | None]:
    """Unit name → share of its problems handled within deadline in ``start``..``end`` (0..1; None: none in
    scope), for ``units`` and every unit with a problem in scope (``handled_within_deadline``; an overdue
    node's problems aside: node punctuality is a score part of its own)."""
    counts = handled_within_deadline(problems.counted(since=start, nodes=False), start=start, end=problems.end)
    shares: dict[str, float | None] = dict.fromkeys(units)
    for name, (within, whole) in counts.items():
        shares[name] = within / whole if whole else None
    return shares


def unit_figures(problems: ProblemsAt, *, start: datetime) -> list[UnitProblemFigures]:
    """Per unit holding them at ``end``: raised in ``start``..``end``, resolved in it, 超期未办结 at its end (a
    deadline missed and still open: ``ProblemThen.missed_deadline``), as ``problem_history.problems_by_unit`` counts."""
    return problems_by_unit(problems.counted(since=start), start=start, end=problems.end)


def unrecorded(problems: ProblemsAt, *, start: datetime) -> int:
    """How many problems the figures of ``start``..``end`` count on a deadline never recorded
    (``bot.domain.problem_history.unrecorded_deadlines``)."""
    return unrecorded_deadlines(problems.counted(since=start), start=start, end=problems.end)


def open_problems(problems: ProblemsAt) -> dict[int, int]:
    """Project id → its problems still being worked on at ``end`` (``bot.domain.problem_history.open_by_project``)."""
    return open_by_project(problems.counted(since=problems.end))


def unclosed(problems: ProblemsAt) -> list[ProblemLine]:
    """The problems not closed at ``end`` (being worked on, or awaiting 销号), as they stood then, by number: what
    a period's digests name."""
    end = _utc(problems.end)
    return [ProblemLine(then, *history.about) for history, then in problems.replayed
            if may_count(history, since=end, end=end) and then.status in _NOT_CLOSED]
