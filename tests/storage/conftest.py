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
from tests.databases import BACKENDS, fresh_database

from .factories import NOW


@pytest.fixture(params=BACKENDS)
async def db(request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    """A database with every table created from the models and no rows."""
    async with fresh_database(request.param) as database:
        yield database


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def actor() -> Actor:
    """Who runs the imports in these tests."""
    return Actor(label="测试管理员", channel="cli")
