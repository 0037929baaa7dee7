"""What the processes of one deployment remember together, through the database (``storage.shared``).

``SharedMemory`` is the channels' handle on it: each call is one short transaction of its own, its "now"
from the injected clock. ``SharedWindow`` is a rate window ("at most 20 messages a minute to this group
robot") counted over every process, with the interface of ``bot.channels.wecom.windows.SlidingWindow``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Hashable
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.channels.base import PermanentError, RetryLater
from bot.clock import Clock
from storage import shared
from storage.db import Database

log = logging.getLogger(__name__)
SLOT_RACE_TRIES = 5
PURGE_EVERY = timedelta(minutes=10)


class SharedMemory:
    """Marks, values and rate windows shared by every process of the database ``db``."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self._next_purge: datetime | None = None

    async def first_sighting(self, name: str, *, ttl: float) -> bool:
        """True the first time any process asks about ``name`` within ``ttl`` seconds (committed before
        this returns, so the others see it at once). Every ``PURGE_EVERY`` it also deletes the expired
        marks, so that the table holds about the last ``ttl`` seconds' worth of messages."""
        now = self.clock.now()
        async with self.db.session() as session:
            if self._next_purge is None or now >= self._next_purge:
                self._next_purge = now + PURGE_EVERY
                await shared.purge(session, now=now)
            return await shared.first_sighting(session, name=name, now=now, ttl=timedelta(seconds=ttl))

    async def put(self, name: str, value: Any, *, ttl: float) -> None:
        async with self.db.session() as session:
            await shared.put(session, name=name, value=value, now=self.clock.now(), ttl=timedelta(seconds=ttl))

    async def get(self, name: str) -> Any:
        async with self.db.session() as session:
            return await shared.get(session, name=name, now=self.clock.now())

    async def forget(self, name: str) -> None:
        async with self.db.session() as session:
            await shared.forget(session, name=name)

    async def take_slots(self, window: str, n: int, *, limit: int, period: float) -> float:
        """``storage.shared.take_slots`` in a transaction of its own: 0.0 when taken, else seconds to wait."""
        for _ in range(SLOT_RACE_TRIES):
            try:
                async with self.db.session() as session:
                    return await shared.take_slots(session, window=window, n=n, limit=limit,
                                                   period=timedelta(seconds=period), now=self.clock.now())
            except shared.SlotsTaken:
                continue
        return 0.05  # lost the race every time: look again shortly


class LocalWindow(Protocol):
    """A rate window counted in this process (``bot.channels.wecom.windows.SlidingWindow``)."""

    async def acquire(self, key: Hashable, n: int = 1, *, max_wait: float) -> None: ...


class SharedWindow:
    """At most ``limit`` events per key in any ``period`` seconds, counted over every process.

    ``acquire`` takes ``n`` slots, waiting up to ``max_wait`` seconds (real time) for them, and raises
    ``RetryLater`` when that is not enough, like the in-process window it replaces. When the database
    cannot be asked (locked, gone), the ``fallback`` window, counted in this process, decides instead,
    so that a reply still goes out (logged; without a fallback the error is raised).
    """

    def __init__(self, memory: SharedMemory, name: str, limit: int, period: float, *,
                 fallback: LocalWindow | None = None) -> None:
        if limit < 1 or period <= 0:
            raise ValueError("limit and period must be positive")
        self.memory = memory
        self.name = name
        self.limit = limit
        self.period = period
        self.fallback = fallback

    async def acquire(self, key: Hashable, n: int = 1, *, max_wait: float) -> None:
        if n > self.limit:
            raise PermanentError(f"{n} messages at once exceed the limit of {self.limit} per {self.period:g} s")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_wait
        while True:
            try:
                wait = await self.memory.take_slots(f"{self.name}:{key}", n, limit=self.limit, period=self.period)
            except Exception:
                if self.fallback is None:
                    raise
                log.warning("could not count %s:%s in the database; counting in this process", self.name, key,
                            exc_info=True)
                await self.fallback.acquire(key, n, max_wait=max(0.0, deadline - loop.time()))
                return
            if wait <= 0:
                return
            left = deadline - loop.time()
            if wait > left:
                raise RetryLater(wait, f"over {self.limit} messages per {self.period:g} s to {key}")
            await asyncio.sleep(wait)
