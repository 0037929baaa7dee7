"""The scheduled jobs bound to one running bot (``bot.app.Core``): the escalation tick, the digest tick, the
reminders, the calendar's daily record, the settings watcher, and what a process elected leader runs at once."""

from __future__ import annotations

import logging
from datetime import time
from typing import TYPE_CHECKING

from jobs.job_runs import JobRuns

if TYPE_CHECKING:
    from bot.app import Core

log = logging.getLogger(__name__)


def build_jobs(core: Core, reminder_times: tuple[time, ...],  # type: ignore[no-untyped-def]
               runs: JobRuns | None = None):
    """The scheduler with the escalation tick, the digest tick, the reminders and the calendar's daily record,
    bound to this core; and what a process elected leader runs at once (``start_up``: the days passed while no
    process led are kept, the reminders of a time passed less than two hours ago run (``jobs.reminders.catch_up``),
    then a bulletin missed meanwhile goes out). Every job's run is counted in ``runs`` while under way, for a stop
    to wait for (``jobs.job_runs``)."""
    from bot.services.web_links import public_base
    from jobs import calendar_days, digests, escalation, halfmonth, nodes, reminders
    from jobs.scheduler import add_settings_watcher, build_scheduler
    from storage import processed, sent_messages
    from storage.settings import load_digest_settings

    renderer = core.deps.renderer

    async def escalation_tick() -> None:
        overdue = await nodes.run(core.db, core.clock, renderer)  # overdue nodes become problems first
        if overdue.told:
            log.info("overdue nodes: %s", overdue)
        result = await escalation.run(core.db, core.clock, renderer)
        if result.checked:
            log.info("escalation tick: %s", result)
        async with core.db.session() as session:  # keys of messages handled long ago (storage.processed)
            await processed.forget_old(session, now=core.clock.now())
            await sent_messages.forget_old(session, now=core.clock.now())  # and which sent ones were about what

    async def digest_tick() -> None:
        for produced in await digests.run_due(core.db, renderer, now=core.clock.now(),
                                              files_root=core.settings.data_dir, workers=core.workers,
                                              web_url=public_base(core.settings.web_public_url)):
            log.info("bulletin produced: %s", produced)
        compiled = (await halfmonth.run(core.db, renderer, now=core.clock.now(),
                                        files_root=core.settings.data_dir)).compiled
        if compiled is not None:
            log.info("half-monthly report compiled: %s", compiled.name)

    async def reminder_run(slot: time) -> None:
        log.info("reminders %s: %s", slot, await reminders.run(core.db, core.clock.now(), renderer, slot=slot))

    async def calendar_tick() -> None:
        kept = await calendar_days.run(core.db, core.clock)
        if kept:
            log.info("calendar: %d passed day(s) kept", kept)

    async def start_up() -> None:
        try:  # before the bulletins, which count the days due
            await calendar_tick()
        except Exception:
            log.exception("start-up keeping of the calendar's passed days failed; the daily job tries again")
        try:  # a reminder run a restart cut short, or due while none led, goes out now (nothing twice)
            caught = await reminders.catch_up(core.db, core.clock.now(), renderer)
            if caught is not None:
                log.info("reminders caught up at start-up: %s", caught)
        except Exception:
            log.exception("start-up run of the reminders missed failed")
        await digest_tick()

    async def current_settings():  # type: ignore[no-untyped-def]
        async with core.db.session() as session:
            return await load_digest_settings(session)

    runs = runs or JobRuns()
    scheduler = build_scheduler(escalation=runs.tracked(escalation_tick), digests=runs.tracked(digest_tick),
                                reminder=runs.tracked(reminder_run), reminder_times=reminder_times,
                                calendar_days=runs.tracked(calendar_tick))
    # chat changes take effect
    add_settings_watcher(scheduler, load=runs.tracked(current_settings), reminder=runs.tracked(reminder_run))
    return scheduler, runs.tracked(start_up)
