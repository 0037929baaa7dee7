"""Alembic migrations: an empty database upgrades to a schema identical to the models."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, inspect
from sqlalchemy.engine import Connection

from storage.db import Database
from storage.migrate import head_revision, schema_is_current, upgrade
from storage.models import Base

from .factories import BACKENDS, backend_url, taking_turns


async def _drop_everything(database: Database) -> None:
    """Drop every table there is (the models' tables, alembic_version, anything a migration made)."""
    async with database.engine.begin() as conn:
        existing = MetaData()
        await conn.run_sync(existing.reflect)
        await conn.run_sync(existing.drop_all)


@pytest.fixture(params=BACKENDS)
async def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A database without any table: a new SQLite file, or the test PostgreSQL database emptied."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'migrated.sqlite3'}"
    else:
        url = backend_url("postgresql")
    database = Database(url)
    try:
        async with taking_turns(database):
            if not database.is_sqlite:
                await _drop_everything(database)
            try:
                yield database
            finally:
                if not database.is_sqlite:
                    await _drop_everything(database)
    finally:
        await database.dispose()


def _table_names(conn: Connection) -> list[str]:
    return sorted(inspect(conn).get_table_names())


def _differences(conn: Connection) -> list[str]:
    """What autogenerate would change to make the database match the models, one line per difference."""
    context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
    return [_describe(diff) for diff in compare_metadata(context, Base.metadata)]


def _describe(diff: Any) -> str:
    if isinstance(diff, list):  # column modifications come grouped
        return "; ".join(_describe(d) for d in diff)
    kind, *rest = diff
    target = rest[0]
    name = getattr(target, "name", None)
    table = getattr(getattr(target, "table", None), "name", None)
    if name is not None:
        return f"{kind} {table + '.' if table else ''}{name}"
    return f"{kind} {rest}"


async def test_empty_database_is_not_current(empty_db: Database) -> None:
    current, revision, head = await schema_is_current(empty_db.engine)
    assert current is False
    assert revision is None
    assert head is not None and head == head_revision()


async def test_upgrade_from_empty_matches_the_models(empty_db: Database) -> None:
    async with empty_db.engine.connect() as conn:
        assert await conn.run_sync(_table_names) == []

    await asyncio.to_thread(upgrade, empty_db.url)

    current, revision, head = await schema_is_current(empty_db.engine)
    assert current is True
    assert revision == head == head_revision()
    async with empty_db.engine.connect() as conn:
        tables = await conn.run_sync(_table_names)
        differences = await conn.run_sync(_differences)
    assert differences == [], "models and migrations differ:\n" + "\n".join(differences)
    assert set(tables) == set(Base.metadata.tables) | {"alembic_version"}

    # Upgrading again is a no-op.
    await asyncio.to_thread(upgrade, empty_db.url)
    assert (await schema_is_current(empty_db.engine))[0] is True


async def test_tables_from_the_models_alone_are_not_current(db: Database) -> None:
    # create_all makes the tables but no alembic_version: `diaodu run` must still refuse such a database.
    current, revision, _head = await schema_is_current(db.engine)
    assert (current, revision) == (False, None)
