"""The schedule in one place: APScheduler (Asia/Shanghai) owned by the app, not by a channel.

Every job has a stable id, runs one instance at a time, and coalesces missed runs. The jobs decide
themselves whether there is anything to do (a working day? a bulletin due and not yet produced?), so a
tick that fires late or twice does no harm.

Admins change the reminder times in chat (/schedule); the settings watcher (`add_settings_watcher`)
reloads the stored settings every minute and moves the reminder jobs when the times changed, so a
running bot follows without a restart. The other digest settings are read by the jobs on every run.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, time
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.clock import SHANGHAI
from bot.domain.digest_settings import DigestSettings
from bot.render import shared_renderer

log = logging.getLogger(__name__)

ESCALATION_JOB = "escalation"
DIGEST_JOB = "digests"
REMINDER_JOB = "reminder-{:%H%M}"
REMINDER_PREFIX = "reminder-"
SETTINGS_JOB = "settings-watch"
CALENDAR_JOB = "calendar-days"
CALENDAR_AT = time(0, 1)  # right after midnight: the day that ended is kept (jobs.calendar_days)
START_UP_JOB = "start-up"
COMMON: dict[str, Any] = {"max_instances": 1, "coalesce": True, "replace_existing": True,
                          "misfire_grace_time": None}
Reminder = Callable[[time], Awaitable[object]]


def _name(job: str) -> str:
    """A job's name in the log, worded in cli/job_names.j2."""
    names: dict[str, str] = shared_renderer().words("cli/job_names", "names")
    return names[job]


def build_scheduler(
    *,
    escalation: Callable[[], Awaitable[object]],
    digests: Callable[[], Awaitable[object]],
    reminder: Reminder,
    reminder_times: Sequence[time],
    escalation_minutes: int = 5,
    digest_minutes: int = 10,
    calendar_days: Callable[[], Awaitable[object]] | None = None,
) -> AsyncIOScheduler:
    """A scheduler with every job registered under a stable id; with ``calendar_days``, the calendar's daily
    record (id "calendar-days") at ``CALENDAR_AT`` every day."""
    scheduler = AsyncIOScheduler(timezone=SHANGHAI)
    scheduler.add_job(escalation, IntervalTrigger(minutes=escalation_minutes, timezone=SHANGHAI),
                      id=ESCALATION_JOB, name=_name("escalation"), **COMMON)
    scheduler.add_job(digests, IntervalTrigger(minutes=digest_minutes, timezone=SHANGHAI), id=DIGEST_JOB,
                      name=_name("digests"), **COMMON)
    for at in reminder_times:
        _add_reminder(scheduler, reminder, at)
    if calendar_days is not None:
        midnight = CronTrigger(hour=CALENDAR_AT.hour, minute=CALENDAR_AT.minute, timezone=SHANGHAI)
        scheduler.add_job(calendar_days, midnight, id=CALENDAR_JOB, name=_name("calendar"), **COMMON)
    return scheduler


def catch_up(scheduler: BaseScheduler, start_up: Callable[[], Awaitable[object]]) -> None:
    """Run ``start_up`` once, at once, as a job (id "start-up"), as a process elected leader does: a bulletin that
    fell due while no process led goes out now, marked late. As a job it does not hold up the election: the
    leader watches for a stop or a lost lock meanwhile (a stop then waits only for the rendering under way in the
    worker process, as for any bulletin, see ``bot.workers``). The regular digest tick comes 10 minutes later;
    a bulletin is made once however many ticks ask for it (``jobs.digests``)."""
    scheduler.add_job(start_up, id=START_UP_JOB, name=_name("digests"), next_run_time=datetime.now(SHANGHAI),
                      **COMMON)


def _add_reminder(scheduler: BaseScheduler, reminder: Reminder, at: time) -> None:
    scheduler.add_job(reminder, CronTrigger(hour=at.hour, minute=at.minute, timezone=SHANGHAI), args=[at],
                      id=REMINDER_JOB.format(at), name=f"{_name('reminder')} {at:%H:%M}", **COMMON)


def reminder_job_times(scheduler: BaseScheduler) -> list[str]:
    """The ids of the reminder jobs the scheduler holds, sorted ("reminder-1600", …)."""
    return sorted(job.id for job in scheduler.get_jobs() if job.id.startswith(REMINDER_PREFIX))


def reschedule_reminders(scheduler: BaseScheduler, reminder: Reminder, times: Sequence[time]) -> bool:
    """Make the reminder jobs exactly one per time in `times`: jobs of times no longer wanted are removed,
    new times get a job, unchanged ones are left alone. Returns whether anything changed."""
    wanted = {REMINDER_JOB.format(at): at for at in times}
    held = set(reminder_job_times(scheduler))
    for job_id in sorted(held - wanted.keys()):
        scheduler.remove_job(job_id)
    for job_id, at in sorted(wanted.items()):
        if job_id not in held:
            _add_reminder(scheduler, reminder, at)
    changed = held != wanted.keys()
    if changed:
        log.info("reminder times now %s", ", ".join(f"{at:%H:%M}" for at in sorted(wanted.values())))
    return changed


def apply_schedule(scheduler: BaseScheduler, settings: DigestSettings, reminder: Reminder) -> bool:
    """Bring the scheduler in line with the digest settings; returns whether any job changed.

    Only the reminder jobs have times of their own: the digest tick reads the weekly and monthly times and
    switches on every run, and a reminder run skips itself when reminders are switched off.
    """
    return reschedule_reminders(scheduler, reminder, settings.reminder_times)


def add_settings_watcher(scheduler: BaseScheduler, *, load: Callable[[], Awaitable[DigestSettings]],
                         reminder: Reminder, seconds: float = 60) -> Callable[[], Awaitable[bool]]:
    """A job (id "settings-watch") that every `seconds` reloads the digest settings with `load` and applies
    them (`apply_schedule`): reminder times changed in chat take effect in a running bot within a minute.
    Returns the watch coroutine function too (run it once at start-up, or in tests)."""

    async def watch() -> bool:
        return apply_schedule(scheduler, await load(), reminder)

    scheduler.add_job(watch, IntervalTrigger(seconds=seconds, timezone=SHANGHAI), id=SETTINGS_JOB,
                      name=_name("settings"), **COMMON)
    return watch
