"""How each unit handled its problems in a bulletin's window: the share handled within deadline, replayed
from the problems' handling events (three queries, none per unit or problem)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import day_start
from bot.domain.escalation import ACTIVE
from bot.domain.nodes import NODE_PROBLEM
from storage.models import Problem, ProblemEvent, Unit
from storage.rows import all_rows as _rows

__all__ = ["unit_problem_shares"]

# Event kinds that decide whether a problem was handled within its deadline.
_RESOLVING = ("resolved", "closed")
_HANDLING_KINDS = (*_RESOLVING, "reopened", "escalated")


@dataclass
class _Handling:
    resolved_at: datetime | None = None
    escalated_before_resolution: bool = False
    escalated: bool = False


def _replay(events: list[tuple[str, datetime]]) -> _Handling:
    """Where a problem's handling stands after ``events`` (kind, at), oldest first."""
    state = _Handling()
    for kind, at in events:
        if kind == "escalated":
            state.escalated = True
        elif kind == "reopened":
            state.resolved_at = None
        elif kind in _RESOLVING and state.resolved_at is None:
            # "closed" right after "resolved" keeps the resolution time; a close without a resolution
            # (an admin closing it directly) resolves it then.
            state.resolved_at = at
            state.escalated_before_resolution = state.escalated
    return state


async def unit_problem_shares(
    session: AsyncSession, *, window_start: date, cutoff: date
) -> dict[str, float | None]:
    """Unit name → share of its problems handled within deadline in the window (0..1), None: none due.

    The window is ``window_start``..``cutoff`` (local days, both included). In scope are the unit's
    problems that were resolved in the window (the unit's "resolved", or a "closed" without one, not
    undone by a later "reopened") and those still unresolved at the end of the cut-off day whose
    ``resolution_due_at`` had passed by then, or that had been escalated by then (overdue: they count again
    every window they stay overdue; an escalation is a deadline missed, whose new level's deadline may still be
    ahead, and must not take the problem out of the unit's figure). Within deadline means resolved no later
    than ``resolution_due_at`` and never escalated before that (an escalation is a breached deadline; it also
    resets ``resolution_due_at`` to the new level's clock). A problem without a due date is within deadline
    when resolved unescalated.

    An overdue node's problem (``NODE_PROBLEM``) is not counted: node punctuality is a score part of its own.
    Reads the current deadlines: figures for a cut-off long past may differ from what was known then.
    Units with no problem raised by the end of the cut-off day are absent (the same as None).
    Three queries: the units with problems, the problems that may be in scope, and their handling events.
    """
    start, end = day_start(window_start), day_start(cutoff + timedelta(days=1))
    units = {name for (name,) in await _rows(session, select(Unit.name).distinct().join(
        Problem, Problem.unit_id == Unit.id).where(Problem.created_at < end, Problem.kind != NODE_PROBLEM))}
    # Only problems that may be in scope are read: those unresolved now, and those with a resolution (or a
    # reopening) since the window started. Any other was resolved before the window and stayed so.
    touched = select(ProblemEvent.problem_id).where(ProblemEvent.kind.in_(_HANDLING_KINDS),
                                                    ProblemEvent.at >= start)
    candidate = and_(Problem.created_at < end, Problem.kind != NODE_PROBLEM,
                     or_(Problem.status.in_(sorted(ACTIVE)), Problem.id.in_(touched)))
    problems = await _rows(session, select(Problem.id, Unit.name, Problem.resolution_due_at)
                           .join(Unit, Unit.id == Problem.unit_id).where(candidate))
    events: dict[int, list[tuple[str, datetime]]] = {}
    event_rows = await _rows(
        session,
        select(ProblemEvent.problem_id, ProblemEvent.kind, ProblemEvent.at)
        .join(Problem, Problem.id == ProblemEvent.problem_id)
        .where(ProblemEvent.kind.in_(_HANDLING_KINDS), ProblemEvent.at < end, candidate)
        .order_by(ProblemEvent.problem_id, ProblemEvent.at, ProblemEvent.id),
    )
    for problem_id, kind, at in event_rows:
        events.setdefault(problem_id, []).append((kind, at))

    counts: dict[str, list[int]] = {name: [0, 0] for name in units}  # name → [within deadline, in scope]
    for problem_id, unit_name, due in problems:
        tally = counts[unit_name]
        state = _replay(events.get(problem_id, []))
        if state.resolved_at is not None:
            if not start <= state.resolved_at < end:
                continue
            tally[1] += 1
            on_time = due is None or state.resolved_at <= due
            tally[0] += int(on_time and not state.escalated_before_resolution)
        elif state.escalated or (due is not None and due < end):
            tally[1] += 1
    return {name: (within / whole if whole else None) for name, (within, whole) in counts.items()}
