"""The databases tests run on: the PostgreSQL server named by TEST_DATABASE_URL (when set), a backend's
URL, a fresh database with every table, and scratch databases of their own next to the configured one.

The TEST_DATABASE_URL database is emptied and re-created from the models by the tests that use it, so
it must be a database reserved for tests. When the tests run in several processes (pytest-xdist), each
process works on a database of its own next to it, named after it and the process (``test_gw0``), created
when missing and kept for the next run.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import create_async_engine
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


@asynccontextmanager
async def fresh_database(backend: str) -> AsyncIterator[Database]:
    """A database of that backend with every table created from the models and no rows (a fresh in-memory
    SQLite, or the TEST_DATABASE_URL PostgreSQL emptied, taking turns with other test runs)."""
    database = Database(backend_url(backend))
    try:
        async with taking_turns(database):
            if database.is_sqlite:
                await database.create_all()
            else:
                # drop_all + create_all in one transaction: a clean slate, several times faster than two.
                async with database.engine.begin() as conn:
                    await conn.run_sync(Base.metadata.drop_all)
                    await conn.run_sync(Base.metadata.create_all)
            yield database
    finally:
        await database.dispose()


@asynccontextmanager
async def taking_turns(database: Database) -> AsyncIterator[None]:
    """On PostgreSQL, hold an advisory lock for the whole test, so that two test runs sharing the
    database (which every test empties) wait for each other instead of tripping over each other."""
    if database.is_sqlite:
        yield
        return
    async with database.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _LOCK_KEY})
        try:
            yield
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _LOCK_KEY})


@asynccontextmanager
async def database_of_its_own(prefix: str) -> AsyncIterator[str]:
    """A new, empty PostgreSQL database on TEST_DATABASE_URL's server (dropped afterwards): its URL. Skips
    the test when TEST_DATABASE_URL is not set; raises DBAPIError when the role may not create databases."""
    server = require_postgres()
    name = f"{prefix}_{secrets.token_hex(6)}"
    admin = create_async_engine(server, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield url_for_database(server, name)
        finally:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


def create_worker_database() -> None:
    """In a pytest-xdist worker with TEST_DATABASE_URL set, create the worker's database when it is missing
    (on the configured database's server, by a role that may create databases). Anywhere else, nothing."""
    server, url = configured_postgres_url(), postgres_url()
    if server is None or url == server:
        return
    with ThreadPoolExecutor(1) as pool:  # its own event loop: callers may be inside one
        pool.submit(asyncio.run, _create_if_missing(server, make_url(url).database or "")).result()


async def _create_if_missing(server: str, name: str) -> None:
    admin = create_async_engine(server, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            found = await conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name})
            if found.first() is None:
                try:
                    await conn.execute(text(f'CREATE DATABASE "{name}"'))
                except ProgrammingError as error:  # another run's worker of that name created it meanwhile
                    if getattr(error.orig, "sqlstate", None) != "42P04":
                        raise
    finally:
        await admin.dispose()
