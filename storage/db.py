"""The database handle: engine, session scope, SQLite pragmas and the schema-version check."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager, nullcontext
from functools import partial
from pathlib import Path
from threading import Thread
from typing import Any

import aiosqlite
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import StaticPool

from storage.files import create_private_file
from storage.models import Base

BUSY_TIMEOUT_MS = 10_000  # how long a SQLite statement waits for another connection's lock
WAL_AUTOCHECKPOINT = 1000  # pages of WAL after which a commit checkpoints (SQLite's default)
INLINE_COMMITS_PER_CHECKPOINT = 100  # small commits on the event loop (a report: about 5 pages) between checkpoints
# How a connection waits for locks and checkpoints: in its own thread (as opened), and on the event loop
# (storage.direct's writes there: never wait for a lock, never checkpoint).
_THREAD_PRAGMAS = (f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}", f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT}")
_LOOP_PRAGMAS = ("PRAGMA busy_timeout=0", "PRAGMA wal_autocheckpoint=0")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    for pragma in _THREAD_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


# --- SQLite: one thread hop per statement ---------------------------------------------------------------
#
# aiosqlite runs the sqlite3 connection in a thread of its own; every call is a hop there and back. Through
# SQLAlchemy's adapter a statement costs four (create the cursor, execute, fetch, close) and every commit
# and every return to the pool (a rollback) one more, even when no transaction is open. Those hops, not
# SQLite, are most of the time of a small statement. The connection below runs a statement in one hop
# (cursor, execute, fetch every row, close, all in the thread) and skips commit/rollback when SQLite has no
# transaction open (sqlite3's own commit and rollback do nothing then: Python's default, legacy transaction
# control). Everything still happens in the connection's own thread, in the same order. Rows are fetched
# whole, server-side cursors included (nothing here streams large results).
# Direct statements (storage.direct) skip even that hop: they run in the calling thread (`run_inline`,
# `write_inline`, which never wait there for a lock or a checkpoint).


class _PrefetchedCursor:
    """What SQLAlchemy's aiosqlite adapter needs of a cursor; rows are fetched with the execute."""

    arraysize = 1

    def __init__(self, connection: _OneHopConnection) -> None:
        self._connection = connection
        self._rows: deque[Any] = deque()
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None

    async def __aenter__(self) -> _PrefetchedCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    def _run(self, method: str, sql: str, parameters: Any) -> None:
        """In the connection's thread: execute, keep what the cursor reports, fetch everything, close."""
        cursor = self._connection._conn.cursor()
        try:
            getattr(cursor, method)(sql, parameters)
            self.description, self.rowcount = cursor.description, cursor.rowcount
            self.lastrowid = cursor.lastrowid
            self._rows = deque(cursor.fetchall()) if cursor.description else deque()
        finally:
            cursor.close()

    async def execute(self, sql: str, parameters: Any = None) -> _PrefetchedCursor:
        await self._connection._execute(self._run, "execute", sql, () if parameters is None else parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> _PrefetchedCursor:
        await self._connection._execute(self._run, "executemany", sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        count = min(len(self._rows), self.arraysize if size is None else size)
        return [self._rows.popleft() for _ in range(count)]

    async def fetchall(self) -> Sequence[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    async def close(self) -> None:
        self._rows.clear()

    async def nextset(self) -> None:
        return None

    def __aiter__(self) -> _PrefetchedCursor:
        return self

    async def __anext__(self) -> Any:
        if not self._rows:
            raise StopAsyncIteration
        return self._rows.popleft()


class WouldWait(Exception):
    """A read or write on the event loop would have had to wait for another connection's lock; nothing was
    written (`run_inline`, `write_inline`)."""


class _OneHopConnection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors take one hop per statement (see above)."""

    inline_commits = 0  # commits by `write_inline` since the last `checkpoint`
    # Set for the event loop by `write_inline`; set back for the thread before the thread next runs anything.
    # Between two writes on the loop (a report after a report) nothing runs in the thread, so nothing is set.
    tuned_for_loop = False

    def cursor(self) -> _PrefetchedCursor:  # type: ignore[override]
        return _PrefetchedCursor(self)

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Everything aiosqlite runs in the connection's thread comes here."""
        if self.tuned_for_loop:
            self.tuned_for_loop = False
            return await super()._execute(self._tuned_for_thread, fn, *args, **kwargs)
        return await super()._execute(fn, *args, **kwargs)

    def _tuned_for_thread(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        for pragma in _THREAD_PRAGMAS:
            self._conn.execute(pragma)
        return fn(*args, **kwargs)

    async def commit(self) -> None:
        if self._conn.in_transaction:
            await super().commit()

    async def rollback(self) -> None:
        if self._conn.in_transaction:
            await super().rollback()

    async def run_in_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(sqlite3_connection, *args)`` in the connection's thread, in one hop (see storage.direct)."""
        return await self._execute(fn, self._conn, *args)

    def run_inline(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(sqlite3_connection, *args)`` in the calling thread, for short reads while nothing else runs
        on this connection (see storage.direct). Raises `WouldWait` if they met a lock they were not to
        wait for there (readers seldom meet one in WAL mode); they have changed nothing."""
        try:
            return fn(self._conn, *args)
        except sqlite3.OperationalError as error:
            if self.tuned_for_loop and _is_busy(error):
                raise WouldWait from error
            raise

    def write_inline(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(sqlite3_connection, *args)``, a few small writes (and perhaps the commit), in the calling
        thread, without ever waiting there (see storage.direct):

        - for SQLite's write lock: if another connection holds it, the transaction this call began is rolled
          back and `WouldWait` raised, for the caller to write in the connection's thread, where waiting is
          fine (while this connection holds the lock already, from earlier writes, there is nothing to wait
          for);
        - for a checkpoint (copying the WAL into the database and syncing the disk): a commit here makes
          none; `checkpoint_due` says when to run one in the thread instead.

        The connection stays set so (`tuned_for_loop`) until it next runs something in its thread.
        """
        connection = self._conn
        locked_already = connection.in_transaction  # legacy transaction control: only writes begin one
        if not self.tuned_for_loop:
            for pragma in _LOOP_PRAGMAS:
                connection.execute(pragma)
            self.tuned_for_loop = True
        try:
            result = fn(connection, *args)
        except sqlite3.OperationalError as error:
            if not locked_already and _is_busy(error):
                connection.rollback()
                raise WouldWait from error
            raise
        if not connection.in_transaction:
            self.inline_commits += 1
        return result

    def checkpoint_due(self) -> bool:
        """Whether enough commits were made by `write_inline` for a checkpoint to be run (`checkpoint`)."""
        return self.inline_commits >= INLINE_COMMITS_PER_CHECKPOINT

    async def checkpoint(self) -> None:
        """A passive checkpoint (it never waits for readers or writers), in the connection's thread."""
        self.inline_commits = 0
        await self._execute(_passive_checkpoint, self._conn)


def _is_busy(error: sqlite3.OperationalError) -> bool:
    """SQLite could not get a lock another connection holds."""
    return error.sqlite_errorcode & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _passive_checkpoint(connection: sqlite3.Connection) -> None:
    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


async def _connect_one_hop(database: str, **kwargs: Any) -> _OneHopConnection:
    """Like `aiosqlite.connect`, with `_OneHopConnection`."""
    connection = _OneHopConnection(partial(sqlite3.connect, database, **kwargs), iter_chunk_size=64)
    # As SQLAlchemy does for aiosqlite's own connections (before 0.22 the connection was the thread).
    thread = connection if isinstance(connection, Thread) else connection._thread
    thread.daemon = True
    return await connection


def _one_hop_creator(url: str, connect_args: dict[str, Any]) -> Callable[[], Awaitable[_OneHopConnection]]:
    """An `async_creator` giving `_OneHopConnection`s, opened with the arguments SQLAlchemy would give
    `aiosqlite.connect` for this URL."""
    sa_url = make_url(url)
    cargs, cparams = sa_url.get_dialect()().create_connect_args(sa_url)
    cparams = {**cparams, **connect_args}
    return partial(_connect_one_hop, *cargs, **cparams)


def _in_memory(url: str) -> bool:
    return url.rstrip("/").endswith("sqlite+aiosqlite:") or ":memory:" in url


def make_engine(url: str) -> AsyncEngine:
    """An async engine for SQLite (WAL, foreign keys on) or PostgreSQL (asyncpg)."""
    if url.startswith("sqlite"):
        in_memory = _in_memory(url)
        if not in_memory:
            path = Path(url.split(":///", 1)[1].split("?", 1)[0])
            path.parent.mkdir(parents=True, exist_ok=True)
            create_private_file(path)  # 0600, and so are the -wal and -shm SQLite makes beside it
        kwargs: dict[str, Any] = {"poolclass": StaticPool} if in_memory else {}
        connect_args = {"check_same_thread": False}
        engine = create_async_engine(url, connect_args=connect_args,
                                     async_creator=_one_hop_creator(url, connect_args), **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_pre_ping=True)


class Unit:
    """One unit of work on one connection, as the router uses it: an ORM session only if something asks.

    Direct statements (storage.direct) given the unit run on its connection at once. ``session`` opens an
    ORM session on the same connection and transaction the first time it is read; most messages need one
    (handlers pass ``session`` to the repository functions), a one-shot report does not, and opening and
    closing an ORM session costs more than the report's own statements.
    """

    def __init__(self, connection: AsyncConnection, driver: Any) -> None:
        self.connection = connection
        self.driver = driver  # the DBAPI connection (aiosqlite's on SQLite)
        self.dialect = connection.dialect
        self.opened: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        if self.opened is None:
            # Joins the connection's transaction: the unit, not the session, commits or rolls back.
            self.opened = AsyncSession(bind=self.connection, expire_on_commit=False,
                                       join_transaction_mode="rollback_only")
        return self.opened


class Database:
    """Owns the engine; hands out transactional sessions."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time: sessions asked to (`take_turn`) wait for each other here rather
        # than contend for its write lock. An in-memory database is one shared connection on which
        # transactions must not overlap at all: there every unit of work takes its turn.
        self._turn = asyncio.Lock() if self.is_sqlite else None
        self._always_take_turns = self.is_sqlite and _in_memory(url)

    def _turn_for(self, take_turn: bool) -> asyncio.Lock | nullcontext[None]:
        if self._turn is not None and (take_turn or self._always_take_turns):
            return self._turn
        return nullcontext()

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def session(self, *, take_turn: bool = False) -> AsyncIterator[AsyncSession]:
        """One unit of work: committed when the block ends, rolled back on error. With `take_turn` (for a
        busy writer such as the outbox sender), on SQLite it waits for the other sessions taking turns."""
        async with self._turn_for(take_turn), self._sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[Unit]:
        """One unit of work like `session`, on a connection, with an ORM session only when asked (`Unit`).

        The transaction begins with the unit's first statement (SQLAlchemy's autobegin; on SQLite, direct
        statements bypass SQLAlchemy and SQLite begins before the first write), so a unit with nothing to
        commit (direct reads only, or its last writes committed already: storage.direct) ends without one."""
        async with self._turn_for(False):
            connection = await self.engine.connect().start()
            unit = Unit(connection, connection.sync_connection.connection.driver_connection)
            try:
                yield unit
                if unit.opened is not None:
                    await unit.opened.flush()
                if connection.in_transaction():
                    await connection.commit()
                elif self.is_sqlite and unit.driver.in_transaction:
                    await unit.driver.commit()  # written by direct statements only
            except BaseException:
                if connection.in_transaction():
                    await connection.rollback()
                elif self.is_sqlite and unit.driver.in_transaction:
                    await unit.driver.rollback()
                raise
            finally:
                try:
                    if unit.opened is not None:
                        await unit.opened.close()
                finally:
                    await self._close(unit)

    async def _close(self, unit: Unit) -> None:
        """Give a unit's connection back to the pool, all the way even if the task is cancelled meanwhile.

        SQLAlchemy's ``async with`` closes in a task of its own for that, at the cost of a task and two turns
        of the event loop. A SQLite connection with no transaction open has nothing to roll back: its close
        never waits, so nothing can cancel it halfway, and it is closed right here.
        """
        connection = unit.connection
        try:
            settled = self.is_sqlite and not connection.in_transaction() and not unit.driver.in_transaction
        except ValueError:  # aiosqlite: the connection is closed already
            settled = False
        if settled:
            await connection.close()
        else:
            await connection.__aexit__(None, None, None)  # SQLAlchemy's own close, in a task of its own

    async def create_all(self) -> None:
        """Create every table from the models (tests; real databases use migrations)."""
        async with self.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)

    async def drop_all(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)

    async def dispose(self) -> None:
        await self.engine.dispose()
