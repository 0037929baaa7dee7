"""Small in-process tools of the WeCom channel: :class:`TtlCache` (bounded, expiring; callback dedupe,
button memories) and :class:`SlidingWindow` (at most N sends per key in any window of T seconds; WeCom drops
messages over its per-member and per-robot limits silently, so the limit is enforced before sending)."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from bot.channels.base import PermanentError, RetryLater

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """A bounded mapping whose entries expire ``ttl`` seconds after they were set (oldest evicted first)."""

    def __init__(self, *, ttl: float, max_items: int,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if ttl <= 0 or max_items < 1:
            raise ValueError("ttl and max_items must be positive")
        self.ttl = ttl
        self.max_items = max_items
        self._monotonic = monotonic
        self._items: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def _expire(self) -> None:
        now = self._monotonic()
        while self._items:
            key, (expires, _value) = next(iter(self._items.items()))
            if expires > now:
                break
            del self._items[key]

    def get(self, key: K, default: V | None = None) -> V | None:
        self._expire()
        found = self._items.get(key)
        return default if found is None else found[1]

    def __contains__(self, key: object) -> bool:
        self._expire()
        return key in self._items

    def set(self, key: K, value: V) -> None:
        self._expire()
        self._items.pop(key, None)
        self._items[key] = (self._monotonic() + self.ttl, value)
        while len(self._items) > self.max_items:
            self._items.popitem(last=False)

    def add(self, key: K, value: V) -> bool:
        """Set the key unless it is present; True when it was new."""
        if key in self:
            return False
        self.set(key, value)
        return True

    def pop(self, key: K) -> V | None:
        self._expire()
        found = self._items.pop(key, None)
        return None if found is None else found[1]

    def __len__(self) -> int:
        self._expire()
        return len(self._items)


class SlidingWindow:
    """At most ``limit`` events per key in any ``period`` seconds, counted where they happen (here)."""

    def __init__(self, limit: int, period: float, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        if limit < 1 or period <= 0:
            raise ValueError("limit and period must be positive")
        self.limit = limit
        self.period = period
        self._monotonic = monotonic
        self._events: dict[Hashable, deque[float]] = {}

    def _window(self, key: Hashable) -> deque[float]:
        now = self._monotonic()
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - self.period:
            events.popleft()
        if len(self._events) > 10_000:  # forget idle keys
            for idle in [k for k, v in self._events.items() if not v and k != key]:
                del self._events[idle]
        return events

    def delay(self, key: Hashable, n: int = 1) -> float:
        """Seconds until ``n`` more events fit (0 when they fit now)."""
        if n > self.limit:
            raise ValueError(f"{n} events can never fit in a window of {self.limit}")
        events = self._window(key)
        excess = len(events) + n - self.limit
        if excess <= 0:
            return 0.0
        return max(0.0, events[excess - 1] + self.period - self._monotonic())

    def record(self, key: Hashable, n: int = 1) -> None:
        events = self._window(key)
        now = self._monotonic()
        events.extend([now] * n)

    async def acquire(self, key: Hashable, n: int = 1, *, max_wait: float) -> None:
        """Take ``n`` slots, waiting up to ``max_wait`` seconds; ``RetryLater`` when that is not enough."""
        if n > self.limit:
            raise PermanentError(f"{n} messages at once exceed the limit of {self.limit} per "
                                 f"{self.period:g} s")
        waited = 0.0
        while True:
            wait = self.delay(key, n)
            if wait <= 0:
                self.record(key, n)
                return
            if waited + wait > max_wait:
                raise RetryLater(wait, f"over {self.limit} messages in {self.period:g} s; "
                                       f"retry after {wait:.1f} s")
            await asyncio.sleep(wait)
            waited += wait
