"""Fixtures of the storage tests.

Every test that takes ``db`` runs twice: on a fresh in-memory SQLite database, and on PostgreSQL
when the environment variable TEST_DATABASE_URL names one (that run is skipped otherwise). The
PostgreSQL database is emptied and re-created from the models before every test, so it must be a
database reserved for tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.clock import FrozenClock
from storage.audit import Actor
from storage.db import Database
from storage.models import Base

from .factories import BACKENDS, NOW, backend_url, taking_turns


@pytest.fixture(params=BACKENDS)
async def db(request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    """A database with every table created from the models and no rows."""
    database = Database(backend_url(request.param))
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


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def actor() -> Actor:
    """Who runs the imports in these tests."""
    return Actor(label="测试管理员", channel="cli")
