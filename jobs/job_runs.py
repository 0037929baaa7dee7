"""The scheduled jobs' runs under way, so that a stop can wait for them to end before the database is closed.

APScheduler's asyncio executor runs each job as a task of its own, and its ``shutdown`` can only cancel those tasks,
not wait for them (it is not a coroutine). A job cancelled in the middle of a query still has work to do: the
database driver closes the connection the query was cut from, in a task of its own. Closing the engine, or ending
the event loop, before that is over leaves the close waiting on a connection thread that is gone, and the process
never exits (seen with aiosqlite 0.22). So the bot wraps each job's coroutine function with ``JobRuns.tracked``, and
after the scheduler's shutdown awaits ``JobRuns.ended`` before it disposes the engine.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")

ENDING = 10.0  # seconds a stop waits for cancelled runs to end (a cancelled query ends in milliseconds)


class JobRuns:
    """The tasks running a tracked job now."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[object]] = set()

    def tracked(self, job: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
        """``job``, its run counted as under way from its start to its end (whatever task runs it)."""

        @functools.wraps(job)
        async def run(*args: P.args, **kwargs: P.kwargs) -> T:
            task = asyncio.current_task()
            outermost = task is not None and task not in self._tasks  # a tracked job may call another
            if outermost:
                self._tasks.add(task)
            try:
                return await job(*args, **kwargs)
            finally:
                if outermost:
                    self._tasks.discard(task)

        return run

    @property
    def under_way(self) -> int:
        return len(self._tasks)

    async def ended(self, timeout: float = ENDING) -> None:
        """Until every run under way has ended (cancelled or not), or ``timeout`` seconds; logged if one has not."""
        if not self._tasks:
            return
        _done, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        if pending:
            log.warning("%d scheduled job run(s) still under way %.0f s after the stop: %s", len(pending), timeout,
                        ", ".join(sorted(task.get_name() for task in pending)))
