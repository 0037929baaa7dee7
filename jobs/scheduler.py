"""The schedule in one place: APScheduler (Asia/Shanghai) owned by the app, not by a channel."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.clock import SHANGHAI

log = logging.getLogger(__name__)

ESCALATION_JOB = "escalation"


def build_scheduler(*, escalation: Callable[[], Awaitable[object]], escalation_minutes: int = 5) -> AsyncIOScheduler:
    """A scheduler with every job registered under a stable id (one instance each, missed runs coalesced)."""
    scheduler = AsyncIOScheduler(timezone=SHANGHAI)
    scheduler.add_job(escalation, IntervalTrigger(minutes=escalation_minutes, timezone=SHANGHAI),
                      id=ESCALATION_JOB, name="问题逐级上报", max_instances=1, coalesce=True, replace_existing=True,
                      misfire_grace_time=None)
    return scheduler
