"""When an outbox sender claims: the loop that keeps its pipeline fed (``pump``), for ``run_forever`` and ``drain``
(``bot.services.outbox``).

The next claim comes as soon as at most half of ``batch`` rows are held, so that rows are always waiting for the
global limiter; a sender that is caught up looks again after ``idle_seconds`` (``run_forever``), when the next retry
falls due (a drain following retries on the real clock), or once nothing is held.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from bot.clock import SystemClock
from bot.services.outbox_pipeline import Pipeline, SendStats
from storage import outbox_sending

if TYPE_CHECKING:
    from bot.services.outbox import OutboxSender

log = logging.getLogger("bot.services.outbox")  # the sender's log, as before these were apart


async def pump(sender: OutboxSender, run: Pipeline, *, stop: asyncio.Event | None = None, deadline: float | None = None,
               idle_seconds: float | None = None, follow_retries: bool = False) -> None:
    """Keep claiming while there is room and rows are due, until stopped or past the deadline.

    The next claim comes as soon as at most half of ``batch`` is held, so that rows are always waiting
    for the global limiter. After a claim that found fewer due rows than it could take ("caught up"),
    the next one waits for the next look: ``idle_seconds`` later (``run_forever``), or when the next
    retry falls due (a drain following retries on the real clock), or else once nothing is held. A
    drain ends when it is caught up, holds nothing, and has no next look before its deadline.
    """
    loop = asyncio.get_running_loop()
    real_clock = isinstance(sender.clock, SystemClock)
    low_water = sender.batch // 2
    caught_up = False  # the last claim found fewer due rows than it could take
    on_empty = False  # ...while rows were held: look again once none is
    look_at: float | None = None  # loop time of the next look while caught up
    reported = SendStats()
    while stop is None or not stop.is_set():
        run.changed.clear()
        now = loop.time()
        if deadline is not None and now >= deadline:
            break
        if run.due_again is not None:
            if real_clock and (follow_retries or idle_seconds is not None):
                # A row this run put back (a retry, flood control) falls due then: look again at that time.
                due = now + max((run.due_again - sender.clock.now()).total_seconds(), 0.0)
                if deadline is None or due <= deadline:
                    look_at = due if look_at is None else min(look_at, due)
            run.due_again = None
        room = sender.batch - run.held
        if caught_up:
            ready = (look_at is not None and now >= look_at) or (on_empty and run.held == 0)
        else:
            ready = run.held <= low_water
        if room > 0 and ready:
            later = look_at if look_at is not None and look_at > now else None
            try:
                claimed = await run.claim(room)
            except Exception:
                if idle_seconds is None:
                    raise
                log.exception("outbox claim failed")
                claimed = 0
            caught_up = claimed < room
            if caught_up:
                on_empty = run.held > 0
                if not on_empty and idle_seconds is not None and run.stats != reported:
                    log.info("outbox: %s", run.stats - reported)
                    reported = run.stats + SendStats()
                look_at = await _next_look(sender, idle_seconds, follow_retries, deadline)
                if later is not None:
                    look_at = later if look_at is None else min(look_at, later)
                if look_at is None and not on_empty:
                    break  # a drain with nothing held and nothing falling due in time
            continue
        timeout: float | None = None
        for at in (look_at if caught_up and room > 0 else None, deadline):
            if at is not None:
                left = max(at - loop.time(), 0.0)
                timeout = left if timeout is None else min(timeout, left)
        await run.wait(timeout)

async def _next_look(sender: OutboxSender, idle_seconds: float | None, follow_retries: bool,
                      deadline: float | None) -> float | None:
    """When a caught-up pipeline should look for due rows again (loop time), None for "when nothing is
    held" (a drain that does not follow retries, or whose next retry falls due past the deadline)."""
    loop = asyncio.get_running_loop()
    if idle_seconds is not None:
        return loop.time() + idle_seconds
    if not follow_retries:
        return None
    async with sender.db.session() as session:
        next_due = await outbox_sending.next_due_at(session,
                                                    channels=sender.gate.up() + sender.gate.trial_channels())
    if next_due is None:
        return None
    at = loop.time() + min(max((next_due - sender.clock.now()).total_seconds(), 0.01), 3600.0)
    return at if deadline is None or at <= deadline else None

