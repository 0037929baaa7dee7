"""The problem ledger (问题台账) of the Excel export and the bulletins: every problem with its history in
one cell, read with two queries."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import SHANGHAI
from bot.domain import labels
from bot.domain.escalation import DECISION_CATEGORY, LEVEL_NAMES
from bot.domain.problem_numbers import problem_number
from bot.domain.standings import ProblemRow
from storage.models import Person, Problem, ProblemEvent, Project, Unit

__all__ = ["history_entry", "problem_rows"]

_HISTORY_TEXT_CHARS = 30
_HISTORY_SEPARATOR = "；"


def history_entry(at: datetime, kind: str, actor: str | None, text: str | None,
                   detail: Mapping[str, object] | None) -> str:
    """One event of a problem's history as a short line: when, who, what (改派 from → to, the level an
    escalation reached, an admin's 销号), and the event's text cut to 30 characters."""
    words = f"{at.astimezone(SHANGHAI):%m-%d %H:%M} {actor or '系统'} {labels.label(labels.EVENTS, kind)}"
    detail = detail or {}
    if kind == "reassigned" and detail.get("from") and detail.get("to"):
        words += f"（{detail['from']}→{detail['to']}）"
    if kind == "escalated":
        to = detail.get("to")
        if isinstance(to, int) and 0 <= to < len(LEVEL_NAMES):
            words += f"至{LEVEL_NAMES[to]}"
    if detail.get("as_admin"):
        words += "（管理员代为销号）"
    if text:
        flat = " ".join(text.split())
        if len(flat) > _HISTORY_TEXT_CHARS:
            flat = flat[:_HISTORY_TEXT_CHARS] + "…"
        words += f"：{flat}"
    return words


async def problem_rows(session: AsyncSession, *, include_closed: bool = True) -> list[ProblemRow]:
    """Every problem (closed ones too unless told otherwise) with its history, by number.

    The history is one short line per event ("11-20 10:00 郝芳 提出:…"), oldest first, joined by "；";
    event texts are cut to 30 characters. Two queries.
    """
    condition = [] if include_closed else [Problem.status != "closed"]
    rows = (await session.execute(
        select(Problem.id, Project.code, Project.name, Problem.category, Unit.name, Problem.status,
               Problem.level, Problem.created_at, Problem.response_due_at, Problem.resolution_due_at,
               Problem.closed_at, Problem.text)
        .outerjoin(Project, Project.id == Problem.project_id)  # a meeting decision has no project
        .join(Unit, Unit.id == Problem.unit_id)
        .where(*condition)
        .order_by(Problem.id)
    )).all()
    history: dict[int, list[str]] = {}
    events = await session.execute(
        select(ProblemEvent.problem_id, ProblemEvent.at, ProblemEvent.kind, Person.name, ProblemEvent.text,
               ProblemEvent.detail)
        .join(Problem, Problem.id == ProblemEvent.problem_id)
        .outerjoin(Person, Person.id == ProblemEvent.actor_person_id)
        .where(*condition)
        .order_by(ProblemEvent.problem_id, ProblemEvent.at, ProblemEvent.id)
    )
    for problem_id, at, kind, actor, text, detail in events.all():
        history.setdefault(problem_id, []).append(history_entry(at, kind, actor, text, detail))
    return [
        ProblemRow(
            number=problem_number(problem_id), project_code=code or "", project_name=name or DECISION_CATEGORY,
            category=category,
            unit=unit, status=status, level=level, raised_at=raised_at, response_due_at=response_due,
            resolution_due_at=resolution_due, closed_at=closed_at, text=text,
            history=_HISTORY_SEPARATOR.join(history.get(problem_id, [])),
        )
        for (problem_id, code, name, category, unit, status, level, raised_at, response_due, resolution_due,
             closed_at, text) in rows
    ]
