"""How each unit handled its problems in a bulletin's window: the share handled within deadline, counted from
the problems as they stood at the window's end (``bot.domain.period_problems.handling_shares``)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import day_start
from bot.domain.nodes import NODE_PROBLEM
from bot.domain.period_problems import ProblemsAt, handling_shares
from storage.models import Problem, Unit
from storage.problem_history import period_problems
from storage.rows import all_rows as _rows

__all__ = ["unit_problem_shares", "units_with_problems"]


async def units_with_problems(session: AsyncSession, *, end: datetime) -> set[str]:
    """The units holding now a problem raised before ``end`` (an overdue node's aside): one query
    (``bot.domain.period_problems.units_with_problems`` when every problem is at hand)."""
    return {name for (name,) in await _rows(session, select(Unit.name).distinct().join(
        Problem, Problem.unit_id == Unit.id).where(Problem.created_at < end, Problem.kind != NODE_PROBLEM))}


async def unit_problem_shares(
    session: AsyncSession, *, window_start: date, cutoff: date, problems: ProblemsAt | None = None
) -> dict[str, float | None]:
    """Unit name → share of its problems handled within deadline in the window (0..1), None: none due.

    The window is ``window_start``..``cutoff`` (local days, both included); the problems are counted as they
    stood at the end of the cut-off day, with the unit holding them and the deadline they ran on then
    (``bot.domain.problem_history.handled_within_deadline``: resolved in the window, or still unresolved
    then past their deadline or gone up a level, counted again every window they stay overdue), whatever happened since.

    An overdue node's problem (``NODE_PROBLEM``) is not counted: node punctuality is a score part of its own.
    Units with no problem raised by the end of the cut-off day are absent (the same as None).
    Three queries: the units with problems, the problems that may be in scope, and their histories; one when
    the caller has read the problems of the window (``problems``: ``storage.problem_history.period_problems``).
    """
    start, end = day_start(window_start), day_start(cutoff + timedelta(days=1))
    units = await units_with_problems(session, end=end)
    if problems is None:
        problems = await period_problems(session, since=start, end=end, nodes=False)
    elif problems.end != end:
        raise ValueError(f"problems as they stood at {problems.end}, not at the end of {cutoff}")
    return handling_shares(problems, start=start, units=units)
