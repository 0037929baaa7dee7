"""The problems of a period as they stood at its end (``bot.domain.period_problems``): the problems that may
count in its figures with the events of their histories, read with two queries, replayed in Python. Every
problem figure of a period (bulletins, /rank, the web pages, the exports) is counted from these; a bulletin,
which reads every problem for its Excel ledger (``storage.problem_ledger``), replays those instead."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.escalation import ACTIVE, SlaPolicy
from bot.domain.nodes import NODE_PROBLEM
from bot.domain.period_problems import (
    ProblemAbout,
    ProblemHistory,
    ProblemsAt,
    problems_at,
)
from bot.domain.problem_history import ProblemNow, Step
from bot.domain.promises import promised_end
from storage.models import Problem, ProblemEvent, Project, Unit
from storage.rows import all_rows as _rows
from storage.rows import gc_paused

__all__ = ["Event", "end_of_day", "history_of", "period_problems"]


def _candidate(since: datetime, end: datetime, *, nodes: bool) -> ColumnElement[bool]:
    """``bot.domain.period_problems.may_count`` as a condition on the problems (awaiting 销号 too)."""
    statuses = sorted(ACTIVE | {"resolved"})
    touched = select(ProblemEvent.problem_id).where(ProblemEvent.at >= since)
    return and_(Problem.created_at < end, or_(Problem.status.in_(statuses), Problem.id.in_(touched)),
                *([] if nodes else [Problem.kind != NODE_PROBLEM]))


_DEFAULT_END_OF_DAY = SlaPolicy().end_of_day
# A problem's end of the working day, as its policy has it: a promised day ends then (the replay needs it for a
# promise the problem had in the past, so it is read for every problem).
POLICY_END_OF_DAY = Problem.policy["end_of_day"].as_string()

Event = tuple[str, datetime, Any, datetime | None, datetime | None]  # kind, at, detail, the deadlines after it


def history_of(now: ProblemNow, about: ProblemAbout, events: list[Event]) -> ProblemHistory:
    """A problem's history from its row and its events (kind, at, detail, resolution and response deadlines after
    it), oldest first: all of them, since every event keeps the deadlines it leaves and the last one before a
    period's end tells the deadlines then."""
    steps = tuple(Step(kind=kind, at=at, detail=detail or {}, resolution_due_at=due, response_due_at=response_due)
                  for kind, at, detail, due, response_due in events)
    return ProblemHistory(now, steps, events[-1][1] if events else None, about)


def end_of_day(value: str | None) -> time:
    """The end of a problem's working day, from its policy's ``end_of_day`` (read alone: the rest of the policy
    is not needed); the default one when the policy names none."""
    return time.fromisoformat(value) if value else _DEFAULT_END_OF_DAY


def _now(row: Any) -> ProblemNow:
    """The problem as the problems table has it now, from a row of ``period_problems``' first query."""
    day_end = end_of_day(row[10])
    return ProblemNow(*row[:9], promised_due_at=promised_end(row[9], day_end), end_of_day=day_end)


async def period_problems(session: AsyncSession, *, since: datetime, end: datetime, nodes: bool = True
                          ) -> ProblemsAt:
    """The problems that may count in a figure of a window ending at ``end`` and starting at ``since`` or
    later, as they stood at ``end``; without ``nodes``, an overdue node's problems aside. Two queries.

    Only problems that may count are read (``bot.domain.period_problems.may_count``): those being worked on
    or awaiting 销号 now, and those with an event since ``since`` (raised, solved, sent back… in the period or
    after it).
    """
    candidate = _candidate(since, end, nodes=nodes)
    problems = await _rows(session, select(
        Problem.id, Problem.project_id, Problem.kind, Unit.name, Problem.status, Problem.level, Problem.created_at,
        Problem.resolution_due_at, Problem.response_due_at, Problem.promised_date,
        POLICY_END_OF_DAY, Project.code, Project.name, Problem.category, Problem.text)
        .join(Unit, Unit.id == Problem.unit_id).outerjoin(Project, Project.id == Problem.project_id)
        .where(candidate).order_by(Problem.id))
    events: dict[int, list[Event]] = {}
    for problem_id, kind, at, detail, due, response_due in await _rows(
        session,
        select(ProblemEvent.problem_id, ProblemEvent.kind, ProblemEvent.at, ProblemEvent.detail,
               ProblemEvent.resolution_due_at, ProblemEvent.response_due_at)
        .join(Problem, Problem.id == ProblemEvent.problem_id)
        .where(candidate)
        .order_by(ProblemEvent.problem_id, ProblemEvent.at, ProblemEvent.id),
    ):
        events.setdefault(problem_id, []).append((kind, at, detail, due, response_due))
    with gc_paused():  # many small objects, no cycles
        histories = [history_of(_now(row), ProblemAbout(*row[11:]), events.get(row[0], [])) for row in problems]
        return problems_at(histories, since=since, end=end)
