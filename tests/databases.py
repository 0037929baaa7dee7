"""The databases tests run on: the PostgreSQL server named by TEST_DATABASE_URL (when set), a backend's
URL, a fresh database with every table, and scratch databases of their own next to the configured one.

The TEST_DATABASE_URL database is emptied and re-created from the models by the tests that use it, so
it must be a database reserved for tests. When the tests run in several processes (pytest-xdist), each
process works on a database of its own next to it, named after it and the process (``test_gw0``), created
when missing and kept for the next run.

Creating some thirty-five tables takes PostgreSQL seconds on a busy machine, and hundreds of tests each want
them empty: a process creates them once (dropping whatever an earlier run left), then empties them between
tests with DELETE and restarts their id sequences, which gives the same clean slate in milliseconds. Rows
every test of a kind starts with (the sample ledger) are likewise written once per process, kept in a schema
of their own, and copied back in.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from storage.db import Database
from storage.models import Base

BACKENDS = ["sqlite", "postgresql"]


def configured_postgres_url() -> str | None:
    """TEST_DATABASE_URL with the async driver, or None when it is not set."""
    url = os.environ.get("TEST_DATABASE_URL", "").strip()
    if not url:
        return None
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+asyncpg://" + url[len(plain):]
    return url


def postgres_url() -> str | None:
    """The PostgreSQL URL to test against (async driver), or None when none is configured: TEST_DATABASE_URL,
    or in a pytest-xdist worker the worker's own database next to it (see worker_database)."""
    url = configured_postgres_url()
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if url is None or not worker:
        return url
    return url_for_database(url, worker_database(make_url(url).database or "", worker))


def worker_database(configured: str, worker: str) -> str:
    """The name of the database a pytest-xdist worker (``gw0``) tests on: the configured one's, suffixed."""
    return f"{configured}_{worker}"


def require_postgres() -> str:
    """postgres_url(); skips the test when PostgreSQL is not configured."""
    url = postgres_url()
    if url is None:
        pytest.skip("TEST_DATABASE_URL is not set")
    return url


def backend_url(backend: str) -> str:
    """The URL of a backend (in-memory for SQLite); skips the test when PostgreSQL is not configured."""
    if backend == "sqlite":
        return "sqlite+aiosqlite://"
    return require_postgres()


def url_for_database(server: str, name: str) -> str:
    """The URL of another database `name` on the same server as the URL `server`."""
    return make_url(server).set(database=name).render_as_string(hide_password=False)


_LOCK_KEY = 0x64696164  # any constant shared by every run of these tests
TURN_WAIT = "15min"  # how long a test waits for another run's test on the same database (taking_turns)


@dataclass(frozen=True)
class Rows:
    """Rows a fresh database starts with: what ``fill`` writes in an empty one. On PostgreSQL ``fill`` runs
    once per process and its rows are kept in the schema ``name`` to be copied into the next databases."""

    name: str
    fill: Callable[[Database], Awaitable[None]]


@asynccontextmanager
async def fresh_database(backend: str, rows: Rows | None = None) -> AsyncIterator[Database]:
    """A database of that backend with every table created from the models and no rows but ``rows`` (a fresh
    in-memory SQLite, or the TEST_DATABASE_URL PostgreSQL emptied, taking turns with other test runs)."""
    database = Database(backend_url(backend))
    try:
        async with taking_turns(database):
            if database.is_sqlite:
                await database.create_all()
                if rows is not None:
                    await rows.fill(database)
            else:
                await _empty_postgres(database, rows)
            yield database
    finally:
        await database.dispose()


# What this process made on each PostgreSQL database (by URL): the tables, and the schemas of kept rows.
_TABLES_MADE: set[str] = set()
_ROWS_KEPT: set[tuple[str, str]] = set()


async def _empty_postgres(database: Database, rows: Rows | None) -> None:
    """Empty the tables (creating them from the models the first time in this process, or when a test
    dropped them), then copy ``rows`` in (writing them the first time)."""
    if database.url in _TABLES_MADE:
        kept = rows is not None and (database.url, rows.name) in _ROWS_KEPT
        try:
            async with database.engine.begin() as conn:
                await conn.exec_driver_sql(_refill_sql(rows.name if kept and rows else None))
        except DBAPIError:  # a table is missing (the migration tests drop them all): start again
            _TABLES_MADE.discard(database.url)
        else:
            if rows is not None and not kept:
                await _keep_rows(database, rows)
            return
    # drop_all + create_all in one transaction: a clean slate, several times faster than two.
    async with database.engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
    _TABLES_MADE.add(database.url)
    if rows is not None:
        await _keep_rows(database, rows)


async def _keep_rows(database: Database, rows: Rows) -> None:
    """Write ``rows`` in the empty tables and keep a copy of every table in the schema ``rows.name``."""
    await rows.fill(database)
    copies = " ".join(f'CREATE TABLE "{rows.name}"."{table.name}" AS TABLE "{table.name}";'
                      for table in Base.metadata.sorted_tables)
    async with database.engine.begin() as conn:
        await conn.exec_driver_sql(f'DO $$ BEGIN DROP SCHEMA IF EXISTS "{rows.name}" CASCADE; '
                                   f'CREATE SCHEMA "{rows.name}"; {copies} END $$')
    _ROWS_KEPT.add((database.url, rows.name))


def _refill_sql(kept: str | None) -> str:
    """One statement that deletes every row of every table (children first), copies back the rows kept in
    the schema ``kept`` if any (parents first), and sets each id sequence where a fresh table would have it."""
    tables = Base.metadata.sorted_tables
    steps = [f'DELETE FROM "{table.name}";' for table in reversed(tables)]
    if kept is not None:
        for table in tables:
            if table.name == "ledger_marks":  # counters the triggers bump as the rows come back (storage.ledger_marks)
                continue
            columns = ", ".join(f'"{column.name}"' for column in table.columns)
            steps.append(f'INSERT INTO "{table.name}" ({columns}) SELECT {columns} FROM "{kept}"."{table.name}";')
    for table in tables:
        column = table.autoincrement_column
        if column is not None:
            steps.append(f"PERFORM setval(pg_get_serial_sequence('\"{table.name}\"', '{column.name}'), "
                         f'COALESCE((SELECT max("{column.name}") FROM "{table.name}"), 0) + 1, false);')
    return f"DO $$ BEGIN {' '.join(steps)} END $$"


@asynccontextmanager
async def taking_turns(database: Database) -> AsyncIterator[None]:
    """On PostgreSQL, hold an advisory lock for the whole test, so that two test runs sharing the
    database (which every test empties) wait for each other instead of tripping over each other.

    The lock is held for a whole test of the other run (seconds; a web test on a loaded machine more), so
    taking it waits up to ``TURN_WAIT``, not the engine's ``lock_timeout`` (``storage.db.LOCK_WAIT_SECONDS``,
    which bounds the bot's own row locks and made a test fail at set-up whenever the other run's test took
    longer). The connection gets the engine's bound back before the test uses the pool: an uncontended
    lock is taken at once, so this costs nothing when no other run is there."""
    if database.is_sqlite:
        yield
        return
    async with database.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("SELECT set_config('lock_timeout', :wait, false)"), {"wait": TURN_WAIT})
        try:
            await conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _LOCK_KEY})
        finally:
            await conn.execute(text("RESET lock_timeout"))  # back to the engine's (a setting of the connection)
        try:
            yield
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _LOCK_KEY})


# Databases of their own this process made and a test is done with, emptied, for the next test that wants one.
_SPARE_DATABASES: list[str] = []


@asynccontextmanager
async def database_of_its_own(prefix: str) -> AsyncIterator[str]:
    """A new, empty PostgreSQL database on TEST_DATABASE_URL's server: its URL. Skips the test when
    TEST_DATABASE_URL is not set; raises DBAPIError when the role may not create databases.

    Afterwards its connections are ended and its schema dropped and made again, and the next test of this
    process that wants one gets it, empty: dropping a database makes the server write every changed page to
    disk at once (a checkpoint), which took tens of seconds on a busy machine. The last ones are dropped when
    the process ends (drop_spare_databases)."""
    server = require_postgres()
    admin = create_async_engine(server, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        if _SPARE_DATABASES:
            name = _SPARE_DATABASES.pop()
        else:
            name = f"{prefix}_{secrets.token_hex(6)}"
            async with admin.connect() as conn:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
                await _without_waiting_for_the_disk(conn, name)
        url = url_for_database(server, name)
        try:
            yield url
        finally:
            async with admin.connect() as conn:
                await conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                        "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
            emptied = create_async_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
            try:
                async with emptied.connect() as conn:
                    await conn.execute(text("DROP SCHEMA public CASCADE"))
                    await conn.execute(text("CREATE SCHEMA public"))
            except DBAPIError:  # not to be emptied: dropped as before
                await _drop(server, [name])
            else:
                _SPARE_DATABASES.append(name)
            finally:
                await emptied.dispose()
    finally:
        await admin.dispose()


def drop_spare_databases() -> None:
    """Drop the databases of their own this process kept for its next tests (at the end of the run)."""
    server = configured_postgres_url()
    if server is None or not _SPARE_DATABASES:
        return
    with ThreadPoolExecutor(1) as pool:  # its own event loop: callers may be inside one
        pool.submit(asyncio.run, _drop(server, list(_SPARE_DATABASES))).result()
    _SPARE_DATABASES.clear()


async def _drop(server: str, names: list[str]) -> None:
    admin = create_async_engine(server, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            for name in names:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


def create_worker_database() -> None:
    """With TEST_DATABASE_URL set, make the database this process tests on ready: in a pytest-xdist worker,
    create it when missing (on the configured database's server, by a role that may create databases); and
    let its commits skip waiting for the disk (see _without_waiting_for_the_disk). Without it, nothing."""
    server, url = configured_postgres_url(), postgres_url()
    if server is None or url is None:
        return
    with ThreadPoolExecutor(1) as pool:  # its own event loop: callers may be inside one
        pool.submit(asyncio.run, _make_ready(server, make_url(url).database or "", create=url != server)).result()


async def _make_ready(server: str, name: str, *, create: bool) -> None:
    admin = create_async_engine(server, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            found = await conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name})
            if create and found.first() is None:
                try:
                    await conn.execute(text(f'CREATE DATABASE "{name}"'))
                except ProgrammingError as error:  # another run's worker of that name created it meanwhile
                    if getattr(error.orig, "sqlstate", None) != "42P04":
                        raise
            await _without_waiting_for_the_disk(conn, name)
    finally:
        await admin.dispose()


async def _without_waiting_for_the_disk(conn: AsyncConnection, name: str) -> None:
    """Sessions on the test database ``name`` commit without waiting for the disk (synchronous_commit off):
    what a test reads is the same, a crash of the server could lose the last commits of a test run, and each
    commit takes a few milliseconds less, which hundreds of tests of thousands of commits add up. A role that
    may not alter the database leaves it as it is."""
    try:
        await conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    except DBAPIError as error:
        if getattr(error.orig, "sqlstate", None) != "42501":  # insufficient privilege
            raise
