"""The wall clock stepped (NTP correcting a clock that drifted, an operator's ``date -s``) under the scheduler.

APScheduler keeps each job's next run as a wall-clock time, and the jobs are written so that a tick that comes
late or twice does no harm (``jobs.scheduler``). What a step does to them:

- a step forward (say from 17:30 over 18:00 to 18:30) leaves jobs due in the past: each runs at once, and once
  however many runs it missed (``coalesce``, and no ``misfire_grace_time``: never skipped for being late), the
  18:00 reminders included;
- a step backward leaves every next run later than meant by the step. The cron jobs must keep theirs: the 18:00
  reminders that ran must not run again when the clock shows 18:00 once more, and they do not (their next run is
  tomorrow's). But the ticks that run every few minutes (escalation, digests, the settings watcher) would stand
  still for as long as the step: an hour of escalation gone. :class:`ClockWatch` notices the step (the wall clock
  moved against the monotonic clock by more than ``TOLERANCE``) and gives those ticks their interval again from
  now.
- a step backward also leaves the outbox's due times stored before it (a retry's backoff, flood control's wait,
  an album's notice) later than meant by the step: an hour's step would hold a retry due in 8 s for an hour. Every
  such time is "now" plus seconds to minutes, none a time of the wall clock meant for itself, so the leader moves
  them back by the step (:func:`outbox_due_times_back`), never before now. A row stored in the seconds between the
  step and the look that saw it is so due up to its own wait early: at most a retry a few seconds early, or an
  album's notice of no caption seconds early.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.clock import SHANGHAI, Clock, set_within
from storage import outbox_sending
from storage.db import Database

log = logging.getLogger(__name__)

TOLERANCE = 60.0  # seconds the wall clock may move against the monotonic clock unnoticed (NTP slews far less)
LOOK_EVERY = 10.0  # seconds between two looks (monotonic: a step does not hold the look up)


class ClockWatch:
    """Compares the wall clock with the monotonic clock, and puts the interval jobs back on time after a step
    backward."""

    def __init__(self, scheduler: BaseScheduler, *, wall: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic, tolerance: float = TOLERANCE,
                 stepped_back: Callable[[timedelta], Awaitable[object]] | None = None) -> None:
        """``stepped_back``: awaited with the step after a step backward beyond the tolerance."""
        self.scheduler = scheduler
        self.stepped_back = stepped_back
        self.wall = wall
        self.monotonic = monotonic
        self.tolerance = tolerance
        self._offset = wall() - monotonic()

    def look(self) -> float:
        """How far the wall clock stepped since the last look, in seconds (negative: backward); after a step
        backward beyond the tolerance, every interval job runs next one interval from now."""
        offset = self.wall() - self.monotonic()
        step, self._offset = offset - self._offset, offset
        if step < -self.tolerance:
            moved = []
            for job in self.scheduler.get_jobs():
                if isinstance(job.trigger, IntervalTrigger):
                    # a new trigger: the old one counts its intervals from a start that may now be in the future
                    self.scheduler.reschedule_job(job.id, trigger=IntervalTrigger(
                        seconds=job.trigger.interval.total_seconds(), timezone=SHANGHAI))
                    moved.append(job.id)
            log.warning("the wall clock stepped back %.0f s: %s run again at their intervals from now",
                        -step, ", ".join(moved) or "no job")
        elif step > self.tolerance:
            log.warning("the wall clock stepped forward %.0f s: jobs missed meanwhile run now, once each", step)
        return step

    async def check(self) -> float:
        """``look``, and after a step backward beyond the tolerance await ``stepped_back`` with it."""
        step = self.look()
        if step < -self.tolerance and self.stepped_back is not None:
            await self.stepped_back(timedelta(seconds=-step))
        return step

    async def run(self, stop: asyncio.Event, every: float = LOOK_EVERY) -> None:
        """Look every ``every`` seconds until ``stop``."""
        while not await set_within(stop, every):
            try:
                await self.check()
            except Exception:  # the next look tries again
                log.exception("could not look at the wall clock, or mend what its step did")


async def outbox_due_times_back(db: Database, clock: Clock, by: timedelta) -> int:
    """After the wall clock stepped back ``by``: the outbox's rows waiting to be tried again fall due that much
    earlier, never before now (``storage.outbox_sending.due_times_back``); how many moved (logged)."""
    async with db.session() as session:
        moved = await outbox_sending.due_times_back(session, by=by, now=clock.now())
    if moved:
        log.warning("the wall clock stepped back %.0f s: %d outbox notices waiting to be tried again fall due as "
                    "much earlier", by.total_seconds(), moved)
    return moved
