"""The database handle: SQLite pragmas on a file-backed database, the unit of work, and bounded lock waits."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import suppress
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from storage.db import Database
from storage.models import Person, Unit

from .factories import NOW, count


@pytest.fixture
async def file_db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'nested' / 'diaodu.sqlite3'}")
    try:
        await database.create_all()
        yield database
    finally:
        await database.dispose()


async def test_file_sqlite_uses_wal_and_foreign_keys(file_db: Database, tmp_path: Path) -> None:
    assert (tmp_path / "nested" / "diaodu.sqlite3").exists()
    async with file_db.engine.connect() as conn:
        journal_mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar()
        foreign_keys = (await conn.execute(text("PRAGMA foreign_keys"))).scalar()
    assert str(journal_mode).lower() == "wal"
    assert foreign_keys == 1


async def test_pragmas_hold_on_every_new_connection(file_db: Database) -> None:
    # Connections are opened afresh after a dispose; the pragmas must be set on each of them.
    await file_db.engine.dispose()
    async with file_db.engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
        assert str((await conn.execute(text("PRAGMA journal_mode"))).scalar()).lower() == "wal"


async def test_foreign_keys_are_enforced(db: Database) -> None:
    with pytest.raises(IntegrityError):
        async with db.session() as session:
            session.add(Person(name="郝芳", unit_id=999, active=True, created_at=NOW))
    assert await count(db, Person) == 0


async def test_session_commits_at_the_end_and_rolls_back_on_error(db: Database) -> None:
    async with db.session() as session:
        session.add(Unit(name="区住建局", created_at=NOW))
    with pytest.raises(RuntimeError):
        async with db.session() as session:
            session.add(Unit(name="区发改局", created_at=NOW))
            await session.flush()
            raise RuntimeError("boom")
    async with db.session() as session:
        names = (await session.scalars(text("SELECT name FROM units ORDER BY id"))).all()
    assert names == ["区住建局"]


async def test_unit_names_are_unique(db: Database) -> None:
    async with db.session() as session:
        session.add(Unit(name="区住建局", created_at=NOW))
    with pytest.raises(IntegrityError):
        async with db.session() as session:
            session.add(Unit(name="区住建局", created_at=NOW))
    assert await count(db, Unit) == 1


ENDINGS = ["reads", "writes", "raises", "cancelled"]


async def _end_a_unit(database: Database, ending: str) -> list[str]:
    """Run a unit of work that ends as told; the pool's checkouts and checkins meanwhile."""
    pool: list[str] = []
    engine = database.engine.sync_engine
    event.listen(engine, "checkout", lambda *_: pool.append("out"))
    event.listen(engine, "checkin", lambda *_: pool.append("in"))
    waiting = asyncio.Event()

    async def work() -> None:
        async with database.session() as session:
            if ending == "reads":
                await session.execute(text("SELECT 1"))
            else:
                session.add(Unit(name="甲", created_at=NOW))
                await session.flush()
            if ending == "raises":
                raise RuntimeError("the handler failed")
            if ending == "cancelled":
                waiting.set()
                await asyncio.sleep(3600)

    task = asyncio.create_task(work())
    if ending == "cancelled":
        await waiting.wait()
        task.cancel()
    with suppress(RuntimeError, asyncio.CancelledError):
        await task
    assert task.cancelled() == (ending == "cancelled")
    return pool


@pytest.mark.parametrize("ending", ENDINGS)
async def test_a_unit_gives_its_connection_back_however_it_ends(db: Database, ending: str) -> None:
    assert await _end_a_unit(db, ending) == ["out", "in"]
    assert await count(db, Unit) == (1 if ending == "writes" else 0)


@pytest.mark.parametrize("ending", ENDINGS)
async def test_a_unit_on_a_sqlite_file_gives_its_connection_back_however_it_ends(file_db: Database,
                                                                                 ending: str) -> None:
    assert await _end_a_unit(file_db, ending) == ["out", "in"]
    assert await count(file_db, Unit) == (1 if ending == "writes" else 0)
    assert file_db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_pragmas_are_set_once_per_connection(file_db: Database) -> None:
    """The connect listener sets every pragma; nothing sets them again per statement or per transaction."""
    statements: list[str] = []
    event.listen(file_db.engine.sync_engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *_: statements.append(statement))
    for name in ("甲", "乙", "丙"):
        async with file_db.session() as session:
            session.add(Unit(name=name, created_at=NOW))
    async with file_db.engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA synchronous"))).scalar() == 1  # NORMAL
        assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() == int(file_db.lock_wait * 1000)
    assert not [s for s in statements[:-2] if "PRAGMA" in s.upper()]


async def test_a_write_waits_a_bounded_time_for_the_lock_then_fails(tmp_path: Path) -> None:
    """Another connection holds SQLite's write lock: a write waits `lock_wait`, off the event loop, then
    fails with nothing written; meanwhile the loop keeps running."""
    path = tmp_path / "locked.sqlite3"
    database = Database(f"sqlite+aiosqlite:///{path}", lock_wait=0.3)
    await database.create_all()
    holder = sqlite3.connect(path)
    holder.execute("BEGIN IMMEDIATE")
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    started = time.monotonic()
    try:
        with pytest.raises(OperationalError, match="database is locked"):
            async with database.session() as session:
                session.add(Unit(name="甲", created_at=NOW))
        waited = time.monotonic() - started
    finally:
        ticker.cancel()
        holder.rollback()
        holder.close()
    try:
        assert 0.25 <= waited < 3
        assert ticks >= 10  # the event loop ran while the write waited
        assert await count(database, Unit) == 0
    finally:
        await database.dispose()


async def test_on_postgresql_a_write_waits_a_bounded_time_for_a_row_lock(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("PostgreSQL's lock_timeout (SQLite's busy timeout is tested above)")
    async with db.session() as session:
        session.add(Unit(name="甲", created_at=NOW))
    other = Database(db.url, lock_wait=0.3)
    try:
        async with db.session() as holder:
            await holder.execute(text("SELECT id FROM units WHERE name = '甲' FOR UPDATE"))
            started = time.monotonic()
            with pytest.raises(DBAPIError, match="lock timeout"):
                async with other.session() as session:
                    await session.execute(text("UPDATE units SET name = '乙' WHERE name = '甲'"))
            waited = time.monotonic() - started
        assert 0.25 <= waited < 3
        async with db.session() as session:
            assert (await session.execute(text("SELECT name FROM units"))).scalars().all() == ["甲"]
    finally:
        await other.dispose()
