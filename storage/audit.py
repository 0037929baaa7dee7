"""The audit trail: every change a user makes is written here in the same transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import direct
from storage.direct import Direct
from storage.models import AuditEntry


@dataclass(frozen=True)
class Actor:
    """Who did something: a person (if known), a label for display, and the channel used."""

    label: str
    channel: str
    person_id: int | None = None


_AUDIT = AuditEntry.__table__
_INSERT = Direct(insert(_AUDIT).values({
    column: bindparam(column) for column in
    ("at", "actor_person_id", "actor", "channel", "action", "object_type", "object_key", "detail")
}))


def entry(
    *,
    actor: Actor,
    at: datetime,
    action: str,
    object_type: str,
    object_key: str,
    detail: dict[str, Any] | Callable[[list[list[direct.Row]]], dict[str, Any]] | None = None,
) -> direct.Step:
    """One audit entry as a step of a direct chain (`detail` may be made from the rows of earlier steps,
    e.g. the id of a row just inserted)."""
    values = {"at": at, "actor_person_id": actor.person_id, "actor": actor.label, "channel": actor.channel,
              "action": action, "object_type": object_type, "object_key": object_key}
    if callable(detail):
        make = detail
        return direct.Step(_INSERT, lambda done: {**values, "detail": make(done)})
    return direct.Step(_INSERT, {**values, "detail": detail or {}})


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
    """Write one audit entry in the current unit of work (at once: see storage.direct)."""
    await direct.run(session, entry(actor=actor, at=at, action=action, object_type=object_type,
                                    object_key=object_key, detail=detail))


async def entries_for(session: AsyncSession, *, object_key: str | None = None, limit: int = 50) -> list[AuditEntry]:
    """The latest audit entries, newest first, optionally for one object."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if object_key is not None:
        query = query.where(AuditEntry.object_key == object_key)
    return list((await session.scalars(query)).all())
