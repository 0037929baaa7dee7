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
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.clock import SHANGHAI, set_within

log = logging.getLogger(__name__)

TOLERANCE = 60.0  # seconds the wall clock may move against the monotonic clock unnoticed (NTP slews far less)
LOOK_EVERY = 10.0  # seconds between two looks (monotonic: a step does not hold the look up)


class ClockWatch:
    """Compares the wall clock with the monotonic clock, and puts the interval jobs back on time after a step
    backward."""

    def __init__(self, scheduler: BaseScheduler, *, wall: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic, tolerance: float = TOLERANCE) -> None:
        self.scheduler = scheduler
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

    async def run(self, stop: asyncio.Event, every: float = LOOK_EVERY) -> None:
        """Look every ``every`` seconds until ``stop``."""
        while not await set_within(stop, every):
            try:
                self.look()
            except Exception:  # the next look tries again
                log.exception("could not look at the wall clock")
