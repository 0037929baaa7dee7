"""Send slots handed out oldest first: a semaphore whose waiters are served by a key, not by arrival."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any


class OldestFirstSlots:
    """At most ``size`` holders at once; when a slot frees up, the waiter with the smallest key gets it
    (ties: the one that came first).

    The outbox sender keys its rows by age, so a row retried after a failure, which is older than the rows
    claimed after it, takes the next free send slot instead of queueing behind all of them. A waiter that
    is cancelled leaves the queue; one cancelled just as it was handed a slot passes the slot on.
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("there must be at least one slot")
        self.size = size
        self._free = size
        self._waiters: list[tuple[Any, int, asyncio.Future[None]]] = []
        self._arrival = itertools.count()

    @property
    def waiting(self) -> int:
        """How many are waiting for a slot."""
        return sum(1 for _key, _n, future in self._waiters if not future.done())

    @asynccontextmanager
    async def slot(self, key: Any) -> AsyncIterator[None]:
        """Hold a slot for the ``async with`` block, waiting for one by ``key`` (smallest first)."""
        await self._acquire(key)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, key: Any) -> None:
        if self._free > 0 and not self.waiting:
            self._free -= 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (key, next(self._arrival), future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self._release()  # handed a slot just as it was cancelled: pass it on
            raise

    def _release(self) -> None:
        """Give a slot to the first waiter still waiting, or back to the free ones."""
        while self._waiters:
            _key, _n, future = heapq.heappop(self._waiters)
            if not future.done():
                future.set_result(None)
                return
        self._free += 1
