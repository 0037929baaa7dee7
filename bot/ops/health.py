"""The health checks: ``/healthz`` (liveness) and ``/readyz`` (everything works), with one JSON report.

Liveness is what a restart can mend: the store answers and, on the leader, the scheduled jobs and the outbox
sender run. An orchestrator restarts on it. Readiness adds what a restart cannot mend and somebody should
look at: the schema is current, the outbox is readable and not stale, and every channel can send (a channel
down as a whole, say WeCom refusing this server's IP or Telegram refusing the token, is named with its
reason in ``channel_faults``; one that sends but does not receive, Telegram failing to deliver to the webhook,
in ``receiving_faults``), and the photo store keeps photos (``photo_store_fault``: its disk full, say).
Restarting a process whose Telegram side works because WeCom's setup is wrong would only cut Telegram off too, so a
channel fault makes ``/readyz`` 503 and leaves ``/healthz`` 200; so does a photo store refusing photos.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sqlalchemy import text

from bot.clock import Clock


def age_seconds(now: datetime, then: datetime | None) -> float | None:
    if then is None:
        return None
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    return max(0.0, (now - then).total_seconds())


@dataclass
class Runtime:
    """What a running bot has for health to look at; the app fills it in as things start and stop."""

    scheduler: Any = None
    sender: Any = None
    sending: asyncio.Task[Any] | None = None  # the running OutboxSender.run_forever task, if any
    leadership: Any = None
    store_faults: Any = None  # the photo keeper's StoreFaultNotices (bot.services.photo_store_fault)


def _scheduler_state(scheduler: Any) -> str:
    if scheduler is None:
        return "absent"
    from apscheduler.schedulers.base import STATE_PAUSED, STATE_RUNNING

    state = getattr(scheduler, "state", None)
    if state == STATE_RUNNING:
        return "running"
    if state == STATE_PAUSED:
        return "paused"
    return "stopped"


async def health(db: Any, clock: Clock, scheduler: Any = None, sender: Any = None, *,
                 leadership: Any = None, sending: asyncio.Task[Any] | None = None, timeout: float = 5.0,
                 stale_after: float | None = None, ready: bool = False,
                 store_faults: Any = None) -> tuple[int, dict[str, Any]]:
    """(HTTP status, report). Live (``report["live"]``) when the store answers ``SELECT 1`` and, on the
    leader, the scheduler (and the sender task, when given) runs; a process that does not lead is live with
    its scheduler paused. Ready (``report["ready"]``) when it is live, the schema is current, the outbox is
    readable, no channel of the sender is down (``channel_faults`` says why and when it is probed next) and the
    photo store keeps photos (``photo_store_fault``, with ``store_faults``: since when, and whether it is full);
    with ``stale_after`` (seconds), an oldest pending notice older than that also makes it not ready.
    ``problems`` lists every reason for either. The status is 200 or 503 by liveness, or by readiness
    with ``ready``.
    """
    from storage import outbox_views
    from storage.migrate import schema_is_current

    leader = True if leadership is None else bool(leadership.is_leader)
    report: dict[str, Any] = {"ok": False, "live": False, "ready": False, "leader": leader}
    if leadership is not None and hasattr(leadership, "describe"):
        report["leadership"] = leadership.describe()

    async def ping() -> None:
        async with db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    try:
        await asyncio.wait_for(ping(), timeout)
    except Exception as error:  # noqa: BLE001 - health reports any store failure
        report.update(store="unreachable", error=type(error).__name__)
        return 503, report
    report["store"] = "ok"
    problems: list[str] = []  # not ready
    fatal: list[str] = []  # not live either: a restart mends them
    now = clock.now()
    try:
        current, revision, head = await asyncio.wait_for(schema_is_current(db.engine), timeout)
    except Exception as error:  # noqa: BLE001
        report.update(store="error", error=type(error).__name__)
        return 503, report
    report.update(schema_current=current, schema={"revision": revision, "head": head})
    if not current:
        problems.append("schema out of date")

    async def read_backlog() -> Any:
        async with db.session() as session:
            return await outbox_views.backlog(session, now=now)

    try:
        backlog = await asyncio.wait_for(read_backlog(), timeout)
    except Exception as error:  # noqa: BLE001 - e.g. no outbox table yet on an empty database
        report["outbox"] = {"error": type(error).__name__}
        problems.append("outbox unreadable")
    else:
        age = age_seconds(now, backlog.oldest_created_at)
        report["outbox"] = {"pending": backlog.pending,
                            "oldest_pending_age_seconds": None if age is None else round(age, 3),
                            "waiting_for_group": backlog.waiting_for_group}
        if stale_after is not None and age is not None and age > stale_after:
            problems.append("outbox backlog is stale")

    report["scheduler"] = state = _scheduler_state(scheduler)
    if scheduler is not None:
        report["jobs"] = len(scheduler.get_jobs())
        if leader and state != "running":
            fatal.append(f"scheduler {state} on the leader")
    if sending is not None:
        report["sender"] = "running" if not sending.done() else "stopped"
        if leader and sending.done():
            fatal.append("outbox sender stopped on the leader")
    elif sender is not None:
        report["sender"] = "running" if leader else "standby"
    else:
        report["sender"] = "absent"
    if sender is not None and hasattr(sender, "transports"):
        report["channels"] = sorted(sender.transports)
    states = getattr(sender, "channel_states", None)
    if leader and callable(states):
        # A channel down as a whole (its setup is wrong): its notices are held until a probe finds it working.
        faults = {channel: fault.describe() for channel, fault in states().items() if fault is not None}
        if faults:
            report["channel_faults"] = faults
            problems += [f"channel {channel} down: {fault['reason']}" for channel, fault in faults.items()]
    receiving = getattr(sender, "receiving_faults", None)
    deaf = receiving() if leader and callable(receiving) else {}
    if deaf:
        # Messages to the bot do not reach it (Telegram cannot deliver to the webhook); what it sends still goes.
        report["receiving_faults"] = {channel: {"reason": fault.reason, "detail": fault.detail,
                                                "since": fault.since.isoformat()} for channel, fault in deaf.items()}
        problems += [f"channel {channel} does not receive: {fault.reason}" for channel, fault in deaf.items()]
    if store_faults is not None:
        try:
            refusing = await asyncio.wait_for(store_faults.current(), timeout)
        except Exception as error:  # noqa: BLE001 - the database busy: unknown, not the photo store's fault
            report["photo_store_fault"] = {"unknown": type(error).__name__}
        else:
            if refusing is not None:
                report["photo_store_fault"] = refusing
                problems.append("photo store cannot be read" if refusing.get("reading") else
                                "photo store refuses photos" + (": full" if refusing.get("full") else ""))
    problems = fatal + problems
    report.update(live=not fatal, ready=not problems)
    report["ok"] = report["ready"] if ready else report["live"]
    if problems:
        report["problems"] = problems
    return (200 if report["ok"] else 503), report


def healthz_handler(db: Any, clock: Clock, runtime: Runtime | None = None, *,
                    stale_after: float | None = None, ready: bool = False) -> Any:
    """An aiohttp handler answering ``health`` as JSON (``/healthz``; ``/readyz`` with ``ready``), looking at
    ``runtime`` as it is at each request."""
    runtime = runtime or Runtime()

    async def healthz(_request: web.Request) -> web.Response:
        status, report = await health(db, clock, runtime.scheduler, runtime.sender,
                                      leadership=runtime.leadership, sending=runtime.sending,
                                      stale_after=stale_after, ready=ready, store_faults=runtime.store_faults)
        return web.json_response(report, status=status)

    return healthz
