"""What the ledger said of a project at an instant: its name, town, lead unit (牵头单位), 包抓领导 and liaison,
kept dated (``ProjectVersion``). Every path that changes one of them (the ledger import, ``/project_set``,
``/handover``) writes the project's new version here in its own transaction; a past period reads each project
as it stood at its end through ``held_at``, the one definition, so that a project handed to another unit or
leader since counts for the ones that held it then."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.domain.ledger_plan import HELD_FIELDS
from storage.models import Person, Project, ProjectVersion, Unit
from storage.rows import all_rows

__all__ = ["HELD_FIELDS", "Held", "held_at", "record", "record_rows"]

_CHUNK = 1000

class Held(NamedTuple):
    """A project as a version has it, with its unit's and people's names as they are now."""

    name: str
    location: str | None
    lead_unit_id: int
    lead_unit: str
    lead_official_id: int | None
    lead_official: str | None
    liaison_id: int | None
    liaison: str | None


async def record(session: AsyncSession, projects: Iterable[Project], *, at: datetime) -> None:
    """Write each project's version as it now stands, valid from ``at`` (its fields just changed)."""
    await record_rows(session, [{"project_id": p.id, **{k: getattr(p, k) for k in HELD_FIELDS}} for p in projects],
                      at=at)


async def record_rows(session: AsyncSession, rows: Sequence[dict[str, Any]], *, at: datetime) -> None:
    """Write versions given as rows (``project_id`` and ``HELD_FIELDS``), valid from ``at``: one statement per
    ``_CHUNK`` rows."""
    statement = insert(ProjectVersion.__table__)
    for start in range(0, len(rows), _CHUNK):
        await session.execute(statement, [{**row, "valid_from": at} for row in rows[start:start + _CHUNK]])


async def held_at(session: AsyncSession, *, at: datetime) -> dict[int, Held]:
    """Project id → the project as the ledger had it at ``at``, for the projects changed since (a version valid
    from after ``at``): the others read as they stand now. One query. A project with no version by ``at``
    (added since) is absent too."""
    lead = aliased(Person, name="lead_official")
    liaison = aliased(Person, name="liaison")
    changed = select(ProjectVersion.project_id).where(ProjectVersion.valid_from > at)
    v = ProjectVersion
    rows = await all_rows(session, select(
        v.project_id, v.name, v.location, v.lead_unit_id, Unit.name, v.lead_official_id, lead.name, v.liaison_id,
        liaison.name)
        .join(Unit, Unit.id == v.lead_unit_id)
        .outerjoin(lead, lead.id == v.lead_official_id)
        .outerjoin(liaison, liaison.id == v.liaison_id)
        .where(v.valid_from <= at, v.project_id.in_(changed))
        .order_by(v.project_id, v.valid_from, v.id))
    return {row[0]: Held(*row[1:]) for row in rows}  # the last version by ``at`` of each

