"""The standings the web pages show, computed in the background: no page view waits for them.

``LiveStandings`` keeps the latest ``Snapshot``: the standings of today and of last week's end (for the
overview's change since last week), read from the database at one moment, which the pages show as they are
with that moment (数据截至 HH:MM). A refresher task recomputes them off the request path:

- once at start-up (``start``), or with the first page view when the pages were not expected to be used; a
  view before the first result gets a page that says the figures are being computed and reloads itself;
- when the data has changed, at most once every ``refresh`` seconds (``WEB_STANDINGS_SECONDS``): every
  ``check`` seconds, once the last computation is that old, a single cheap query compares the newest row
  ids (``storage.change_mark``) with those of the last computation;
- at least every ``FULL_REFRESH`` × ``refresh`` seconds, a change seen or not (a change the mark misses);
- as soon as the day has changed (the standings are measured on today).

What pages make of the standings (the overview's summary, its trend chart) is made with each snapshot too,
before any view shows it (``prepare``).

So a change reaches the pages at most ``refresh`` seconds plus the time of a computation after it is made
(plus one more computation when one had just begun). Each process keeps its own (several processes on one
PostgreSQL database each compute theirs).

With a worker process (``bot.workers``, as ``diaodu run`` gives) the database is read and the standings are
built there (``bot.services.standings_worker``: seconds of Python for 10,000 projects) and taken back a slice
at a time, so the event loop goes on serving pages; without one (tests, one-off uses), or on an in-memory
database no other process can open, the database is read on the event loop and the standings built in a
worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

from bot.clock import Clock, to_local
from bot.domain.progress import previous_week_end
from bot.domain.standings import Standings
from bot.services.standings import read_current_inputs, standings_of_each
from bot.services.standings_worker import compute_packed, unpack
from bot.workers import Workers, off_loop
from storage.change_mark import change_mark
from storage.db import Database

log = logging.getLogger(__name__)
T = TypeVar("T")

CHECK_SECONDS = 5.0  # how often the refresher looks whether a computation is due
FULL_REFRESH = 10  # × refresh: recomputed at least this often, whether a change was seen or not


@dataclass
class Snapshot:
    """The standings of one moment: today's and those of last week's end, and what the pages make of them."""

    at: datetime  # when the data was read (数据截至)
    today: date
    current: Standings
    last_week: Standings
    mark: tuple[int | None, ...]  # storage.change_mark when the data was read
    derived: dict[str, Any] = field(default_factory=dict, repr=False)

    def made(self, key: str, compute: Callable[[], Any]) -> Any:
        """What ``compute`` makes of these standings, computed once per snapshot."""
        if key not in self.derived:
            self.derived[key] = compute()
        return self.derived[key]


Preparation = Callable[["LiveStandings", Snapshot], Awaitable[object]]
"""What a page makes of each new snapshot before any view shows it (kept with ``Snapshot.made``), off the
request path: given the refresher (its database, its workers) and the snapshot."""


class LiveStandings:
    """The latest standings of this process and the task that keeps them fresh."""

    def __init__(self, db: Database, clock: Clock, *, refresh: float, workers: Workers | None = None,
                 check: float = CHECK_SECONDS, prepare: Sequence[Preparation] = ()) -> None:
        self.db = db
        self.clock = clock
        self.refresh = refresh
        self.check = check
        self.workers = workers
        self.prepare = tuple(prepare)  # run on each new snapshot before the pages see it (summaries, charts)
        self.latest: Snapshot | None = None
        self.computed = 0  # computations finished since start
        self._task: asyncio.Task[None] | None = None
        self._fresh = asyncio.Event()  # set (and replaced) with each new snapshot

    # --- what the pages call --------------------------------------------------------------------------

    def snapshot(self) -> Snapshot | None:
        """The latest standings (None before the first computation ends); starts the refresher if it was
        not running, so that the first page view of a process that did not expect views starts it."""
        self.start()
        return self.latest

    # --- the refresher ---------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the refresher (its first computation begins at once); nothing if it runs already."""
        if not self.running:
            self._task = asyncio.create_task(self._run(), name="web-standings")

    async def stop(self) -> None:
        """Stop the refresher and wait until it has (a computation under way is abandoned)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def running_while(self, _app: object = None) -> AsyncIterator[None]:
        """For aiohttp's ``cleanup_ctx``: the refresher runs from the server's start to its cleanup."""
        self.start()
        try:
            yield
        finally:
            await self.stop()

    async def stopped_with(self, _app: object = None) -> AsyncIterator[None]:
        """For aiohttp's ``cleanup_ctx`` when the pages are not expected to be used: the first page view
        starts the refresher, the server's cleanup stops it."""
        try:
            yield
        finally:
            await self.stop()

    async def ready(self) -> Snapshot:
        """The latest snapshot, waiting for the first computation if none has ended yet."""
        return self.latest if self.latest is not None else await self.next_snapshot()

    async def next_snapshot(self) -> Snapshot:
        """Wait for the next computation to end (starting the refresher if needed); its snapshot."""
        fresh = self._fresh
        self.start()
        await fresh.wait()
        assert self.latest is not None
        return self.latest

    async def _run(self) -> None:
        while True:
            try:
                await self.refresh_if_due()
                pause = self.check
            except Exception:
                log.exception("the web pages' standings could not be computed; the last ones stay shown")
                pause = max(self.check, self.refresh)
            await asyncio.sleep(pause)

    def due(self, now: datetime) -> bool | None:
        """Whether a computation is due at ``now`` on time alone: True (due), False (not yet), None (only if
        the data has changed)."""
        latest = self.latest
        if latest is None or latest.today != to_local(now).date():
            return True
        age = (now - latest.at).total_seconds()
        if age < self.refresh:
            return False
        return True if age >= FULL_REFRESH * self.refresh else None

    async def refresh_if_due(self) -> bool:
        """Compute the standings if they are due (see the module's rules); whether they were."""
        due = self.due(self.clock.now())
        if due is None:
            async with self.db.session() as session:
                due = await change_mark(session) != self.latest.mark  # type: ignore[union-attr]
        if due:
            await self.compute()
        return due

    async def off_loop(self, function: Callable[..., T], /, *args: Any) -> T:
        """``function(*args)`` in the worker process when there is one, else in a worker thread."""
        return await off_loop(self.workers, function, *args)

    async def compute(self) -> Snapshot:
        """Read the data now and build the standings off the event loop; the new snapshot."""
        now = self.clock.now()
        today = to_local(now).date()
        cutoffs = [today, previous_week_end(today)]
        if self.workers is not None and not self.db.in_memory:
            # The worker reads the database too: 10,000 projects' rows would hold the event loop for seconds.
            mark, packed = await self.workers.run(compute_packed, self.db.url, cutoffs)
            current, last_week = [await unpack(one) for one in packed]
        else:
            async with self.db.session() as session:
                mark = await change_mark(session)  # before the figures: a change made meanwhile is seen next time
                inputs = [await read_current_inputs(session, today=today, cutoff=cutoff) for cutoff in cutoffs]
            current, last_week = await asyncio.to_thread(standings_of_each, inputs)
        snapshot = Snapshot(at=now, today=today, current=current, last_week=last_week, mark=mark)
        for step in self.prepare:
            await step(self, snapshot)
        if self.latest is None or self.latest.at <= now:  # a computation begun earlier never replaces a later one
            self.latest = snapshot
        self.computed += 1
        self._fresh.set()
        self._fresh = asyncio.Event()
        return snapshot
