"""Chat messages handled once: the key of every message whose changes were stored, kept with them.

A channel gives each incoming message a stable key (Telegram: chat and message id, or the button press's
id; WeCom: ``MsgId``, or sender, time and event). The router looks the key up before handling the message
and, when the message changed anything, records it in the same transaction as the changes, under a primary
key: a second delivery of the same message (a webhook re-delivery, a client retry, another process, a
restart) finds it, or fails to record it and is rolled back whole.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, exists
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ProcessedMessage

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


async def mark_handled(session: AsyncSession, *, channel: str, key: str, now: datetime) -> bool:
    """Record the key in the session's transaction; False if it is there already (committed by another
    transaction, which this one waited for): then this transaction must be rolled back."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (insert(_TABLE).values(channel=channel, key=stored_key(key), handled_at=now)
                 .on_conflict_do_nothing().returning(_TABLE.c.key))
    return (await session.execute(statement)).first() is not None


async def forget_old(session: AsyncSession, *, now: datetime) -> int:
    """Drop the keys of messages handled more than `KEEP` ago (no channel re-delivers that late); how many."""
    result = await session.execute(delete(_TABLE).where(_TABLE.c.handled_at < now - KEEP))
    return result.rowcount or 0
