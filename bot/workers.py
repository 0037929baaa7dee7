"""CPU-heavy work off the event loop, in a worker process.

A bulletin for a large district is seconds of pure Python (standings, charts, the workbook, texts). Run in
a worker *thread*, it would hold the interpreter's lock while the event loop and the database driver's
thread each wait up to the switch interval (5 ms) for every one of the many hand-overs a reply to a message
takes: replies to reports then wait seconds. In another process it competes for a CPU only, and at a lower
priority than the bot's own process (``NICENESS``): on a busy machine replies get the CPU first.

``Workers`` owns a small process pool, started the first time work is given to it (the bot at rest loads
neither the pool nor the libraries a chart needs) and shut down by ``close()``. The functions it runs and
their arguments and results must be picklable: plain rows in, bytes and strings out.

A worker ends with the process that started it: a bot killed outright (SIGKILL, the out-of-memory killer, a
crash) cannot shut its pool down, and a worker waiting for its next job would otherwise live on, holding its
memory, the dead bot's stderr and multiprocessing's resource tracker (which ends once no worker holds it). Each
worker watches its parent's sentinel (``multiprocessing.parent_process()``) from a thread that sleeps until
the parent is gone, so the watch costs the work nothing.

A pool made with ``idle_end`` is shut down as soon as it has no job (the imports': a worker that has read
50,000 rows keeps some 80 MB until it ends, and imports are rare; a new process costs some 1.3–1.8 s at a
load of 6, against the tens of seconds such a read takes).

Callers that own no pool (tests, which would otherwise start a process for each bulletin, and one-off
commands, which have no event loop to keep answering) run the same functions in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

__all__ = ["Workers", "off_loop"]

log = logging.getLogger(__name__)
T = TypeVar("T")


NICENESS = 10  # added to the workers' scheduling priority: on a busy machine, replies get the CPU first


def _lower_priority() -> None:
    """In a new worker process: yield the CPU to the bot's own process (a bulletin can wait a few seconds
    more; a reply should not). Where priorities cannot be changed, nothing is."""
    if hasattr(os, "nice"):
        try:
            os.nice(NICENESS)
        except OSError:
            pass


def _end_with_parent() -> None:
    """In a new worker process: end it at once when its parent process is gone, whatever it is doing (a job
    for a dead bot has nobody to hand its result to). A thread waits on the parent's sentinel, which becomes
    ready when the parent ends, however it ends."""
    from multiprocessing import parent_process
    from multiprocessing.connection import wait

    parent = parent_process()
    if parent is None:  # not started by multiprocessing: nothing to watch
        return
    sentinel = parent.sentinel

    def watch() -> None:
        wait([sentinel])
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _start_worker() -> None:
    """A new worker process's set-up: a lower priority, and a watch that ends it with its parent."""
    _lower_priority()
    _end_with_parent()


class Workers:
    """A lazily started pool of worker processes."""

    def __init__(self, *, processes: int = 1, idle_end: bool = False) -> None:
        self.processes = processes
        self.idle_end = idle_end  # shut the pool down whenever its last job is done
        self._pool: ProcessPoolExecutor | None = None
        self._jobs = 0

    @property
    def started(self) -> bool:
        """Whether the process pool exists (it is created by the first ``run``)."""
        return self._pool is not None

    async def run(self, function: Callable[..., T], /, *args: Any) -> T:
        """``function(*args)`` in a worker process, awaited without blocking the event loop."""
        # Imported with the first job: the bot at rest has no use for them (some 2 MB).
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        pool = self._pool
        if pool is None:
            # spawn: a fresh interpreter, not a fork of one running the event loop and the driver's threads.
            pool = self._pool = ProcessPoolExecutor(max_workers=self.processes,
                                                    mp_context=multiprocessing.get_context("spawn"),
                                                    initializer=_start_worker)
        self._jobs += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, function, *args)
        except BrokenProcessPool:
            # A worker died (killed, out of memory): the next run starts a new pool.
            log.error("a worker process died; a new pool starts with the next job")
            if self._pool is pool:
                self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        finally:
            self._jobs -= 1
            if self.idle_end and not self._jobs and self._pool is pool:
                self._pool = None  # the worker ends once it has handed this result back
                pool.shutdown(wait=False)

    def close(self) -> None:
        """Stop the worker processes (waiting for a job under way); a later ``run`` starts a new pool."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


async def off_loop(workers: Workers | None, function: Callable[..., T], /, *args: Any) -> T:
    """``function(*args)`` in a worker process of ``workers`` when there are any, else in a worker thread."""
    if workers is not None:
        return await workers.run(function, *args)
    return await asyncio.to_thread(function, *args)
