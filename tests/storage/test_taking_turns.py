"""Two test runs sharing one PostgreSQL database take turns (``tests.databases.taking_turns``): a test waits for
the other run's test however long that takes, not the engine's ``lock_timeout`` (which bounds the bot's own
locks, and failed web tests at set-up on a loaded machine when the other run's test took longer); its
connections keep the engine's bound."""

from __future__ import annotations

import asyncio

import asyncpg
from sqlalchemy import text

from storage.db import Database
from tests.databases import _LOCK_KEY, require_postgres, taking_turns


async def test_a_test_waits_for_the_other_runs_test_longer_than_the_lock_wait() -> None:
    url = require_postgres()
    other = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    database = Database(url, lock_wait=0.2)
    try:
        await other.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)  # the other run's test is running

        async def other_test_ends() -> None:
            await asyncio.sleep(1.0)  # five times the engine's lock wait
            await other.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)

        ending = asyncio.create_task(other_test_ends())
        async with taking_turns(database):
            assert ending.done()  # it waited for it
            async with database.engine.connect() as conn:  # the test's own statements keep the bound
                assert (await conn.execute(text("SHOW lock_timeout"))).scalar_one() == "200ms"
        await ending
    finally:
        await other.close()
        await database.dispose()
