"""The ledger's change marks in a database made by the migrations (as every real one is), not by the models'
``create_all`` the other tests of the marks use: a write of each group's tables moves its mark, on SQLite per row
and on PostgreSQL once a transaction; the audit log moves none."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import insert

from storage import audit
from storage.audit import Actor
from storage.db import Database
from storage.ledger_marks import read_marks
from storage.migrate import upgrade
from storage.models import Unit
from tests.storage.test_migrations import empty_db  # noqa: F401  (fixture)

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


async def test_a_migrated_database_keeps_the_marks(empty_db: Database) -> None:  # noqa: F811
    await asyncio.to_thread(upgrade, empty_db.url, "head")
    async with empty_db.session() as session:
        before = await read_marks(session)
    async with empty_db.session() as session:
        await session.execute(insert(Unit), [{"name": f"区第{n}局", "created_at": NOW} for n in range(3)])
        await audit.record(session, actor=Actor(label="区项目办", channel="console"), at=NOW, action="unit.create",
                           object_type="unit", object_key="区第0局")
    async with empty_db.session() as session:
        after = await read_marks(session)
    moved = after["ledger"] - before["ledger"]
    assert moved == (3 if empty_db.is_sqlite else 1), (before, after)
    assert (after["nodes"], after["reports"]) == (before["nodes"], before["reports"])
