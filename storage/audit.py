"""The audit trail: every change a user makes is written here in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NotRequired, TypedDict, Unpack

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry


@dataclass(frozen=True)
class Actor:
    """Who did something: a person (if known), a label for display, and the channel used."""

    label: str
    channel: str
    person_id: int | None = None


class Entry(TypedDict):
    """What one audit entry says: the keywords `record`, `record_id` and `entry_values` take."""

    actor: Actor
    at: datetime
    action: str
    object_type: str
    object_key: str
    detail: NotRequired[dict[str, Any] | None]


_INSERT = insert(AuditEntry.__table__)


def entry_values(**entry: Unpack[Entry]) -> dict[str, Any]:
    """The column values of one audit entry (for a Core insert, alone or with others); a keyword `Entry` does not
    have is refused, as a misspelt argument is."""
    if unknown := entry.keys() - Entry.__required_keys__ - Entry.__optional_keys__:
        raise TypeError(f"not a keyword of an audit entry: {', '.join(sorted(unknown))}")
    actor = entry["actor"]
    return {"at": entry["at"], "actor_person_id": actor.person_id, "actor": actor.label, "channel": actor.channel,
            "action": entry["action"], "object_type": entry["object_type"], "object_key": entry["object_key"],
            "detail": entry.get("detail") or {}}


async def record_id(session: AsyncSession, **entry: Unpack[Entry]) -> int:
    """Write one audit entry in the current unit of work (at once: one INSERT) and return its id: a key unique to
    the change it records (two changes in one instant have two), for the notices telling of it. The id is the one
    the driver hands back with every insert (SQLite's last row id; on PostgreSQL the RETURNING SQLAlchemy adds to
    any one-row insert): nothing more is asked of the database than `record` asks."""
    written = await session.execute(_INSERT, entry_values(**entry))
    return int(written.inserted_primary_key[0])


async def record(session: AsyncSession, **entry: Unpack[Entry]) -> None:
    """Write one audit entry in the current unit of work (at once: one INSERT)."""
    await record_id(session, **entry)


async def entries_for(session: AsyncSession, *, object_key: str | None = None, limit: int = 50) -> list[AuditEntry]:
    """The latest audit entries, newest first, optionally for one object."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if object_key is not None:
        query = query.where(AuditEntry.object_key == object_key)
    return list((await session.scalars(query)).all())
