"""The app's worker processes (bot.workers): started by the first job, replaced when one dies, stopped by
close()."""

from __future__ import annotations

import os
from concurrent.futures.process import BrokenProcessPool

import pytest

from bot.workers import NICENESS, Workers


async def test_the_pool_starts_with_the_first_job_survives_a_dead_worker_and_stops() -> None:
    workers = Workers()
    assert not workers.started
    try:
        first = await workers.run(os.getpid)
        assert first != os.getpid() and workers.started
        if hasattr(os, "nice"):  # at a lower priority than this process
            assert await workers.run(os.nice, 0) == os.nice(0) + NICENESS
        assert await workers.run(os.getpid) == first  # the same process serves the next job
        with pytest.raises(BrokenProcessPool):
            await workers.run(os._exit, 1)  # a worker killed mid-job (out of memory, say)
        assert not workers.started
        assert await workers.run(divmod, 7, 2) == (3, 1)  # a new pool takes the next job
        assert await workers.run(os.getpid) not in (first, os.getpid())
    finally:
        workers.close()
    assert not workers.started


async def test_a_pool_that_ends_when_idle_leaves_no_process_behind() -> None:
    """The imports' pool: its worker, which may hold what it read of a large ledger, ends with its last job;
    jobs given at once share it, and the next job starts a new one."""
    import asyncio
    import time

    workers = Workers(idle_end=True)
    try:
        first, second = await asyncio.gather(workers.run(_pid_after, 0.5), workers.run(_pid_after, 0))
        assert first == second != os.getpid()  # one process served both
        assert not workers.started
        deadline = time.monotonic() + 30
        while _alive(first) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert not _alive(first)
        assert await workers.run(os.getpid) not in (first, os.getpid())
        assert not workers.started
    finally:
        workers.close()


def _pid_after(seconds: float) -> int:
    import time

    time.sleep(seconds)
    return os.getpid()


def _alive(pid: int) -> bool:
    """Whether that process runs (a zombie has ended)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False
