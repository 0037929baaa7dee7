"""A stop waits for the scheduled jobs' runs it cancelled to end (jobs.job_runs)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from jobs.job_runs import JobRuns


async def test_a_cancelled_run_is_waited_for_until_its_clean_up_is_over() -> None:
    runs, cleaned = JobRuns(), asyncio.Event()

    @runs.tracked
    async def job() -> None:
        try:
            await asyncio.sleep(60)
        finally:  # as a query cut short: its connection is closed after the cancellation
            await asyncio.sleep(0.2)
            cleaned.set()

    task = asyncio.create_task(job())
    await asyncio.sleep(0.05)
    assert runs.under_way == 1
    task.cancel()
    await runs.ended()
    assert cleaned.is_set() and task.done() and runs.under_way == 0


async def test_a_job_calling_another_tracked_one_stays_under_way_until_it_ends() -> None:
    runs, go_on = JobRuns(), asyncio.Event()

    @runs.tracked
    async def inner() -> int:
        return 1

    @runs.tracked
    async def outer() -> int:
        first = await inner()
        await go_on.wait()
        return first + 1

    task = asyncio.create_task(outer())
    await asyncio.sleep(0.05)
    assert runs.under_way == 1  # the inner run ended, the outer one not
    go_on.set()
    await runs.ended()
    assert task.result() == 2 and runs.under_way == 0


async def test_a_run_that_does_not_end_is_named_and_not_waited_for_beyond_the_limit(
        caplog: pytest.LogCaptureFixture) -> None:
    runs, released = JobRuns(), []

    @runs.tracked
    async def stubborn() -> None:
        while not released:
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                continue

    task = asyncio.create_task(stubborn(), name="stubborn-job")
    await asyncio.sleep(0.05)
    task.cancel()
    with caplog.at_level(logging.WARNING, logger="jobs.job_runs"):
        await asyncio.wait_for(runs.ended(timeout=0.2), 5)
    assert "stubborn-job" in caplog.text and not task.done()
    released.append(True)  # else this test's event loop could not close
    task.cancel()
    await task
