"""Short-lived facts that every process of a deployment shares (``shared_marks``), each until it expires.

Several ``diaodu run`` processes may serve one database (behind one WeCom callback URL, or a restart that
overlaps the old process), and a process may restart at any time. What one of them learns and the others
must know lives here, not in a process's memory:

- ``first_sighting``: whether a key (a WeCom MsgId, an event's key) is new; it is remembered until its time
  to live runs out. Exactly one caller sees a key as new, however many ask at once.
- ``put`` / ``get`` / ``forget``: a small JSON value under a name (the numbered choices last shown to a
  WeCom user), gone when it expires.
- ``take_slots``: ``n`` of the ``limit`` slots of a rate window (e.g. 20 messages a minute to a group
  robot). A slot taken stays taken for ``period``; when fewer than ``n`` are free, nothing is taken and
  the answer says when enough will be.

Expired rows are harmless (every read checks ``expires_at``); ``purge`` deletes them. Every write works the
same on SQLite (one writer at a time) and PostgreSQL (each statement is atomic per row: a conditional
UPDATE or an INSERT … ON CONFLICT DO NOTHING decides which of two concurrent callers wins).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import SharedMark

NAME_MAX = 200
_LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def _insert(session: AsyncSession) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def _check(name: str) -> str:
    if not name or len(name) > NAME_MAX:
        raise ValueError(f"a shared mark's name must have 1 to {NAME_MAX} characters: {name[:50]!r}")
    return name


async def first_sighting(session: AsyncSession, *, name: str, now: datetime, ttl: timedelta) -> bool:
    """True for the first caller to mark ``name`` (or the first since its mark expired); it stays marked for
    ``ttl``. Commit before acting on a True: until then another process cannot see the mark."""
    _check(name)
    # An expired mark is taken over by the same conditional statement that tells two callers apart.
    renewed = await session.execute(
        update(SharedMark).where(SharedMark.name == name, SharedMark.expires_at <= now)
        .values(value=None, expires_at=now + ttl).execution_options(synchronize_session=False))
    if renewed.rowcount:
        return True
    inserted = await session.execute(
        _insert(session)(SharedMark).values(name=name, value=None, expires_at=now + ttl)
        .on_conflict_do_nothing(index_elements=["name"]))
    return bool(inserted.rowcount)


async def put(session: AsyncSession, *, name: str, value: Any, now: datetime, ttl: timedelta) -> None:
    """Keep ``value`` (anything JSON can hold) under ``name`` for ``ttl``, replacing what was there."""
    _check(name)
    statement = _insert(session)(SharedMark).values(name=name, value=value, expires_at=now + ttl)
    statement = statement.on_conflict_do_update(
        index_elements=["name"], set_={"value": statement.excluded.value,
                                       "expires_at": statement.excluded.expires_at})
    await session.execute(statement)


async def get(session: AsyncSession, *, name: str, now: datetime) -> Any:
    """The value kept under ``name``, or None when there is none or it expired."""
    return await session.scalar(
        select(SharedMark.value).where(SharedMark.name == _check(name), SharedMark.expires_at > now))


async def forget(session: AsyncSession, *, name: str) -> None:
    await session.execute(delete(SharedMark).where(SharedMark.name == _check(name)))


async def take_slots(session: AsyncSession, *, window: str, n: int, limit: int, period: timedelta,
                     now: datetime) -> float:
    """Take ``n`` of the ``limit`` slots of the rate window ``window`` for ``period``: 0.0 when they were
    taken, else the seconds until ``n`` slots are free (nothing is taken then).

    A slot is a row ``window#i`` while it is taken; a slot without a row, or whose row expired, is free. Only
    the slots taken are written, so a call costs the same whatever the limit (1,000 a member an hour).
    Ask in a transaction of its own, and commit at once: a taken slot counts for everyone from then on."""
    if not 1 <= n <= limit:
        raise ValueError(f"{n} slots can never fit in a window of {limit}")
    names = [_check(f"{window}#{i}") for i in range(limit)]
    # A write first (one row, a free slot): on SQLite this takes the write lock before any read.
    await session.execute(_insert(session)(SharedMark).values(name=names[0], value=None, expires_at=_LONG_AGO)
                          .on_conflict_do_nothing(index_elements=["name"]))
    rows = (await session.execute(
        select(SharedMark.name, SharedMark.expires_at).where(SharedMark.name.in_(names)))).all()
    busy = sorted(until for _slot, until in rows if until > now)
    if limit - len(busy) < n:
        return max((busy[n - (limit - len(busy)) - 1] - now).total_seconds(), 0.001)
    expired = [slot for slot, until in sorted(rows, key=lambda row: (row[1], row[0])) if until <= now]
    present = {slot for slot, _until in rows}
    taken = 0
    for slot in expired + [slot for slot in names if slot not in present]:
        # a slot another process took meanwhile is neither updated nor inserted: try the next one
        if slot in present:
            result = await session.execute(
                update(SharedMark).where(SharedMark.name == slot, SharedMark.expires_at <= now)
                .values(expires_at=now + period).execution_options(synchronize_session=False))
        else:
            result = await session.execute(
                _insert(session)(SharedMark).values(name=slot, value=None, expires_at=now + period)
                .on_conflict_do_nothing(index_elements=["name"]))
        taken += result.rowcount
        if taken == n:
            return 0.0
    raise SlotsTaken(window)


class SlotsTaken(RuntimeError):
    """Another process took the free slots between the read and the update: roll back and ask again."""


async def purge(session: AsyncSession, *, now: datetime) -> int:
    """Delete the expired marks (a rate window's free slots too: they come back when next asked); how many."""
    result = await session.execute(delete(SharedMark).where(SharedMark.expires_at <= now)
                                   .execution_options(synchronize_session=False))
    return int(result.rowcount or 0)
