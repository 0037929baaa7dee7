"""Repository of 开工/竣工 events (bot.domain.stage_events): report, decide, the starts, finishes and reopenings a
change of a project's stage records (an admin's /project_set, the ledger import), the projects' histories past
figures read their stage from (bot.domain.stage_history)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.stage_events import CONFIRMED, PENDING, START, TARGET_STAGE, WITHDRAWN, StageMove
from bot.domain.stage_history import Move, last_finish
from storage.models import Project, StageEvent


async def pending(session: AsyncSession, *, project_id: int, kind: str) -> StageEvent | None:
    return await session.scalar(select(StageEvent).where(
        StageEvent.project_id == project_id, StageEvent.kind == kind, StageEvent.state == PENDING))


async def get(session: AsyncSession, *, event_id: int) -> StageEvent | None:
    return await session.get(StageEvent, event_id)


async def report(session: AsyncSession, *, project: Project, kind: str, day: date, person_id: int | None,
                 now: datetime, confirmed: bool) -> StageEvent:
    """Record the event; a confirmed one (an admin's) moves the project's stage at once."""
    event = StageEvent(project_id=project.id, kind=kind, day=day, state=PENDING, raised_by_id=person_id,
                       created_at=now)
    session.add(event)
    if confirmed:
        decide(project, event, confirm=True, person_id=person_id, now=now)
    await session.flush()
    return event


def decide(project: Project, event: StageEvent, *, confirm: bool, person_id: int | None, now: datetime,
           reason: str | None = None) -> None:
    """Confirm (the project's stage moves on) or refuse a reported event."""
    event.state = CONFIRMED if confirm else "refused"
    event.decided_by_id, event.decided_at, event.reason = person_id, now, reason
    if confirm:
        project.stage = TARGET_STAGE[event.kind]
        project.updated_at = now


def move_rows(moves: Sequence[StageMove], *, person_id: int | None, now: datetime) -> list[dict[str, Any]]:
    """The ``stage_events`` rows of these moves: confirmed at once, by whoever changed the stage."""
    return [{"project_id": m.project_id, "kind": m.kind, "day": m.day, "state": CONFIRMED, "raised_by_id": person_id,
             "decided_by_id": person_id, "created_at": now, "decided_at": now} for m in moves]


async def record_moves(session: AsyncSession, moves: Sequence[StageMove], *, person_id: int | None,
                       now: datetime) -> None:
    """Record each move as a confirmed event of its day (one statement): a project made finished is so from
    that day (``finish_day``), one taken back from finished is open again from it."""
    if moves:
        await session.execute(insert(StageEvent.__table__), move_rows(moves, person_id=person_id, now=now))


async def withdraw_start(session: AsyncSession, *, project_id: int) -> None:
    """Take back the project's confirmed 开工 (``bot.domain.stage_events.start_withdrawn``): kept, marked
    ``WITHDRAWN``, no longer a move of its history; the audit entry of the change says who and when."""
    await session.execute(update(StageEvent).where(
        StageEvent.project_id == project_id, StageEvent.kind == START, StageEvent.state == CONFIRMED,
    ).values(state=WITHDRAWN))


async def histories(session: AsyncSession, *, project_ids: Collection[int] | None = None,
                    moved_after: date | None = None) -> dict[int, list[Move]]:
    """Project id → its confirmed 开工, 竣工 and reopenings (``bot.domain.stage_history.Move``) by day, those of
    one day in the order they were recorded: what a figure of a past day reads the project's stage from (one
    query; all projects' when ``project_ids`` is None; with ``moved_after``, only those of the projects with one
    on a later day). Projects without any are absent."""
    query = (select(StageEvent.project_id, StageEvent.kind, StageEvent.day)
             .where(StageEvent.state == CONFIRMED).order_by(StageEvent.project_id, StageEvent.day, StageEvent.id))
    if project_ids is not None:
        query = query.where(StageEvent.project_id.in_(sorted(project_ids)))
    if moved_after is not None:
        query = query.where(StageEvent.project_id.in_(select(StageEvent.project_id).where(
            StageEvent.state == CONFIRMED, StageEvent.day > moved_after)))
    moves: dict[int, list[Move]] = {}
    for project_id, kind, day in (await session.execute(query)).all():
        moves.setdefault(project_id, []).append(Move(kind, day))
    return moves


async def finish_days(session: AsyncSession) -> dict[int, date]:
    """Project id → the day from which its confirmed 竣工 make it finished (``bot.domain.stage_history.
    last_finish``), for the projects whose history ends with one (one query)."""
    days = {project_id: last_finish(moves) for project_id, moves in (await histories(session)).items()}
    return {project_id: day for project_id, day in days.items() if day is not None}


async def finish_day(session: AsyncSession, *, project_id: int) -> date | None:
    """The day from which the project's confirmed 竣工 make it finished, or None (its history ends with no 竣工)."""
    return last_finish((await histories(session, project_ids=[project_id])).get(project_id, []))
