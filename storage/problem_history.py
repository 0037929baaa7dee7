"""The problems of a period as they stood at its end (``bot.domain.problem_history``): the problems and the
events of their histories, read with two queries, replayed in Python. Every problem figure of a period
(bulletins, /rank, the web pages, the exports) is counted from these."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.escalation import ACTIVE
from bot.domain.nodes import NODE_PROBLEM
from bot.domain.problem_history import HISTORY_KINDS, ProblemNow, ProblemThen, Step, problem_then
from bot.domain.problem_history import unrecorded_deadlines as count_unrecorded
from storage.models import Problem, ProblemEvent, Project, Unit
from storage.rows import all_rows as _rows

__all__ = ["ProblemLine", "problems_then", "unclosed_then", "unrecorded_deadlines"]


def _candidate(since: datetime, end: datetime, *, nodes: bool, awaiting: bool) -> ColumnElement[bool]:
    statuses = sorted(ACTIVE | ({"resolved"} if awaiting else set()))
    touched = select(ProblemEvent.problem_id).where(ProblemEvent.at >= since)
    return and_(Problem.created_at < end, or_(Problem.status.in_(statuses), Problem.id.in_(touched)),
                *([] if nodes else [Problem.kind != NODE_PROBLEM]))


async def problems_then(session: AsyncSession, *, since: datetime, end: datetime, nodes: bool = True,
                        awaiting: bool = False) -> list[ProblemThen]:
    """The problems raised before ``end`` that may count in a figure of ``since``..``end``, as they stood at
    ``end``; without ``nodes``, an overdue node's problems aside; with ``awaiting``, those awaiting 销号 too.

    Only problems that may count are read: those being worked on now, and those with an event since
    ``since`` (raised, solved, sent back… in the period or after it). Any other was resolved (or closed)
    before ``since`` and stayed so: it counts in none of a period's figures.
    """
    candidate = _candidate(since, end, nodes=nodes, awaiting=awaiting)
    problems = await _rows(session, select(
        Problem.id, Problem.project_id, Problem.kind, Unit.name, Problem.status, Problem.level, Problem.created_at,
        Problem.resolution_due_at).join(Unit, Unit.id == Problem.unit_id).where(candidate).order_by(Problem.id))
    steps: dict[int, list[Step]] = {}
    events = await _rows(
        session,
        select(ProblemEvent.problem_id, ProblemEvent.kind, ProblemEvent.at, ProblemEvent.detail,
               ProblemEvent.resolution_due_at)
        .join(Problem, Problem.id == ProblemEvent.problem_id)
        .where(ProblemEvent.kind.in_(sorted(HISTORY_KINDS)), candidate)
        .order_by(ProblemEvent.problem_id, ProblemEvent.at, ProblemEvent.id),
    )
    for problem_id, kind, at, detail, due in events:
        steps.setdefault(problem_id, []).append(Step(kind=kind, at=at, detail=detail or {}, resolution_due_at=due))
    return [problem_then(ProblemNow(*row), steps.get(row[0], []), end=end) for row in problems]


class ProblemLine(NamedTuple):
    """A problem not yet closed at a period's end, as a digest names it: how it stood then, and what it is."""

    then: ProblemThen
    project_code: str | None  # None: a meeting decision
    project_name: str | None
    category: str
    text: str


async def unclosed_then(session: AsyncSession, *, end: datetime) -> list[ProblemLine]:
    """The problems raised before ``end`` that were not closed then (being worked on, or awaiting 销号), as
    they stood then, by number: what a period's digests name. Three queries."""
    found = {p.id: p for p in await problems_then(session, since=end, end=end, awaiting=True)
             if p.active or p.status == "resolved"}
    rows = await _rows(session, select(Problem.id, Project.code, Project.name, Problem.category, Problem.text)
                       .outerjoin(Project, Project.id == Problem.project_id)
                       .where(_candidate(end, end, nodes=True, awaiting=True)).order_by(Problem.id))
    return [ProblemLine(found[problem_id], code, name, category, text)
            for problem_id, code, name, category, text in rows if problem_id in found]


async def unrecorded_deadlines(session: AsyncSession, *, start: datetime, end: datetime) -> int:
    """How many problems the figures of ``start``..``end`` count on a deadline that was never recorded
    (``bot.domain.problem_history.unrecorded_deadlines``): what a bulletin's note says."""
    return count_unrecorded(await problems_then(session, since=start, end=end), start=start, end=end)
