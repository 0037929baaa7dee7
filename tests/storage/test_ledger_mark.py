"""Whether the database changed what an import compared its file with (storage.ledger_state.ledger_changed):
what lets /import's 确认 write the plan its preview showed, or makes it preview again."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import update

from storage import audit
from storage.audit import Actor
from storage.db import Database
from storage.ledger_state import ledger_changed, ledger_mark
from storage.models import Person, Project
from storage.reports import add_report

from .factories import NOW, build_world

ADMIN = Actor(label="另一位管理员", channel="console")


async def changed(db: Database, since: object, *, reports: bool = False) -> bool:
    async with db.session() as session:
        return await ledger_changed(session, since, reports=reports)  # type: ignore[arg-type]


async def test_reports_bindings_and_problems_change_nothing_an_import_compares(db: Database) -> None:
    world = await build_world(db, NOW)
    async with db.session() as session:
        since = await ledger_mark(session)
    async with db.session() as session:
        await add_report(session, project_id=world.p1, person_id=world.liaison, local_day=date(2026, 11, 20),
                         amount=Decimal(100), progress_text="路基施工", photos=[], channel="console", now=NOW,
                         actor=Actor(label="郝芳", channel="console"), project_code="ZD2026-001")
        for action, kind in (("account.bind", "person"), ("problem.create", "problem"), ("sla.set", "setting")):
            await audit.record(session, actor=ADMIN, at=NOW, action=action, object_type=kind, object_key="1")

    assert not await changed(db, since)
    assert await changed(db, since, reports=True)  # when the baseline's day was not given, a report counts


async def test_a_change_made_in_the_chat_is_seen(db: Database) -> None:
    world = await build_world(db, NOW)
    async with db.session() as session:
        since = await ledger_mark(session)
    async with db.session() as session:  # /handover, as the audit log keeps it
        await audit.record(session, actor=ADMIN, at=NOW, action="project.update", object_type="project",
                           object_key="ZD2026-001", detail={"field": "liaison"})
    assert await changed(db, since)

    async with db.session() as session:
        since = await ledger_mark(session)
    async with db.session() as session:  # a row changed with no audit entry: still seen by its update time
        await session.execute(update(Project).where(Project.id == world.p2).values(updated_at=NOW.replace(year=2027)))
    assert await changed(db, since)

    async with db.session() as session:
        since = await ledger_mark(session)
        session.add(Person(name="新同志", phone="13900000000", active=True, created_at=NOW))
    assert await changed(db, since)
