"""The problem ledger (问题台账) of the Excel export and the bulletins: every problem with the events of its
history, read with two queries; a bulletin counts its problem figures from the same read
(``bot.domain.period_problems``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.escalation import DECISION_CATEGORY
from bot.domain.period_problems import ProblemAbout, ProblemHistory
from bot.domain.problem_history import ProblemNow
from bot.domain.problem_numbers import problem_number
from bot.domain.promises import promised_end
from bot.domain.standings import ProblemEventRow, ProblemRow
from storage.models import Person, Problem, ProblemEvent, Project, Unit
from storage.problem_history import POLICY_END_OF_DAY, Event, end_of_day, history_of
from storage.project_versions import Versions, versions_since
from storage.rows import all_rows as _rows
from storage.rows import gc_paused

__all__ = ["ProblemLedger", "problem_ledger", "problem_rows"]


class ProblemLedger(NamedTuple):
    """Every problem read once: as the ledger lists it, and as the figures replay it."""

    rows: list[ProblemRow]  # by number
    histories: list[ProblemHistory]  # the same problems, in the same order


async def problem_rows(session: AsyncSession, *, include_closed: bool = True) -> list[ProblemRow]:
    """Every problem (closed ones too unless told otherwise) with its history's events, oldest first (worded by
    the rendering layer: bot/templates/_problem_event.j2), by number. Two queries."""
    return (await problem_ledger(session, include_closed=include_closed)).rows


async def problem_ledger(session: AsyncSession, *, include_closed: bool = True,
                         held: datetime | None = None, versions: Versions | None = None) -> ProblemLedger:
    """``problem_rows`` with the same problems' histories (``ProblemLedger``). Two column queries
    (``storage.rows.all_rows``); with ``held``, each project and each person acting in a history named as they
    were then (``storage.project_versions``: a past period's end), and two more unless given the ``versions``."""
    condition = [] if include_closed else [Problem.status != "closed"]
    rows = await _rows(session, (
        select(Problem.id, Project.code, Project.name, Problem.category, Unit.name, Problem.status,
               Problem.level, Problem.created_at, Problem.response_due_at, Problem.resolution_due_at,
               Problem.closed_at, Problem.text, Problem.project_id, Problem.kind, Problem.promised_date,
               POLICY_END_OF_DAY)
        .outerjoin(Project, Project.id == Problem.project_id)  # a meeting decision has no project
        .join(Unit, Unit.id == Problem.unit_id)
        .where(*condition)
        .order_by(Problem.id)))
    events = await _rows(session, (
        select(ProblemEvent.problem_id, ProblemEvent.at, ProblemEvent.kind, Person.name, ProblemEvent.text,
               ProblemEvent.detail, ProblemEvent.resolution_due_at, ProblemEvent.response_due_at,
               ProblemEvent.actor_person_id)
        .join(Problem, Problem.id == ProblemEvent.problem_id)
        .outerjoin(Person, Person.id == ProblemEvent.actor_person_id)
        .where(*condition)
        .order_by(ProblemEvent.problem_id, ProblemEvent.at, ProblemEvent.id)))
    # some hundred thousand small objects for a large district, no cycles among them: a collection of the
    # whole process meanwhile would cost more than building them (bench/bulletin.py)
    names: dict[int, str] = {}
    actors: dict[int, str] = {}
    if held is not None:
        if versions is None:
            versions = await versions_since(session, since=held)
        names = {project_id: version.name for project_id, version in versions.at(held).items()}
        actors = versions.names_at(held)
    with gc_paused():
        return _ledger(rows, events, names, actors)


def _ledger(rows: Sequence[Row[Any]], events: Sequence[Row[Any]], names: Mapping[int, str],
            actors: Mapping[int, str]) -> ProblemLedger:
    """The ledger's rows and the histories from the rows of the two queries: ``names`` (project id → name) and
    ``actors`` (person id → name) of those named otherwise then."""
    history: dict[int, list[ProblemEventRow]] = {}
    steps: dict[int, list[Event]] = {}
    for problem_id, at, kind, actor, text, detail, due, response_due, actor_id in events:
        if actors and actor_id in actors:
            actor = actors[actor_id]
        history.setdefault(problem_id, []).append(
            ProblemEventRow(at=at, kind=kind, actor=actor, text=text, detail=detail or {}, resolution_due_at=due,
                            response_due_at=response_due))
        steps.setdefault(problem_id, []).append((kind, at, detail, due, response_due))
    ledger = ProblemLedger([], [])
    for (problem_id, code, name, category, unit, status, level, raised_at, response_due, resolution_due,
         closed_at, text, project_id, kind, promised, policy_end) in rows:
        day_end = end_of_day(policy_end)
        name = names.get(project_id, name)
        ledger.rows.append(ProblemRow(
            number=problem_number(problem_id), project_code=code or "", project_name=name or DECISION_CATEGORY,
            category=category,
            unit=unit, status=status, level=level, raised_at=raised_at, response_due_at=response_due,
            resolution_due_at=resolution_due, closed_at=closed_at, text=text,
            events=tuple(history.get(problem_id, ())),
        ))
        ledger.histories.append(history_of(
            ProblemNow(problem_id, project_id, kind, unit, status, level, raised_at, resolution_due, response_due,
                       promised_end(promised, day_end), day_end),
            ProblemAbout(code, name, category, text), steps.get(problem_id, [])))
    return ledger
