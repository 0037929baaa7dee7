"""A problem as it stood at a past instant, replayed from its history: the one definition of every problem
figure of a period (raised, solved, overdue, handled within deadline, open), whenever the period's bulletin
or page is made.

A period's figures are read as of its end (``end``: the start of the day after its cut-off day). A problem
whose state changed after that (solved, 销号, sent back, escalated, moved to another unit, its deadline
extended or counted again) is counted as it stood then, not as it stands now; for the current period nothing
has happened after its end and the problem is read as it stands.

- Its status then: what it is now when no event changed it since ``end``, else what the last event before
  ``end`` made it (raised: 待受理, accepted, answered, resolved, 销号 or a node's closing, sent back: 办理中,
  moved to another unit: 待受理 again).
- Its unit and level then: those the first move (or escalation) after ``end`` left.
- Resolved, and when: the unit's "resolved" (or a closing without one) not undone by a later "reopened".
- Escalated by then: gone up a level for a missed deadline since it was last moved to another unit (the new
  unit starts on fresh clocks).
- Its resolution deadline then (``deadline_then``): recorded on every event (the deadline the
  problem ran on after it); on events recorded before that was kept, read back from what they say: an
  escalation on the resolution clock names the deadline it breached, a 时限重算 the deadline it moved, an
  approved extension the deadline its request was made against. A deadline that nothing recorded (the
  problem sent back or moved to another unit afterwards, before deadlines were kept with each event) is
  taken as it is now, and said so (``ProblemThen.due_recorded`` False).
- Its response deadline then (受理时限, ``response_deadline_then``): none above the unit's level; else the one
  recorded on the last event before ``end`` (every event keeps the one it leaves), or read back from the first
  event after it that changed it (a 时限重算 names the response deadline it moved, an escalation for a late
  response the one it breached); blank when nothing says (events written before it was kept).
- The unit's promised day then (承诺完成日期, ``bot.domain.promise_history.promise_then``): the one the last 答复,
  approved extension or 时限重算 before ``end`` left, none after a 未解决 or a 改派; a promise given, extended or
  dropped since does not change it.

One replay (``problem_then``) gives all of it: the figures count from it, and the Excel 问题清单 lists it
(``ledger_row_then``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, time
from functools import cached_property
from typing import Any

from bot.domain.escalation import ACTIVE, RESPONSE_LEVELS, SlaPolicy
from bot.domain.promise_history import PROMISE_SETTING, promise_then
from bot.domain.recounts import moved
from bot.domain.standings import ProblemRow

__all__ = [
    "CLOSING",
    "DEADLINE_SETTING",
    "HISTORY_KINDS",
    "ProblemNow",
    "ProblemThen",
    "Step",
    "UnitProblemFigures",
    "deadline_then",
    "handled_within_deadline",
    "ledger_row_then",
    "open_by_project",
    "problem_then",
    "problems_by_unit",
    "response_deadline_then",
    "unrecorded_deadlines",
]

# A problem closed: 销号 (by its raiser or an admin) and an overdue node's problem closed with its node.
CLOSING = frozenset({"closed", "node_done", "node_replanned", "node_removed", "node_project_finished"})
RESOLVING = CLOSING | {"resolved"}
# Event kind → the status it leaves the problem in.
_STATUS_AFTER = {"raised": "open", "accepted": "accepted", "answered": "answered", "resolved": "resolved",
                 "reopened": "accepted", "reassigned": "open", **dict.fromkeys(CLOSING, "closed")}
# Events that give the problem a new resolution deadline.
DEADLINE_SETTING = frozenset({"raised", "escalated", "reopened", "reassigned", "extension_approved", "recounted"})
# Events that give the problem a new response deadline, or none (an escalation: only the unit's level has one).
RESPONSE_SETTING = frozenset({"raised", "escalated", "reassigned", "recounted"})
_REQUESTED = "extension_requested"
# Every kind the replay reads.
HISTORY_KINDS = frozenset(_STATUS_AFTER) | DEADLINE_SETTING | PROMISE_SETTING | {_REQUESTED}


@dataclass(frozen=True)
class Step:
    """One event of a problem's history as the replay reads it; ``resolution_due_at`` and ``response_due_at``
    are the deadlines the problem ran on after it, when the event recorded them."""

    kind: str
    at: datetime
    detail: Mapping[str, Any] = field(default_factory=dict)
    resolution_due_at: datetime | None = None
    response_due_at: datetime | None = None


@dataclass(frozen=True)
class ProblemNow:
    """A problem as the problems table has it now."""

    id: int
    project_id: int | None
    kind: str
    unit: str
    status: str
    level: int
    raised_at: datetime
    resolution_due_at: datetime | None
    response_due_at: datetime | None = None
    promised_due_at: datetime | None = None  # the end of the unit's promised day (承诺完成日期), if it gave one
    end_of_day: time = SlaPolicy().end_of_day  # the end of its working day (its policy's): a promised day ends then


@dataclass(frozen=True)
class ProblemThen:
    """A problem as it stood at the end of a period."""

    id: int
    project_id: int | None
    kind: str
    unit: str
    status: str
    level: int
    raised_at: datetime
    resolved_at: datetime | None  # when the unit resolved it, if it stood resolved (or closed) then
    escalated_before_resolution: bool  # went up a level (missed a deadline) before it was resolved
    resolution_due_at: datetime | None
    due_recorded: bool = True  # False: the deadline then was never recorded; the one of now stands in
    escalated: bool = False  # had gone up a level (missed a deadline) by then
    promised_due_at: datetime | None = None  # the end of the unit's promised day then (``promise_then``), if any
    # what its 受理时限 then is worked out from, once asked (only the Excel 问题清单 reads it): its whole history,
    # the end replayed and the deadline now
    steps: Sequence[Step] = field(default=(), repr=False, compare=False)
    end: datetime | None = field(default=None, repr=False, compare=False)
    response_due_now: datetime | None = field(default=None, repr=False, compare=False)

    @cached_property
    def response_due_at(self) -> datetime | None:
        """Its 受理时限 then (``response_deadline_then``; None: none, or unknown)."""
        if self.end is None:
            return None
        return response_deadline_then(self.steps, end=self.end, due_now=self.response_due_now, level=self.level)

    @property
    def active(self) -> bool:
        """Still being worked on then (待受理, 办理中, 已答复)."""
        return self.status in ACTIVE

    def overdue(self, end: datetime) -> bool:
        """Still being worked on at ``end`` with its deadline passed by then."""
        return self.active and self.resolution_due_at is not None and self.resolution_due_at < end

    def missed_deadline(self, end: datetime) -> bool:
        """超期未办结 at ``end``: still being worked on then after missing a deadline it was given, its deadline
        then passed or gone up a level for one it missed (the new level's may still be ahead). What the
        problem tables count as 超期 and what counts against a unit's 按期办结率 while it stays unresolved."""
        return self.overdue(end) or (self.active and self.escalated)


def _parse(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    return datetime.fromisoformat(value)


def _recounted_from(step: Step, clock: str = "resolution") -> datetime | None:
    """The deadline of ``clock`` a 时限重算 moved (its "from"), if it moved that one."""
    return moved(step.detail, clock, "from")


def deadline_then(steps: Sequence[Step], *, end: datetime, due_now: datetime | None
                  ) -> tuple[datetime | None, bool]:
    """The resolution deadline the problem ran on just before ``end`` and whether history says so (False:
    nothing recorded it, ``due_now`` stands in). ``steps``: its whole history, oldest first."""
    setting = [s for s in steps if s.kind in DEADLINE_SETTING]
    later = [s for s in setting if s.at >= end]
    if not later:
        return due_now, True  # nothing changed it since: the deadline now is the one then
    earlier = [s for s in steps if s.at < end]
    if earlier and earlier[-1].resolution_due_at is not None:
        return earlier[-1].resolution_due_at, True  # every event keeps the one it leaves
    for step in later:
        if step.kind == "recounted":
            moved = _recounted_from(step)
            if moved is None:
                continue  # it moved the response deadline only: the next change may tell
            return moved, True
        if step.kind == "escalated" and step.detail.get("clock") == "resolution" and step.detail.get("due_at"):
            return _parse(step.detail["due_at"]), True
        if step.kind == "extension_approved":
            asked = [s for s in steps if s.kind == _REQUESTED and s.at <= step.at]
            changed = [s for s in setting if s.at < step.at]
            if asked and "due_at" in asked[-1].detail and (not changed or changed[-1].at <= asked[-1].at):
                return _parse(asked[-1].detail["due_at"]), True
        break
    return due_now, False


def response_deadline_then(steps: Sequence[Step], *, end: datetime, due_now: datetime | None, level: int
                           ) -> datetime | None:
    """The response deadline (受理时限) the problem ran on just before ``end``, at ``level`` then (None above the
    unit's: only the unit takes a problem up), or None when nothing recorded it. ``steps``: its whole history,
    oldest first."""
    if level not in RESPONSE_LEVELS:
        return None
    later = [s for s in steps if s.at >= end and s.kind in RESPONSE_SETTING]
    if not later:
        return due_now  # nothing changed it since: the deadline now is the one then
    earlier = [s for s in steps if s.at < end]
    if earlier and earlier[-1].response_due_at is not None:
        return earlier[-1].response_due_at  # every event keeps the one it leaves
    for step in later:
        if step.kind == "recounted":
            moved = _recounted_from(step, "response")
            if moved is None:
                continue  # it moved the resolution deadline only: the next change may tell
            return moved
        if step.kind == "escalated" and step.detail.get("clock") == "response":
            return _parse(step.detail.get("due_at"))
        break
    return None


def _resolution(steps: Iterable[Step], end: datetime) -> tuple[datetime | None, bool, bool]:
    """When it was resolved by ``end`` (None: not, or sent back since), whether it had gone up a level
    before that, and whether it had by ``end`` (since it was last moved to another unit)."""
    resolved_at: datetime | None = None
    escalated = escalated_before = False
    for step in steps:
        if step.at >= end:
            break
        if step.kind == "escalated":
            escalated = True
        elif step.kind == "reassigned":
            escalated = False  # the new unit starts on fresh clocks: the deadline missed was the old unit's
        elif step.kind == "reopened":
            resolved_at = None
        elif step.kind in RESOLVING and resolved_at is None:
            # "closed" right after "resolved" keeps the resolution time; a close without a resolution (an
            # admin closing it directly, a node's problem closed with its node) resolves it then.
            resolved_at, escalated_before = step.at, escalated
    return resolved_at, escalated_before, escalated


def problem_then(now: ProblemNow, steps: Sequence[Step], *, end: datetime) -> ProblemThen:
    """The problem as it stood just before ``end``, from its state ``now`` and its history ``steps`` (oldest
    first; the kinds of ``HISTORY_KINDS`` are enough)."""
    after = [s for s in steps if s.at >= end]
    changed = [s for s in after if s.kind in _STATUS_AFTER]
    status = now.status
    if changed:
        before = [s for s in steps if s.at < end and s.kind in _STATUS_AFTER]
        status = _STATUS_AFTER[before[-1].kind] if before else "open"
    unit, level = now.unit, now.level
    for step in after:
        if step.kind == "reassigned" and step.detail.get("from"):
            unit, level = str(step.detail["from"]), int(step.detail.get("from_level", level))
            break
    escalations = [s for s in after if s.kind in ("escalated", "reassigned")]
    if escalations and escalations[0].kind == "escalated" and "from" in escalations[0].detail:
        level = int(escalations[0].detail["from"])
    resolved_at, escalated_before, escalated = _resolution(steps, end)
    due, recorded = deadline_then(steps, end=end, due_now=now.resolution_due_at)
    return ProblemThen(id=now.id, project_id=now.project_id, kind=now.kind, unit=unit, status=status, level=level,
                       raised_at=now.raised_at, resolved_at=resolved_at,
                       escalated_before_resolution=escalated_before, resolution_due_at=due, due_recorded=recorded,
                       escalated=escalated, steps=steps, end=end, response_due_now=now.response_due_at,
                       promised_due_at=promise_then(steps, end=end, due_now=now.promised_due_at,
                                                    end_of_day=now.end_of_day))


def _handled(problem: ProblemThen, start: datetime, end: datetime) -> bool | None:
    """Whether a problem counts in its unit's 问题办理 of the window ``start``..``end`` and if so whether
    within deadline (None: out of scope)."""
    if problem.resolved_at is not None:
        if not start <= problem.resolved_at < end:
            return None
        due = problem.resolution_due_at
        return (due is None or problem.resolved_at <= due) and not problem.escalated_before_resolution
    if problem.missed_deadline(end):
        # overdue, or gone up a level for a missed deadline (the new level's may still be ahead): counted
        # against the unit again every window it stays so
        return False
    return None


def handled_within_deadline(problems: Iterable[ProblemThen], *, start: datetime, end: datetime
                            ) -> dict[str, tuple[int, int]]:
    """Unit → (handled within deadline, in scope) over the window ``start``..``end``: the problems resolved
    in it, and those still unresolved at its end past their deadline or gone up a level (an escalation is a
    deadline missed; the new level's may still be ahead). Within deadline means resolved no later than the
    deadline and never escalated before that. A problem without a deadline is within deadline when resolved
    unescalated."""
    counts: dict[str, tuple[int, int]] = {}
    for problem in problems:
        handled = _handled(problem, start, end)
        if handled is None:
            continue
        within, whole = counts.get(problem.unit, (0, 0))
        counts[problem.unit] = (within + int(handled), whole + 1)
    return counts


@dataclass(frozen=True)
class UnitProblemFigures:
    """Problems of one unit in a period: raised in it, solved (resolved) in it, 超期未办结 at its end
    (``ProblemThen.missed_deadline``)."""

    unit: str
    raised: int
    solved: int
    overdue: int


def problems_by_unit(problems: Iterable[ProblemThen], *, start: datetime, end: datetime
                     ) -> list[UnitProblemFigures]:
    """Per unit (the one holding the problem at ``end``), by name: raised in ``start``..``end``, resolved in
    it (as 问题办理 counts a resolution) and 超期未办结 at ``end`` (``ProblemThen.missed_deadline``: what counts
    against 按期办结率 while unresolved); a unit with none of the three is left out."""
    counts: dict[str, list[int]] = {}
    for problem in problems:
        figures = [int(start <= problem.raised_at < end),
                   int(problem.resolved_at is not None and start <= problem.resolved_at < end),
                   int(problem.missed_deadline(end))]
        if any(figures):
            tally = counts.setdefault(problem.unit, [0, 0, 0])
            for i, n in enumerate(figures):
                tally[i] += n
    return [UnitProblemFigures(unit, *tally) for unit, tally in sorted(counts.items())]


def open_by_project(problems: Iterable[ProblemThen]) -> dict[int, int]:
    """Project id → its problems still being worked on then (meeting decisions, without a project, aside)."""
    counts: dict[int, int] = {}
    for problem in problems:
        if problem.active and problem.project_id is not None:
            counts[problem.project_id] = counts.get(problem.project_id, 0) + 1
    return counts


def unrecorded_deadlines(problems: Iterable[ProblemThen], *, start: datetime, end: datetime) -> int:
    """How many of the problems a period's figures count on their deadline (resolved in it, or unresolved at
    its end) ran on a deadline that was never recorded: their figures take today's."""
    return sum(1 for p in problems if not p.due_recorded and p.resolution_due_at is not None
               and (p.active or (p.resolved_at is not None and start <= p.resolved_at < end)))


def ledger_row_then(row: ProblemRow, then: ProblemThen, *, end: datetime) -> ProblemRow:
    """A problem's line of the Excel ledger as it stood at ``end``, from its replay at ``end`` (``then``:
    ``problem_then`` of the same problem, raised before ``end``): its history up to then, its unit, status, level,
    response and resolution deadlines then, closed then or not (when: its last closing before ``end``)."""
    events = tuple(e for e in row.events if e.at < end)
    closed_at = None
    if then.status == "closed":
        closings = [e.at for e in events if e.kind in CLOSING]
        closed_at = closings[-1] if closings else row.closed_at
    return replace(row, unit=then.unit, status=then.status, level=then.level,
                   resolution_due_at=then.resolution_due_at, response_due_at=then.response_due_at,
                   closed_at=closed_at, events=events)
