"""The digest of what an import compares its file with (bot.domain.ledger_digest over storage.ledger_state):
/import's 确认 writes the previewed plan only while the database, read again, gives the preview's digest."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import update

from bot.domain.ledger_digest import state_digest
from storage import audit
from storage.audit import Actor
from storage.db import Database
from storage.ledger_state import load_state
from storage.models import Person, Project
from storage.reports import add_report

from .factories import NOW, build_world

ADMIN = Actor(label="另一位管理员", channel="console")
TODAY = date(2026, 11, 20)


async def digest(db: Database, *, reports: bool = False) -> str:
    async with db.session() as session:
        return state_digest(await load_state(session, today=TODAY, as_of=None), reports=reports, nodes=None)


async def test_reports_bindings_problems_and_leaves_change_nothing_an_import_writes(db: Database) -> None:
    world = await build_world(db, NOW)
    before, with_reports = await digest(db), await digest(db, reports=True)
    async with db.session() as session:
        await add_report(session, project_id=world.p1, person_id=world.liaison, local_day=TODAY,
                         amount=Decimal(100), progress_text="路基施工", photos=[], channel="console", now=NOW,
                         actor=Actor(label="郝芳", channel="console"), project_code="ZD2026-001")
        for action, kind in (("account.bind", "person"), ("problem.create", "problem"), ("leave.start", "person")):
            await audit.record(session, actor=ADMIN, at=NOW, action=action, object_type=kind, object_key="1")

    assert await digest(db) == before
    assert await digest(db, reports=True) != with_reports  # when the baseline's day was not given, a report counts


async def test_every_change_of_what_the_import_compares_is_seen_whenever_it_committed(db: Database) -> None:
    """Not the newest id or update time: a row changed by a transaction that began before the preview and
    committed after it (an older update time, no newer id, no audit entry) changes the digest too."""
    world = await build_world(db, NOW)
    before = await digest(db)
    async with db.session() as session:
        await session.execute(update(Project).where(Project.id == world.p2).values(
            name="悄悄改名", updated_at=NOW - timedelta(days=30)))
    assert await digest(db) != before

    before = await digest(db)
    async with db.session() as session:
        session.add(Person(name="新同志", phone="13900000000", active=True, created_at=NOW))
    assert await digest(db) != before

    before = await digest(db)
    async with db.session() as session:  # /handover, as the audit log keeps it: a conflict the preview lists
        await audit.record(session, actor=ADMIN, at=NOW, action="project.update", object_type="project",
                           object_key="ZD2026-001", detail={"field": "liaison"})
    assert await digest(db) != before
