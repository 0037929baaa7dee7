"""The outbox seen from a sender: claiming due rows under a lease and recording how each send ended.

A row's life, the lease and the fencing by ``attempts`` are described in ``storage.outbox``, which also writes the
rows (``enqueue_*``).
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.group_waits import chat_open
from storage.models import ChatAccount, OutboxMessage
from storage.outbox import FAILED, FINAL_STATES, IN_DOUBT, INTERRUPTED, PENDING, SENDING, SENT, UNDELIVERABLE
from storage.people import same_id

log = logging.getLogger(__name__)


# ---------------------------------------------------------------- picking up work


def _due(now: datetime, channels: Collection[str] | None, row: Any = OutboxMessage) -> Any:
    # Pending rows never have a send started (see mark_retry); sending ones are taken over only if not. A row for a
    # bulletin group marked out or muted waits for the mark to go (storage.group_waits).
    condition = and_(row.state.in_((PENDING, SENDING)), row.next_attempt_at <= now,
                     row.send_started_at.is_(None), chat_open(row))
    if channels is not None:
        condition = and_(condition, row.channel.in_(list(channels)))
    return condition


def _due_query(
    *, now: datetime, limit: int, channels: Collection[str] | None, row: Any = OutboxMessage
) -> Select[Any]:
    return (
        select(row)
        .where(_due(now, channels, row))
        .order_by(row.created_at, row.id)
        .limit(limit)
        .with_for_update(skip_locked=True)  # PostgreSQL only; SQLite has no row locks and ignores it
    )


async def claim_due_messages(
    session: AsyncSession, *, now: datetime, limit: int, lease_until: datetime,
    channels: Collection[str] | None = None,
) -> list[OutboxMessage]:
    """Take up to ``limit`` due rows for sending: state "sending" until ``lease_until``, one more attempt.

    First, rows whose lease ran out after their send had started are set ``in_doubt``
    (``hold_interrupted_sends``), whatever their channel. Commit the claim before sending, so that other
    senders see it.
    """
    await hold_interrupted_sends(session, now=now)
    if session.get_bind().dialect.name == "postgresql":
        # Lock the candidates first; they stay locked (and skipped by other senders) until commit. In one
        # statement, PostgreSQL may run a LIMIT … SKIP LOCKED subquery once per row and so take them all.
        query = _due_query(now=now, limit=limit, channels=channels).with_only_columns(OutboxMessage.id)
        ids = list((await session.scalars(query)).all())
        if not ids:
            return []
        chosen = OutboxMessage.id.in_(ids)
    else:
        # SQLite: one statement, so that the claim takes the write lock before it reads anything.
        candidate = aliased(OutboxMessage)
        query = _due_query(now=now, limit=limit, channels=channels, row=candidate)
        chosen = OutboxMessage.id.in_(query.with_only_columns(candidate.id).scalar_subquery())
    statement = (
        update(OutboxMessage)
        .where(chosen, _due(now, channels))
        .values(state=SENDING, next_attempt_at=lease_until, attempts=OutboxMessage.attempts + 1)
        .returning(OutboxMessage)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    claimed = list((await session.scalars(statement)).all())
    return sorted(claimed, key=lambda m: (m.created_at, m.id))


async def end_leases(session: AsyncSession, *, now: datetime) -> int:
    """End now the lease of every claimed row (state ``sending`` with a lease still running): the next claim
    takes them over as if the lease had run out (rows whose send had started are held ``in_doubt``, the
    others are due). For the leader taking over from a dead one; returns how many rows it was."""
    result = await session.execute(
        update(OutboxMessage).where(OutboxMessage.state == SENDING, OutboxMessage.next_attempt_at > now)
        .values(next_attempt_at=now).execution_options(synchronize_session=False))
    return int(result.rowcount or 0)


def _interrupted(now: datetime) -> Any:
    return and_(OutboxMessage.state == SENDING, OutboxMessage.next_attempt_at <= now,
                OutboxMessage.send_started_at.is_not(None))


async def hold_interrupted_sends(session: AsyncSession, *, now: datetime) -> list[int]:
    """Set ``in_doubt`` the rows whose send started under a claim whose lease has run out by ``now``: their
    sender stopped (crashed, or lost the database) between starting the send and recording how it ended.
    They are not sent again automatically; an admin decides. Returns their ids.
    """
    statement = (
        update(OutboxMessage)
        .values(state=IN_DOUBT, last_error=INTERRUPTED)
        .returning(OutboxMessage.id, OutboxMessage.dedupe_key, OutboxMessage.send_started_at)
        .execution_options(synchronize_session=False)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Lock them first, skipping rows another sender holds, so that two claims never wait on each other.
        query = select(OutboxMessage.id).where(_interrupted(now)).with_for_update(skip_locked=True)
        ids = list((await session.scalars(query)).all())
        if not ids:
            return []
        statement = statement.where(OutboxMessage.id.in_(ids), _interrupted(now))
    else:
        statement = statement.where(_interrupted(now))
    held = (await session.execute(statement)).all()
    for message_id, key, started_at in held:
        log.warning("outbox message %s (%s) was interrupted mid-send (started %s): held as in_doubt, "
                    "not sent again automatically", message_id, key, started_at)
    return sorted(message_id for message_id, _key, _started in held)


async def due_channels(session: AsyncSession, *, now: datetime) -> set[str]:
    """The channels that have rows due now (a sender uses it to notice channels it cannot serve)."""
    query = select(OutboxMessage.channel).where(_due(now, None), OutboxMessage.channel.is_not(None))
    query = query.distinct()
    return {c for c in (await session.scalars(query)).all() if c is not None}


async def next_due_at(session: AsyncSession, *, channels: Collection[str] | None = None) -> datetime | None:
    """When the next pending or in-flight row falls due (or, if its send started, is due to be held as
    ``in_doubt``), if there is one."""
    query = select(func.min(OutboxMessage.next_attempt_at)).where(OutboxMessage.state.in_((PENDING, SENDING)),
                                                                  chat_open(OutboxMessage))
    if channels is not None:
        query = query.where(OutboxMessage.channel.in_(list(channels)))
    return await session.scalar(query)


async def due_times_back(session: AsyncSession, *, by: timedelta, now: datetime) -> int:
    """The wall clock stepped back ``by``: the pending rows due later than ``now`` (a retry's backoff, flood
    control's wait, an album's notice: each stored as "now" plus seconds to minutes, "now" read before the step)
    fall due ``by`` earlier, never before ``now``; how many moved. Rows being sent keep their lease: their sender
    may still be at work on them; a row whose due time was written anew since it was read (a sender's retry
    time) keeps that time."""
    rows = (await session.execute(select(OutboxMessage.id, OutboxMessage.next_attempt_at).where(
        OutboxMessage.state == PENDING, OutboxMessage.next_attempt_at > now))).all()
    count = 0
    for message_id, due in rows:
        moved = await session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id,
                                                                  OutboxMessage.state == PENDING,
                                                                  OutboxMessage.next_attempt_at == due)
                                      .values(next_attempt_at=max(now, due - by))
                                      .execution_options(synchronize_session=False))
        count += getattr(moved, "rowcount", 0) or 0
    return count


async def retries_due_now(session: AsyncSession, *, channel: str, now: datetime) -> int:
    """The channel works again: its pending rows waiting out the backoff after a failed try (``attempts`` > 0, due
    later than ``now``) fall due now, so they go out with the held ones, oldest first as claims take them; how many
    moved. One guarded statement (not one per row: after a long outage there may be thousands): a row a sender
    claimed or wrote anew meanwhile no longer matches it; rows that never failed a try (an album's notice waiting
    for its photos) keep their time."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.state == PENDING, OutboxMessage.channel == channel, OutboxMessage.attempts > 0,
               OutboxMessage.next_attempt_at > now)
        .values(next_attempt_at=now)
        .execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


# ---------------------------------------------------------------- recording outcomes


async def _set(session: AsyncSession, message_id: int, attempt: int | None, *,
               claimed_states: Collection[str] = (SENDING,), **values: Any) -> bool:
    """Update one row that is still unfinished (and still claimed by ``attempt``: in one of
    ``claimed_states`` with that attempt); False if it was not."""
    if attempt is None:
        where = [OutboxMessage.id == message_id, OutboxMessage.state.not_in(FINAL_STATES)]
    else:
        where = [OutboxMessage.id == message_id, OutboxMessage.state.in_(list(claimed_states)),
                 OutboxMessage.attempts == attempt]
    result = await session.execute(
        update(OutboxMessage).where(*where).values(**values).execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def mark_send_started(session: AsyncSession, *, message_id: int, attempt: int, now: datetime) -> bool:
    """The claim ``attempt`` sends the row now: commit this, then send. False (do not send) when that claim
    no longer holds the row: it was taken over, or its lease has run out by ``now``.

    From then on the row is never sent again automatically: if its outcome is not recorded before the
    lease runs out, the next claim sets it ``in_doubt``.
    """
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.state == SENDING, OutboxMessage.attempts == attempt,
               OutboxMessage.next_attempt_at > now)
        .values(send_started_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def mark_sent(
    session: AsyncSession, *, message_id: int, now: datetime, attempt: int | None = None
) -> bool:
    """The notice went out. ``attempt``, when given, must match the claim that sent it; that claim's late
    word also settles the row if it was set ``in_doubt`` meanwhile."""
    return await _set(session, message_id, attempt, claimed_states=(SENDING, IN_DOUBT),
                      state=SENT, sent_at=now, last_error=None)


async def mark_retry(
    session: AsyncSession, *, message_id: int, at: datetime, error: str | None, attempt: int | None = None,
    count_attempt: bool = True, parts_sent: int | None = None,
) -> bool:
    """Try again at ``at``.

    ``count_attempt=False`` gives the claimed attempt back: waiting for flood control is not a failed try.
    ``parts_sent``: how many of the notice's messages have reached the chat by now (the try failed
    part-way); the next try starts after them.
    """
    values: dict[str, Any] = {"state": PENDING, "next_attempt_at": at, "send_started_at": None}
    if error is not None:
        values["last_error"] = error
    if parts_sent is not None:
        values["parts_sent"] = parts_sent
    if not count_attempt:
        values["attempts"] = OutboxMessage.attempts - 1
    return await _set(session, message_id, attempt, **values)


async def mark_failed(
    session: AsyncSession, *, message_id: int, error: str, attempt: int | None = None, parts_sent: int | None = None,
    now: datetime | None = None, quiet_since: datetime | None = None, cause: str | None = None,
) -> bool:
    """Give up on the notice (at ``now``; ``quiet_since``: nothing of its channel had got through since then;
    ``cause``: why, classified, ``bot.domain.give_up_reasons``); the
    admins are told of it once (``claim_untold_failures``) and find it with ``failed_messages`` (sent again, it starts
    after the ``parts_sent`` messages that did reach the chat)."""
    values: dict[str, Any] = {"state": FAILED, "last_error": error, "failed_at": now, "quiet_since": quiet_since,
                              "told_at": None, "fail_cause": cause}
    if parts_sent is not None:
        values["parts_sent"] = parts_sent
    return await _set(session, message_id, attempt, **values)


def _untold() -> Any:
    return and_(OutboxMessage.state == FAILED, OutboxMessage.told_at.is_(None), OutboxMessage.failed_at.is_not(None))


async def first_untold_failure(session: AsyncSession) -> datetime | None:
    """When the earliest notice given up on and not told to the admins yet was given up, if there is one."""
    return await session.scalar(select(func.min(OutboxMessage.failed_at)).where(_untold()))


async def claim_untold_failures(session: AsyncSession, *, now: datetime) -> list[OutboxMessage]:
    """Set told at ``now`` every notice given up on and not told yet, and return them in the order they were given
    up. The caller writes the admins' notice in the same transaction (or rolls it back: they stay untold); a
    concurrent claim takes none of them twice (a row it waited for is told by then and no longer matches)."""
    statement = (
        update(OutboxMessage).where(_untold()).values(told_at=now)
        .returning(OutboxMessage)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    claimed = list((await session.scalars(statement)).all())
    return sorted(claimed, key=lambda m: (m.failed_at or now, m.id))


async def mark_undeliverable(
    session: AsyncSession, *, message_id: int, error: str, attempt: int | None = None
) -> bool:
    """The recipient cannot be reached on this chat (blocked the bot, chat gone)."""
    return await _set(session, message_id, attempt, state=UNDELIVERABLE, last_error=error)


async def mark_chat_blocked(session: AsyncSession, *, channel: str, chat_id: str, now: datetime) -> int:
    """Remember that the chat accounts on this chat blocked the bot; how many accounts that was."""
    result = await session.execute(
        update(ChatAccount)
        .where(ChatAccount.channel == channel, same_id(ChatAccount.chat_id, chat_id, channel=channel))
        .where(ChatAccount.blocked_at.is_(None))
        .values(blocked_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
