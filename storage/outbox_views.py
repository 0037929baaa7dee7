"""The outbox seen by admins and by a person binding a chat: what did not get through, what is waiting, and
sending such notices again (see ``storage.outbox`` for a row's life)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.group_waits import chat_open
from storage.models import OutboxMessage
from storage.outbox import HELD, IN_DOUBT, PENDING, SENDING, SENT, SUMMARISED, UNDELIVERED_STATES


class Backlog(NamedTuple):
    """Notices that should be going out now: due or in flight, and when the oldest of them was written; apart,
    those waiting for a bulletin group the bot is out of or muted in (a planned wait, not a backlog)."""

    pending: int
    oldest_created_at: datetime | None
    waiting_for_group: int = 0


# ---------------------------------------------------------------- looking at the outbox


async def failed_messages(
    session: AsyncSession, *, limit: int = 50, states: Collection[str] = UNDELIVERED_STATES, offset: int = 0,
) -> list[OutboxMessage]:
    """Notices that did not get through (given up on, undeliverable, or in doubt), newest first, leaving out
    the first ``offset`` (a later page of the list)."""
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.state.in_(list(states)))
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def count_failed(session: AsyncSession, *, states: Collection[str] = UNDELIVERED_STATES) -> int:
    """How many notices ``failed_messages`` lists in all."""
    return int(await session.scalar(
        select(func.count(OutboxMessage.id)).where(OutboxMessage.state.in_(list(states)))) or 0)


async def backlog(session: AsyncSession, *, now: datetime) -> Backlog:
    """How many notices should be going out by now (due, or being sent), and the oldest one's creation time.

    Rows waiting for a later retry are not counted until they are due again; rows waiting for a bulletin group
    marked out or muted (``storage.group_waits``) are not due either: they are counted apart.
    """
    in_flight = OutboxMessage.state == SENDING
    due = and_(OutboxMessage.state == PENDING, OutboxMessage.next_attempt_at <= now, chat_open())
    row = (await session.execute(
        select(func.count(), func.min(OutboxMessage.created_at)).where(or_(in_flight, due))
    )).one()
    waiting = await session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.state == PENDING, ~chat_open()))
    return Backlog(pending=int(row[0] or 0), oldest_created_at=row[1], waiting_for_group=int(waiting or 0))


WAITING_FOR_GROUP = "waiting_for_group"  # rows_by_state: the pending rows of a bulletin group marked out or muted


async def rows_by_state(session: AsyncSession) -> dict[str, int]:
    """How many outbox rows are in each state, the pending rows waiting for a bulletin group marked out or muted
    (``Backlog.waiting_for_group``: not due) counted apart as ``WAITING_FOR_GROUP``, not as pending."""
    state = case((and_(OutboxMessage.state == PENDING, ~chat_open()), WAITING_FOR_GROUP), else_=OutboxMessage.state)
    rows = (await session.execute(select(state, func.count()).group_by(state))).all()
    return {str(name): int(count) for name, count in rows}


async def get_message(session: AsyncSession, *, message_id: int) -> OutboxMessage | None:
    return await session.get(OutboxMessage, message_id)


async def retry_message(session: AsyncSession, *, message_id: int, now: datetime) -> bool:
    """An admin sends a failed, undeliverable or in-doubt notice again: pending, due now.

    A failed or undeliverable row starts again with no tries counted. An in-doubt row keeps its count, so
    that the new claims' attempt numbers stay above the interrupted one's, whose late outcome (if its sender
    still lives) must not be taken for theirs. False (and nothing changed) when the row is in another state,
    or has no chat to go to (a person without a usable account: give the row a chat first).
    """
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.state.in_(UNDELIVERED_STATES),
               OutboxMessage.channel.is_not(None), OutboxMessage.chat_id.is_not(None))
        .values(state=PENDING, next_attempt_at=now, send_started_at=None,
                attempts=case((OutboxMessage.state == IN_DOUBT, OutboxMessage.attempts), else_=0))
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def held_for_person(session: AsyncSession, *, person_id: int) -> list[OutboxMessage]:
    """The notices held for a person until they bind a chat account, oldest first (locked on PostgreSQL, so
    that two bindings at once do not both release them)."""
    query = (select(OutboxMessage).where(OutboxMessage.person_id == person_id, OutboxMessage.state == HELD)
             .order_by(OutboxMessage.created_at, OutboxMessage.id).with_for_update())
    return list((await session.scalars(query)).all())


class HeldFor(NamedTuple):
    """A person notices are held for: how many, and since when."""

    person_id: int
    count: int
    oldest_created_at: datetime


async def held_people(session: AsyncSession, *, limit: int = 50) -> tuple[list[HeldFor], int]:
    """The people notices are held for (most notices first, then the longest waiting), and how many people
    that is in all."""
    count = func.count(OutboxMessage.id)
    query = (select(OutboxMessage.person_id, count, func.min(OutboxMessage.created_at))
             .where(OutboxMessage.state == HELD, OutboxMessage.person_id.is_not(None))
             .group_by(OutboxMessage.person_id))
    rows = [HeldFor(int(p), int(n), at) for p, n, at in (await session.execute(query)).all()]
    rows.sort(key=lambda r: (-r.count, r.oldest_created_at, r.person_id))
    return rows[:limit], len(rows)


async def release_held(session: AsyncSession, *, in_full: Sequence[tuple[OutboxMessage, dict[str, Any]]],
                       summarised: Sequence[OutboxMessage], channel: str, chat_id: str, now: datetime) -> None:
    """Send held notices now: each of `in_full` to the chat, with the payload given (the original one with a
    note of its age); `summarised` are done (their summary is queued by the caller)."""
    for row, payload in in_full:
        row.channel, row.chat_id, row.payload = channel, chat_id, payload
        row.state, row.next_attempt_at, row.last_error, row.attempts = PENDING, now, None, 0
    for row in summarised:
        row.state, row.sent_at, row.last_error = SUMMARISED, now, None
    await session.flush()


async def take_pending_for_chat(session: AsyncSession, *, channel: str, chat_id: str,
                                now: datetime) -> list[OutboxMessage]:
    """Pending notices of one chat, marked sent as they are taken (a chat that reads its own, like the console)."""
    rows = list((await session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.channel == channel, OutboxMessage.chat_id == chat_id, OutboxMessage.state == PENDING)
        .order_by(OutboxMessage.id)
    )).all())
    for row in rows:
        row.state, row.sent_at, row.attempts = SENT, now, row.attempts + 1
    return rows
