"""What the ledger said of a project at an instant: its name, town, lead unit (牵头单位), 包抓领导 and liaison,
kept dated (``ProjectVersion``). Every path that changes one of them (the ledger import, ``/project_set``,
``/handover``) writes the project's new version here in its own transaction; a past period reads each project
as it stood at its end through ``held_at`` (``bot.domain.project_versions``, the one rule), so that a project
handed to another unit or leader since counts for the ones that held it then, named as they were named then
(``storage.person_names``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.domain.ledger_plan import HELD_FIELDS
from bot.domain.project_versions import Held, Versions
from storage.models import Person, Project, ProjectVersion, Unit
from storage.person_names import names_since, renamed_since
from storage.rows import all_rows

__all__ = ["HELD_FIELDS", "Held", "Versions", "held_at", "leads_before", "led_since", "record", "record_rows",
           "versions_since"]

_CHUNK = 1000


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


async def versions_since(session: AsyncSession, *, since: datetime) -> Versions:
    """Every version of the projects changed after ``since`` or held by a person renamed after it, with the
    names of their units and people, and every name of those people (``storage.person_names``): two queries.
    A bulletin reads them once for its period's end and the period before's."""
    lead = aliased(Person, name="lead_official")
    liaison = aliased(Person, name="liaison")
    v = ProjectVersion
    renamed = renamed_since(since)
    changed = select(v.project_id).where(v.valid_from >= since)
    changed = changed.union(select(v.project_id).where(v.lead_official_id.in_(renamed) | v.liaison_id.in_(renamed)))
    rows = await all_rows(session, select(
        v.project_id, v.valid_from, v.name, v.location, v.lead_unit_id, Unit.name, v.lead_official_id, lead.name,
        v.liaison_id, liaison.name)
        .join(Unit, Unit.id == v.lead_unit_id)
        .outerjoin(lead, lead.id == v.lead_official_id)
        .outerjoin(liaison, liaison.id == v.liaison_id)
        .where(v.project_id.in_(changed))
        .order_by(v.project_id, v.valid_from, v.id))
    versions: dict[int, list[tuple[datetime, Held]]] = {}
    for project_id, valid_from, *held in rows:
        versions.setdefault(project_id, []).append((valid_from, Held(*held)))
    return Versions(since, versions, await names_since(session, since=since))


async def held_at(session: AsyncSession, *, at: datetime, versions: Versions | None = None) -> dict[int, Held]:
    """Project id → the project as the ledger had it at ``at``, its people named as they were then, for the
    projects changed since or held by someone renamed since: the others read as they stand now. ``versions``:
    when the caller has read them (``versions_since``, from ``at`` or before); else two queries."""
    if versions is None:
        versions = await versions_since(session, since=at)
    return versions.at(at)


async def led_since(session: AsyncSession, *, project_id: int, person_id: int, since: datetime) -> bool:
    """Whether ``person_id`` was the project's 包抓领导 at some instant since ``since``: in the version in force
    then or in one written after. One query."""
    v = ProjectVersion
    leads = (await session.execute(select(v.valid_from, v.lead_official_id).where(v.project_id == project_id)
                                    .order_by(v.valid_from, v.id))).all()
    in_force = [lead for valid_from, lead in leads if valid_from <= since][-1:]
    return person_id in [*in_force, *(lead for valid_from, lead in leads if valid_from > since)]


async def leads_before(session: AsyncSession, *, since: datetime, until: datetime) -> dict[int, int | None]:
    """Project id → its 包抓领导's id at ``since``, for the projects with a version written from ``since`` to
    ``until`` (the others held as they are): the version in force at ``since``; for a project with none by then
    (added to the ledger since), the version it was first written with. One query."""
    v = ProjectVersion
    changed = select(v.project_id).where(v.valid_from > since, v.valid_from <= until)
    rows = (await session.execute(select(v.project_id, v.valid_from, v.lead_official_id)
                                  .where(v.project_id.in_(changed)).order_by(v.project_id, v.id))).all()
    first: dict[int, int | None] = {}
    in_force: dict[int, tuple[datetime, int | None]] = {}
    for project_id, valid_from, lead in rows:
        first.setdefault(project_id, lead)
        if valid_from <= since and (project_id not in in_force or valid_from >= in_force[project_id][0]):
            in_force[project_id] = (valid_from, lead)
    return {pid: in_force[pid][1] if pid in in_force else lead for pid, lead in first.items()}
