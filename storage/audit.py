"""The audit trail: every change a user makes is written here in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry


@dataclass(frozen=True)
class Actor:
    """Who did something: a person (if known), a label for display, and the channel used."""

    label: str
    channel: str
    person_id: int | None = None


_INSERT = insert(AuditEntry.__table__)


def entry_values(
    *,
    actor: Actor,
    at: datetime,
    action: str,
    object_type: str,
    object_key: str,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The column values of one audit entry (for a Core insert, alone or with others)."""
    return {"at": at, "actor_person_id": actor.person_id, "actor": actor.label, "channel": actor.channel,
            "action": action, "object_type": object_type, "object_key": object_key, "detail": detail or {}}


async def record(
    session: AsyncSession,
    *,
    actor: Actor,
    at: datetime,
    action: str,
    object_type: str,
    object_key: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Write one audit entry in the current unit of work (at once: one INSERT)."""
    await session.execute(_INSERT, entry_values(actor=actor, at=at, action=action, object_type=object_type,
                                                object_key=object_key, detail=detail))


async def record_id(
    session: AsyncSession,
    *,
    actor: Actor,
    at: datetime,
    action: str,
    object_type: str,
    object_key: str,
    detail: dict[str, Any] | None = None,
) -> int:
    """Write one audit entry as `record` does, and return its id: a key unique to the change it records (two
    changes in one instant have two), for the notices telling of it."""
    inserted = await session.execute(_INSERT.returning(AuditEntry.__table__.c.id),
                                     entry_values(actor=actor, at=at, action=action, object_type=object_type,
                                                  object_key=object_key, detail=detail))
    return int(inserted.scalar_one())


async def entries_for(session: AsyncSession, *, object_key: str | None = None, limit: int = 50) -> list[AuditEntry]:
    """The latest audit entries, newest first, optionally for one object."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if object_key is not None:
        query = query.where(AuditEntry.object_key == object_key)
    return list((await session.scalars(query)).all())
