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
