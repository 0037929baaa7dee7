"""A person renamed by the ledger import keeps the name he had, dated, and a past instant names him so
(storage.person_names, read with the projects' versions by storage.project_versions): both databases."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from bot.clock import FrozenClock
from bot.services.ledger_import import import_ledger_files
from storage.audit import Actor
from storage.db import Database
from storage.models import Person, PersonName, Project
from storage.project_versions import held_at

from .factories import SAMPLE_PEOPLE_CSV, SAMPLE_PROJECTS_CSV
from .test_ledger_import import _set, edited_projects_csv

CODE = "ZD2026-001"  # its liaison 郝芳, 13900007919: a project row with her phone under another name is her
LIAISON = "首办秘书(联络员)"


async def _import(db: Database, clock: FrozenClock, actor: Actor, files: list[Path]) -> None:
    result = await import_ledger_files(db, clock, files, actor=actor)
    assert result.issues == [] and result.written, [str(i) for i in result.issues]


async def _names(db: Database) -> list[tuple[str, datetime, str]]:
    async with db.session() as session:
        return [
            tuple(row)
            for row in (
                await session.execute(  # type: ignore[misc]
                    select(Person.phone, PersonName.valid_from, PersonName.name)
                    .join(Person, Person.id == PersonName.person_id)
                    .order_by(PersonName.person_id, PersonName.valid_from, PersonName.id)
                )
            ).all()
        ]


async def test_a_rename_by_the_import_keeps_the_name_before_and_a_past_instant_reads_it(
    db: Database, clock: FrozenClock, actor: Actor, tmp_path: Path
) -> None:
    await _import(db, clock, actor, [SAMPLE_PROJECTS_CSV, SAMPLE_PEOPLE_CSV])
    async with db.session() as session:
        created = await session.scalar(select(Person.created_at).where(Person.phone == "13900007919"))
    assert await _names(db) == []  # nobody renamed yet: nothing kept
    before = clock.now()

    clock.advance(days=3)
    renamed_at = clock.now()
    await _import(db, clock, actor, [edited_projects_csv(tmp_path, _set(CODE, LIAISON, "郝芳芳"))])
    assert await _names(db) == [("13900007919", created, "郝芳"), ("13900007919", renamed_at, "郝芳芳")]

    clock.advance(days=3)
    again_at = clock.now()
    await _import(db, clock, actor, [edited_projects_csv(tmp_path, _set(CODE, LIAISON, "郝芳"), name="again.csv")])
    # the name before is kept once; each rename from its instant
    assert await _names(db) == [
        ("13900007919", created, "郝芳"),
        ("13900007919", renamed_at, "郝芳芳"),
        ("13900007919", again_at, "郝芳"),
    ]

    async with db.session() as session:
        project_id = await session.scalar(select(Project.id).where(Project.code == CODE))
        assert project_id is not None
        then = await held_at(session, at=before + timedelta(days=1))
        between = await held_at(session, at=renamed_at + timedelta(days=1))
        now = await held_at(session, at=again_at + timedelta(seconds=1))
    assert then[project_id].liaison == "郝芳" and between[project_id].liaison == "郝芳芳"
    assert [p.liaison for p in then.values()] == ["郝芳"]  # the others held by nobody renamed: read as now
    assert now == {}  # nothing changed since (the last rename is in force just after its instant)
