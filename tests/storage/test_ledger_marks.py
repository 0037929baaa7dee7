"""The ledger's change marks (storage.ledger_marks), kept by the database's triggers: a write of a group's tables
moves its mark, whoever writes it; other writes do not; and on PostgreSQL one transaction moves a mark once
however many statements it runs (every statement of an executemany is one)."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit
from storage.audit import Actor
from storage.db import Database
from storage.ledger_marks import claim, read_marks
from storage.models import Project, Unit
from storage.reports import add_report

from .factories import NOW, build_world

ADMIN = Actor(label="另一位管理员", channel="console")


async def marks(db: Database) -> dict[str, int]:
    async with db.session() as session:
        return await read_marks(session)


async def test_a_write_of_the_ledger_moves_its_mark_and_no_other(db: Database) -> None:
    world = await build_world(db, NOW)
    before = await marks(db)
    async with db.session() as session:
        await session.execute(update(Project).where(Project.id == world.p1).values(name="改名"))
    after = await marks(db)
    assert after["ledger"] > before["ledger"]
    assert (after["nodes"], after["reports"]) == (before["nodes"], before["reports"])

    async with db.session() as session:  # the audit log, a problem, a leave: none of the ledger's tables
        await audit.record(session, actor=ADMIN, at=NOW, action="leave.start", object_type="person", object_key="1")
    assert await marks(db) == after


async def test_a_transaction_moves_a_mark_once_on_postgres_and_per_row_on_sqlite(db: Database) -> None:
    before = await marks(db)
    async with db.session() as session:
        await session.execute(insert(Unit), [{"name": f"区第{n}局", "created_at": NOW} for n in range(50)])
        await session.execute(update(Unit).where(Unit.name == "区第1局").values(name="区第一局"))
    moved = (await marks(db))["ledger"] - before["ledger"]
    assert moved == (1 if db.engine.dialect.name == "postgresql" else 51)


async def test_claiming_says_whether_a_mark_moved_since_it_was_read(db: Database) -> None:
    read = await marks(db)
    async with db.session() as session:
        assert await claim(session, read, ["ledger", "nodes"])
    async with db.session() as session:  # the claim itself moved them: what was read no longer holds
        assert not await claim(session, read, ["ledger"])


async def test_reports_at_once_do_not_wait_for_each_other_on_postgres(db: Database) -> None:
    """Two reports written at once on two connections, the first not yet committed: the second is written and
    committed without waiting for it (on one mark row it waited from the first's INSERT to its commit, and failed
    after its lock wait here); both move the reports' mark, which 确认 still finds moved."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    world = await build_world(db, NOW)
    read = await marks(db)
    quick = Database(db.url, lock_wait=1.0)

    async def report(session: AsyncSession, project_id: int, code: str) -> None:
        await add_report(session, project_id=project_id, person_id=world.liaison, local_day=NOW.date(),
                         amount=Decimal(5), progress_text="进展", photos=[], channel="telegram", now=NOW,
                         actor=ADMIN, project_code=code)

    try:
        async with db.session() as first:
            await report(first, world.p1, "ZD2026-001")
            started = time.perf_counter()
            async with quick.session() as second:
                await report(second, world.p2, "ZD2026-002")
            assert time.perf_counter() - started < 0.5
    finally:
        await quick.dispose()
    assert (await marks(db))["reports"] == read["reports"] + 2
    async with db.session() as session:
        assert not await claim(session, read, ["reports"])
