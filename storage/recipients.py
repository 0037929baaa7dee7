"""Who receives a notice meant for a person: the person while active, else who stands in for them.

Notices go to active people only. What a deactivated person would have been told goes to their successor
(the last ``/handover`` from them, ``person.handover`` in the audit trail, followed along a chain of
handovers to the first active one), else to the active admins. With no admin either, it stays addressed
to the person (without a chat account, the outbox holds it and /outbox lists the person, 已停用).

``storage.outbox`` applies this to every notice to a person, so every caller gets it.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry, Person, PersonRole

HANDOVER = "person.handover"
CHAIN_MAX = 10


async def stand_ins(session: AsyncSession, person_ids: Collection[int]) -> dict[int, tuple[int, ...]]:
    """For each of ``person_ids``: the ids of whom its notices go to (itself when active)."""
    wanted = set(person_ids)
    if not wanted:
        return {}
    active = await _active(session, wanted)
    inactive = wanted - active
    if not inactive:
        return {pid: (pid,) for pid in wanted}
    result = {pid: (pid,) for pid in active}
    admins: tuple[int, ...] | None = None
    for pid in sorted(inactive):
        successor = await _active_successor(session, pid)
        if successor is not None:
            result[pid] = (successor,)
            continue
        if admins is None:
            admins = tuple((await session.scalars(
                select(Person.id).join(PersonRole, PersonRole.person_id == Person.id)
                .where(PersonRole.role == "admin", Person.active.is_(True)).order_by(Person.id))).all())
        result[pid] = admins or (pid,)
    return result


async def _active(session: AsyncSession, ids: Collection[int]) -> set[int]:
    found = await session.scalars(select(Person.id).where(Person.id.in_(sorted(ids)), Person.active.is_(True)))
    return set(found.all())


async def _active_successor(session: AsyncSession, person_id: int) -> int | None:
    """The first active person along the chain of handovers from ``person_id``, if any."""
    seen = {person_id}
    current = person_id
    for _ in range(CHAIN_MAX):
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == HANDOVER, AuditEntry.object_type == "person",
                                     AuditEntry.object_key == str(current))
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(1))
        taker = (entry.detail or {}).get("to") if entry is not None else None
        if not isinstance(taker, int) or taker in seen:
            return None
        if await _active(session, {taker}):
            return taker
        seen.add(taker)
        current = taker
    return None
