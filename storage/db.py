"""The database handle: engine, units of work (sessions), SQLite pragmas, and how writers wait for each other.

Everything goes through SQLAlchemy's public asyncio API (``AsyncEngine``, ``AsyncSession``) over the stock
drivers: aiosqlite for SQLite, asyncpg for PostgreSQL. A unit of work is one ``AsyncSession`` from
``async_sessionmaker(engine, expire_on_commit=False)``: committed when its block ends, rolled back on any
error, its connection given back to the pool however it ends (cancellation included).

How writers wait (one rule, stated here and in the README):

- **SQLite file.** SQLite itself is the one writer lock: a transaction takes it with its first write
  (Python's sqlite3 begins the transaction right before the first INSERT/UPDATE/DELETE, so reads before it
  never hold up anybody) and keeps it until commit. A writer that finds it taken waits in its connection's
  own thread, off the event loop, for at most ``lock_wait`` seconds (``PRAGMA busy_timeout``, set once per
  connection by a ``connect`` listener), then fails with ``database is locked``; the router answers such a
  message with "not saved, try again". There is no lock of the program's own on top of it.
- **SQLite in memory** (tests, the demo's throw-away runs): the pool is one shared connection, on which two
  transactions must never overlap, so every unit of work takes its turn on ``Database``'s one
  ``asyncio.Lock``. That lock exists only for in-memory databases.
- **PostgreSQL.** Row locks and unique indexes do the work (and the ledger import's 确认 locks the change marks
  of the tables it checks before checking them: ``storage.ledger_marks``); a statement waiting for a lock gives up
  after ``lock_wait`` seconds (``lock_timeout``), with the same result for the user.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker
from sqlalchemy.pool import StaticPool

from storage.files import create_private_file
from storage.models import Base

LOCK_WAIT_SECONDS = 5.0  # how long a write waits for another transaction's lock before it fails


def _in_memory(url: str) -> bool:
    return url.rstrip("/").endswith("sqlite+aiosqlite:") or ":memory:" in url


def _sqlite_pragmas(lock_wait: float) -> Any:
    """A ``connect`` listener: the pragmas every new SQLite connection gets, once."""

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(lock_wait * 1000)}")
        cursor.close()

    return on_connect


def make_engine(url: str, *, lock_wait: float = LOCK_WAIT_SECONDS) -> AsyncEngine:
    """An async engine for SQLite (WAL, foreign keys on, bounded lock wait) or PostgreSQL (asyncpg, bounded
    lock wait)."""
    if url.startswith("sqlite"):
        in_memory = _in_memory(url)
        if not in_memory:
            path = Path(url.split(":///", 1)[1].split("?", 1)[0])
            path.parent.mkdir(parents=True, exist_ok=True)
            create_private_file(path)  # 0600, and so are the -wal and -shm SQLite makes beside it
        kwargs: dict[str, Any] = {"poolclass": StaticPool} if in_memory else {}
        engine = create_async_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(lock_wait))
        return engine
    settings = {"lock_timeout": str(int(lock_wait * 1000))}
    return create_async_engine(url, pool_pre_ping=True, connect_args={"server_settings": settings})


# Sessions note whether they wrote anything (an INSERT, UPDATE or DELETE, or an ORM flush): the router records
# a message as handled only when it changed something (storage.processed). Events on a `sessionmaker` given
# as the `sync_session_class`, as SQLAlchemy's asyncio documentation shows.
_TRACKED = sessionmaker()
_WROTE = "wrote"


@event.listens_for(_TRACKED, "do_orm_execute")
def _note_statement(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_WROTE] = True


@event.listens_for(_TRACKED, "after_flush")
def _note_flush(session: Session, _context: Any) -> None:
    session.info[_WROTE] = True


def note_written(session: AsyncSession) -> None:
    """Count the session as having written (statements run on its connection directly, not through it)."""
    session.info[_WROTE] = True


def wrote(session: AsyncSession) -> bool:
    """Whether the session has written anything so far (ORM changes count once flushed: flush first)."""
    return bool(session.info.get(_WROTE))


class Database:
    """Owns the engine; hands out units of work (sessions). See the module docstring for how writers wait."""

    def __init__(self, url: str, *, lock_wait: float = LOCK_WAIT_SECONDS) -> None:
        self.url = url
        self.lock_wait = lock_wait
        self.engine = make_engine(url, lock_wait=lock_wait)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, sync_session_class=_TRACKED)
        # The one lock of the program's own: only for an in-memory SQLite database (one shared connection).
        self._shared_connection = asyncio.Lock() if self.is_sqlite and _in_memory(url) else None

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def in_memory(self) -> bool:
        """An in-memory SQLite database: only this engine (this process) can reach it."""
        return self._shared_connection is not None

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: committed when the block ends, rolled back on error."""
        async with self._shared_connection or nullcontext(), self.sessions() as session, session.begin():
            yield session

    async def create_all(self) -> None:
        """Create every table from the models (tests; real databases use migrations)."""
        async with self.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)

    async def drop_all(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)

    async def dispose(self) -> None:
        await self.engine.dispose()
