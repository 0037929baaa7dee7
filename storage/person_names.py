"""What each person was called, kept dated (``PersonName``): every path that renames a person (the ledger import:
a roster or project row matched by phone or 人员编号 under another name) writes here in its own transaction, and a
past period names him as he was named at its end (``bot.domain.project_versions``, the one rule; read with the
projects' versions by ``storage.project_versions.versions_since``).

A person's names are kept from his first rename on: the name he had before it, valid from his creation (a rename
made before the table existed cannot be dated: that name is the one he had at the upgrade), then each new name
from the instant it was given. A person never renamed has no row and reads as he is named now."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Person, PersonName
from storage.rows import all_rows

__all__ = ["names_since", "record_renames", "renamed_since"]


async def record_renames(session: AsyncSession, renames: Sequence[tuple[int, str]], *, at: datetime) -> None:
    """Keep the renames of ``renames`` (person id, new name) made at ``at``, before the people's rows are
    updated: for each person whose stored name differs, the name he had, valid from his creation, unless his
    names are kept already, and the new one, valid from ``at``. Two statements, whatever the number."""
    if not renames:
        return
    table, people = PersonName.__table__, Person.__table__
    person_id, new_name = bindparam("n_id", type_=people.c.id.type), bindparam("n_name", type_=table.c.name.type)
    renamed = (people.c.id == person_id) & (people.c.name != new_name)
    kept = exists().where(table.c.person_id == person_id)
    rows = [{"n_id": pid, "n_name": name} for pid, name in renames]
    await session.execute(
        insert(table).from_select(
            ["person_id", "valid_from", "name"],
            select(people.c.id, people.c.created_at, people.c.name).where(renamed, ~kept),
        ),
        rows,
    )
    await session.execute(
        insert(table).from_select(
            ["person_id", "valid_from", "name"],
            select(people.c.id, literal(at, table.c.valid_from.type), new_name).where(renamed),
        ),
        rows,
    )


def renamed_since(since: datetime) -> Any:
    """The ids of the people renamed from ``since`` on (a subquery): a name written at a period's end is not in
    force at it (``bot.domain.project_versions.in_force``)."""
    return select(PersonName.person_id).where(PersonName.valid_from >= since)


async def names_since(session: AsyncSession, *, since: datetime) -> dict[int, list[tuple[datetime, str]]]:
    """Person id → every name he has had (valid from, name), oldest first, of the people renamed after
    ``since``. One query."""
    n = PersonName
    rows = await all_rows(
        session,
        select(n.person_id, n.valid_from, n.name)
        .where(n.person_id.in_(renamed_since(since)))
        .order_by(n.person_id, n.valid_from, n.id),
    )
    names: dict[int, list[tuple[datetime, str]]] = {}
    for person_id, valid_from, name in rows:
        names.setdefault(person_id, []).append((valid_from, name))
    return names
