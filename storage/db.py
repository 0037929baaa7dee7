"""The database handle: engine, session scope, SQLite pragmas and the schema-version check."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import StaticPool

from storage.models import Base


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _in_memory(url: str) -> bool:
    return url.rstrip("/").endswith("sqlite+aiosqlite:") or ":memory:" in url


def make_engine(url: str) -> AsyncEngine:
    """An async engine for SQLite (WAL, foreign keys on) or PostgreSQL (asyncpg)."""
    if url.startswith("sqlite"):
        in_memory = _in_memory(url)
        if not in_memory:
            path = Path(url.split(":///", 1)[1])
            path.parent.mkdir(parents=True, exist_ok=True)
        kwargs: dict[str, Any] = {"poolclass": StaticPool} if in_memory else {}
        engine = create_async_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_pre_ping=True)


class Database:
    """Owns the engine; hands out transactional sessions."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # An in-memory SQLite database is one shared connection: transactions must take turns on it.
        self._turn = asyncio.Lock() if self.is_sqlite and _in_memory(url) else None

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: committed when the block ends, rolled back on error."""
        if self._turn is None:
            async with self._sessions() as session, session.begin():
                yield session
            return
        async with self._turn, self._sessions() as session, session.begin():
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
