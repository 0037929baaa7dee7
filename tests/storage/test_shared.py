"""storage.shared: marks, values and rate-window slots every process shares, each until it expires; and
bot.services.shared_memory on top (one transaction a call, a window over several engines)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.channels.base import RetryLater
from bot.clock import SHANGHAI, FrozenClock
from bot.services.shared_memory import PURGE_EVERY, SharedMemory, SharedWindow
from storage import shared
from storage.db import Database
from storage.models import SharedMark
from tests.databases import BACKENDS, fresh_database

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)
MINUTE = timedelta(minutes=1)


@pytest.fixture(params=BACKENDS)
async def db(request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    async with fresh_database(request.param) as database:
        yield database


async def marks(db: Database) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(SharedMark)) or 0)


async def test_a_key_is_new_once_until_it_expires(db: Database) -> None:
    async with db.session() as session:
        assert await shared.first_sighting(session, name="m:1", now=NOW, ttl=MINUTE)
    async with db.session() as session:
        assert not await shared.first_sighting(session, name="m:1", now=NOW + timedelta(seconds=59), ttl=MINUTE)
        assert await shared.first_sighting(session, name="m:2", now=NOW, ttl=MINUTE)
    async with db.session() as session:  # expired: new again, and remembered anew
        assert await shared.first_sighting(session, name="m:1", now=NOW + MINUTE, ttl=MINUTE)
        assert not await shared.first_sighting(session, name="m:1", now=NOW + MINUTE, ttl=MINUTE)


async def test_of_many_asking_at_once_exactly_one_sees_a_key_as_new(db: Database) -> None:
    if db.is_sqlite:  # one in-memory connection: the callers take turns anyway
        pytest.skip("needs concurrent connections")
    memory = SharedMemory(db, FrozenClock(NOW))
    answers = await asyncio.gather(*(memory.first_sighting("m:race", ttl=60) for _ in range(12)))
    assert sorted(answers) == [False] * 11 + [True]


async def test_values_are_kept_replaced_and_expire(db: Database) -> None:
    async with db.session() as session:
        await shared.put(session, name="numbers:u1", value=[["用地", "iss:c:0"]], now=NOW, ttl=MINUTE)
        await shared.put(session, name="numbers:u1", value=[["资金", "iss:c:2"]], now=NOW, ttl=MINUTE)
    async with db.session() as session:
        assert await shared.get(session, name="numbers:u1", now=NOW) == [["资金", "iss:c:2"]]
        assert await shared.get(session, name="numbers:u1", now=NOW + MINUTE) is None
        assert await shared.get(session, name="numbers:u2", now=NOW) is None
        await shared.forget(session, name="numbers:u1")
        assert await shared.get(session, name="numbers:u1", now=NOW) is None


async def test_slots_of_a_window(db: Database) -> None:
    async def take(n: int, at: datetime) -> float:
        async with db.session() as session:
            return await shared.take_slots(session, window="robot:项目办", n=n, limit=3, period=MINUTE, now=at)

    assert await take(2, NOW) == 0.0
    assert await take(1, NOW + timedelta(seconds=10)) == 0.0
    assert await take(1, NOW + timedelta(seconds=20)) == pytest.approx(40)  # the first two free at 60 s
    assert await take(2, NOW + timedelta(seconds=20)) == pytest.approx(40)
    assert await take(3, NOW + timedelta(seconds=20)) == pytest.approx(50)  # the third frees at 70 s
    assert await take(2, NOW + MINUTE) == 0.0  # nothing was taken by the refusals
    with pytest.raises(ValueError):
        await take(4, NOW)


async def test_a_large_window_writes_only_the_slots_taken(db: Database) -> None:
    # A WeCom member's hourly window has 1,000 slots, asked about for every message: writing them all each
    # time held SQLite's write lock and the event loop for tens of milliseconds a message.
    async def take(n: int, at: datetime) -> float:
        async with db.session() as session:
            return await shared.take_slots(session, window="wecom-member-hour:u1", n=n, limit=1000,
                                           period=timedelta(hours=1), now=at)

    assert await take(1, NOW) == 0.0
    assert await take(2, NOW + timedelta(seconds=1)) == 0.0
    assert await marks(db) == 3
    assert await take(997, NOW + timedelta(seconds=2)) == 0.0
    assert await marks(db) == 1000
    assert await take(1, NOW + timedelta(seconds=3)) == pytest.approx(3600 - 3)  # the first frees after the hour
    assert await take(2, NOW + timedelta(hours=1)) == pytest.approx(1)  # only one is free then
    assert await take(3, NOW + timedelta(hours=1, seconds=1)) == 0.0
    assert await marks(db) == 1000


async def test_a_shared_window_over_two_engines_and_the_purge(db: Database) -> None:
    clock = FrozenClock(NOW)
    one = SharedMemory(db, clock)
    other = SharedMemory(Database(db.url), clock) if not db.is_sqlite else one
    try:
        windows = [SharedWindow(m, "robot", 4, 60) for m in (one, other)]
        for n in range(4):
            await windows[n % 2].acquire("项目办", max_wait=0)
        with pytest.raises(RetryLater) as raised:
            await windows[1].acquire("项目办", max_wait=0)
        assert raised.value.after_seconds == pytest.approx(60)
        await windows[0].acquire("领导小组", 4, max_wait=0)  # another robot has its own window

        assert await one.first_sighting("m:1", ttl=30)
        before = await marks(db)
        clock.advance(seconds=PURGE_EVERY.total_seconds())
        assert await one.first_sighting("m:2", ttl=30)  # purges what expired: every mark but m:2
        assert (before, await marks(db)) == (4 + 4 + 1, 1)
    finally:
        if other is not one:
            await other.db.dispose()


async def test_a_shared_window_counts_in_this_process_while_the_database_cannot_say(db: Database) -> None:
    from bot.channels.wecom.windows import SlidingWindow

    clock = FrozenClock(datetime(2026, 11, 20, 10, tzinfo=SHANGHAI))
    memory = SharedMemory(db, clock)
    window = SharedWindow(memory, "wecom-member", 2, 60, fallback=SlidingWindow(2, 60))
    await db.dispose()
    broken = Database("sqlite+aiosqlite:////nonexistent-dir/nothing.sqlite3")
    memory.db = broken  # every question to the database fails now
    try:
        await window.acquire("haofang", 2, max_wait=0.0)  # a reply still goes out, counted here
        with pytest.raises(RetryLater):
            await window.acquire("haofang", 1, max_wait=0.0)  # …and the limit still holds
        without = SharedWindow(memory, "wecom-robot", 2, 60)
        with pytest.raises(Exception, match="shared_marks|unable to open"):
            await without.acquire("组", 1, max_wait=0.0)
    finally:
        await broken.dispose()
