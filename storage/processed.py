"""Chat messages handled once: the key of every message whose changes were stored, kept with them.

A channel gives each incoming message a stable key (Telegram: chat and message id, or the button press's
id; WeCom: ``MsgId``, or sender, time and event). The router looks the key up before handling the message
and, when the message changed anything, records it in the same transaction as the changes, under a primary
key: a second delivery of the same message (a webhook re-delivery, a client retry, another process, a
restart) finds it, or fails to record it and is rolled back whole.

The replies the message was answered with are recorded with its key (``mark_handled``), with the process that
handled it: they go out after the commit, and a process that dies in between (kill -9, a power cut) would
otherwise leave the message handled and never answered. A delivery of it again takes them (``take_replies``:
one conditional UPDATE, so that of several deliveries one takes them), to be answered with. Nothing marks them
sent on the way of a message handled once: a second delivery is rare, and only it pays.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.messages import Reply
from storage.models import ProcessedMessage
from storage.outbox import attachment_from_payload, payload_from, reply_from_payload

_TABLE = ProcessedMessage.__table__
KEEP = timedelta(days=7)  # Telegram keeps an undelivered update for 24 hours; WeCom retries for seconds
_LONGEST = 200  # the column's width: a longer key is kept as its SHA-256


def stored_key(key: str) -> str:
    """The key as the table keeps it."""
    return key if len(key) <= _LONGEST else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def handled(channel: ColumnElement[str], key: ColumnElement[str]) -> ColumnElement[bool]:
    """Whether the message with this key (a `stored_key`) was handled: for a column of a larger query (the
    router reads it with the caller, storage.people)."""
    return exists().where(_TABLE.c.channel == channel, _TABLE.c.key == key)


@dataclass(frozen=True)
class KeptReplies:
    """The replies a handled message was answered with, taken for a delivery of it again: when it was handled,
    and by which process (``mark_handled``'s ``by``)."""

    replies: list[Reply]
    handled_at: datetime
    by: str


def _kept(replies: Sequence[Reply], by: str) -> dict[str, Any] | None:
    if not replies:
        return None
    return {"by": by, "replies": [payload_from(reply, attachment=reply.attachment) for reply in replies]}


async def mark_handled(session: AsyncSession, *, channel: str, key: str, now: datetime,
                       replies: Sequence[Reply] = (), by: str = "") -> bool:
    """Record the key in the session's transaction, with the `replies` it is answered with and `by`, the process
    answering; False if it is there already (committed by another transaction, which this one waited for): then
    this transaction must be rolled back."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (insert(_TABLE).values(channel=channel, key=stored_key(key), handled_at=now,
                                       replies=_kept(replies, by))
                 .on_conflict_do_nothing().returning(_TABLE.c.key))
    return (await session.execute(statement)).first() is not None


async def kept_replies(session: AsyncSession, *, channel: str, key: str) -> KeptReplies | None:
    """The replies kept with a handled message; None if there are none (it had none, or a delivery of it again
    took them)."""
    row = (await session.execute(select(_TABLE.c.replies, _TABLE.c.handled_at).where(
        _TABLE.c.channel == channel, _TABLE.c.key == stored_key(key), _TABLE.c.replies.is_not(None)))).first()
    if row is None:
        return None
    kept, handled_at = row
    replies = [_reply(payload) for payload in kept.get("replies") or ()]
    return KeptReplies(replies=replies, handled_at=handled_at, by=str(kept.get("by", "")))


async def take_replies(session: AsyncSession, *, channel: str, key: str) -> bool:
    """Take the replies kept with a handled message in the session's transaction (gone from the row once it
    commits): False if there are none left, another delivery having taken them (that one answers)."""
    taken = await session.execute(update(_TABLE).where(
        _TABLE.c.channel == channel, _TABLE.c.key == stored_key(key), _TABLE.c.replies.is_not(None),
    ).values(replies=None))
    return bool(taken.rowcount)


def _reply(payload: dict[str, Any]) -> Reply:
    reply = reply_from_payload(payload)
    attachment = attachment_from_payload(payload)
    return reply if attachment is None else replace(reply, attachment=attachment)


async def forget_old(session: AsyncSession, *, now: datetime) -> int:
    """Drop the keys of messages handled more than `KEEP` ago (no channel re-delivers that late); how many."""
    result = await session.execute(delete(_TABLE).where(_TABLE.c.handled_at < now - KEEP))
    return result.rowcount or 0
