"""The audit trail: changes made through the router are recorded in the same transaction."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, select

from bot.channels.console import bind_console
from bot.clock import FrozenClock
from bot.config import load_settings
from bot.domain.messages import Incoming
from handlers.context import Deps
from handlers.router import Router
from storage import audit, people
from storage.audit import Actor
from storage.db import Database
from storage.models import AuditEntry, Report

from .factories import World, build_world, count


async def _person_and_router(db: Database, clock: FrozenClock, world: World) -> tuple[str, Router]:
    async with db.session() as session:
        liaison = await people.get_person(session, person_id=world.liaison)
    assert liaison is not None
    external_id = await bind_console(db, liaison, now=clock.now())
    deps = Deps(db=db, clock=clock, settings=load_settings(DATABASE_URL=db.url))
    return external_id, Router(deps)


def _say(external_id: str, text: str) -> Incoming:
    return Incoming(channel="console", user_id=external_id, chat_id=external_id, text=text)


async def test_report_and_undo_through_the_router_are_audited(db: Database, clock: FrozenClock) -> None:
    world = await build_world(db, clock.now())
    external_id, router = await _person_and_router(db, clock, world)
    async with db.session() as session:
        bind_entries = await audit.entries_for(session)
    assert [e.action for e in bind_entries] == ["account.bind"]

    outcome = await router.handle(_say(external_id, "/report ZD2026-001 850 桩基完成"))
    assert outcome.replies

    async with db.session() as session:
        reports = list((await session.scalars(select(Report))).all())
        created = await audit.entries_for(session, object_key="ZD2026-001")
    assert len(reports) == 1
    report = reports[0]
    assert (report.project_id, report.person_id, report.amount, report.progress_text, report.channel) == (
        world.p1, world.liaison, Decimal(850), "桩基完成", "console")
    assert report.withdrawn_at is None
    assert len(created) == 1
    entry = created[0]
    assert (entry.action, entry.actor, entry.channel, entry.actor_person_id) == (
        "report.create", "郝芳", "console", world.liaison)
    assert entry.object_type == "project"
    assert entry.at == clock.now()
    assert entry.detail["report_id"] == report.id
    assert Decimal(entry.detail["amount"]) == Decimal(850)

    clock.advance(minutes=10)
    outcome = await router.handle(_say(external_id, "/undo"))
    assert outcome.replies

    async with db.session() as session:
        entries = await audit.entries_for(session, object_key="ZD2026-001")
        kept = await session.get(Report, report.id)
    assert [e.action for e in entries] == ["report.withdraw", "report.create"]
    withdraw = entries[0]
    assert (withdraw.actor, withdraw.channel, withdraw.actor_person_id) == ("郝芳", "console", world.liaison)
    assert withdraw.at == clock.now()
    assert withdraw.detail["report_id"] == report.id
    # Withdrawn, not deleted.
    assert kept is not None
    assert kept.withdrawn_at == clock.now()
    assert await count(db, Report) == 1

    # Nothing left to withdraw today: no new audit entry.
    await router.handle(_say(external_id, "/undo"))
    assert await count(db, AuditEntry) == 3


async def test_a_refused_report_leaves_no_trace(db: Database, clock: FrozenClock) -> None:
    world = await build_world(db, clock.now())
    external_id, router = await _person_and_router(db, clock, world)
    before = await count(db, AuditEntry)
    # ZD2026-002 is not hers, and 20000 万元 is more than ZD2026-001 has left.
    for text in ("/report ZD2026-002 850 桩基完成", "/report ZD2026-001 20000 桩基完成"):
        outcome = await router.handle(_say(external_id, text))
        assert outcome.replies
    assert await count(db, Report) == 0
    assert await count(db, AuditEntry) == before


async def test_entries_for_lists_newest_first_and_filters(db: Database, clock: FrozenClock) -> None:
    actor = Actor(label="郝芳", channel="telegram")
    async with db.session() as session:
        for key in ("ZD2026-001", "ZD2026-002", "ZD2026-001"):
            await audit.record(session, actor=actor, at=clock.now(), action="report.create",
                               object_type="project", object_key=key,
                               detail={"amount": "1.5", "note": "桩基"})
    async with db.session() as session:
        everything = await audit.entries_for(session)
        one = await audit.entries_for(session, object_key="ZD2026-001")
        limited = await audit.entries_for(session, limit=1)
    assert [e.object_key for e in everything] == ["ZD2026-001", "ZD2026-002", "ZD2026-001"]
    assert [e.id for e in everything] == sorted((e.id for e in everything), reverse=True)
    assert len(one) == 2 and all(e.object_key == "ZD2026-001" for e in one)
    assert [e.id for e in limited] == [everything[0].id]
    assert everything[0].detail == {"amount": "1.5", "note": "桩基"}
    assert everything[0].actor_person_id is None


async def test_record_reads_nothing_back_and_record_id_gives_each_entry_its_own_id(db: Database,
                                                                                 clock: FrozenClock) -> None:
    """`record` (every write of the report path) is `record_id` with its id left: on SQLite neither sends a
    RETURNING (the driver hands the row id back), on PostgreSQL both send the one SQLAlchemy adds to any one-row
    insert; two entries of one instant get two ids; a keyword an entry does not have is refused, nothing written."""
    actor = Actor(label="项目办", channel="console")
    sent: list[str] = []

    def inserts(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if "INSERT INTO audit_log" in statement:
            sent.append(statement.upper())

    event.listen(db.engine.sync_engine, "before_cursor_execute", inserts)
    try:
        async with db.session() as session:
            await audit.record(session, actor=actor, at=clock.now(), action="report.create", object_type="project",
                               object_key="ZD2026-001")
            first = await audit.record_id(session, actor=actor, at=clock.now(), action="project.update",
                                          object_type="project", object_key="ZD2026-001", detail={"name": "新"})
            second = await audit.record_id(session, actor=actor, at=clock.now(), action="project.update",
                                           object_type="project", object_key="ZD2026-001")
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", inserts)
    assert len(sent) == 3 and {"RETURNING" in statement for statement in sent} == {not db.is_sqlite}
    async with db.session() as session:
        entries = await audit.entries_for(session, object_key="ZD2026-001")
    assert [(e.action, e.detail) for e in entries] == [
        ("project.update", {}), ("project.update", {"name": "新"}), ("report.create", {})]
    assert [e.id for e in entries[:2]] == [second, first] and first != second
    with pytest.raises(TypeError, match="objekt_key"):
        async with db.session() as session:
            await audit.record(session, actor=actor, at=clock.now(), action="report.create",  # type: ignore[call-arg]
                               object_type="project", object_key="ZD2026-001", objekt_key="x")
    assert await count(db, AuditEntry) == 3
