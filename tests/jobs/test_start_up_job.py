"""The start-up run of a process elected leader (``jobs.scheduler.catch_up``): once, at once, as a job of the
scheduler, not awaited by the election."""

from __future__ import annotations

import asyncio
from datetime import time

from jobs.scheduler import START_UP_JOB, build_scheduler, catch_up


async def test_the_start_up_run_is_a_job_that_runs_once_at_once() -> None:
    ran: list[str] = []
    started = asyncio.Event()

    async def tick() -> None:
        ran.append("tick")

    async def start_up() -> None:
        ran.append("start-up")
        started.set()

    scheduler = build_scheduler(escalation=tick, digests=tick, reminder=lambda _at: tick(),
                                reminder_times=(time(16, 0),))
    scheduler.start(paused=True)
    try:
        scheduler.resume()  # as elected() does
        catch_up(scheduler, start_up)
        assert ran == []  # not run by the call: the election goes on
        await asyncio.wait_for(started.wait(), 10)
        await asyncio.sleep(0.1)
        assert ran == ["start-up"]  # and nothing else is due yet
        assert scheduler.get_job(START_UP_JOB) is None  # once
    finally:
        scheduler.shutdown(wait=False)
