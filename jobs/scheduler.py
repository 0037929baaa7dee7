"""The schedule in one place: APScheduler (Asia/Shanghai) owned by the app, not by a channel.

Every job has a stable id, runs one instance at a time, and coalesces missed runs. The jobs decide
themselves whether there is anything to do (a working day? a bulletin due and not yet produced?), so a
tick that fires late or twice does no harm.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import time

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.clock import SHANGHAI

ESCALATION_JOB = "escalation"
DIGEST_JOB = "digests"
REMINDER_JOB = "reminder-{:%H%M}"


def build_scheduler(
    *,
    escalation: Callable[[], Awaitable[object]],
    digests: Callable[[], Awaitable[object]],
    reminder: Callable[[time], Awaitable[object]],
    reminder_times: Sequence[time],
    escalation_minutes: int = 5,
    digest_minutes: int = 10,
) -> AsyncIOScheduler:
    """A scheduler with every job registered under a stable id."""
    scheduler = AsyncIOScheduler(timezone=SHANGHAI)
    common = {"max_instances": 1, "coalesce": True, "replace_existing": True, "misfire_grace_time": None}
    scheduler.add_job(escalation, IntervalTrigger(minutes=escalation_minutes, timezone=SHANGHAI),
                      id=ESCALATION_JOB, name="问题逐级上报", **common)
    scheduler.add_job(digests, IntervalTrigger(minutes=digest_minutes, timezone=SHANGHAI), id=DIGEST_JOB,
                      name="定期通报", **common)
    for at in reminder_times:
        scheduler.add_job(reminder, CronTrigger(hour=at.hour, minute=at.minute, timezone=SHANGHAI), args=[at],
                          id=REMINDER_JOB.format(at), name=f"填报提醒 {at:%H:%M}", **common)
    return scheduler
