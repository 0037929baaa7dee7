"""Metrics in the Prometheus text format (version 0.0.4), and the health check.

The instruments are the official Prometheus client's (``prometheus_client``), in a registry of their own.
``BotMetrics`` holds the bot's instruments:

- ``diaodu_updates_total{channel,outcome}`` and ``diaodu_handler_seconds{channel}``: updates handled by
  the router (``instrument_router``), outcome ``ok``, ``error`` or ``cancelled``;
- ``diaodu_outbox_sent_total{channel}`` and ``diaodu_outbox_failed_total{channel,reason}``: send attempts
  through the transports (``instrument_transports``); a failed attempt may still be retried later, the
  final states are ``diaodu_outbox_messages{state}`` (``failed``, ``undeliverable`` and ``in_doubt``, a
  send cut short by a crash, wait for an admin's ``/outbox`` retry; ``held`` waits for its person to bind
  an account, ``merged`` and ``summarised`` went out as part of a list or a summary; a pending row waiting for
  a bulletin group is ``waiting_for_group``, not ``pending``: ``storage.outbox_views.rows_by_state``);
- ``diaodu_outbox_pending`` and ``diaodu_outbox_oldest_pending_age_seconds``: read from the store at
  scrape time (``storage.outbox_views.backlog``: due or in flight), with ``diaodu_outbox_messages{state}``;
  ``diaodu_outbox_waiting_for_group``: notices not due because they wait for a bulletin group the bot is out of
  or muted in (not part of the backlog: they wait as planned);
- ``diaodu_job_runs_total{job,outcome}`` and ``diaodu_job_last_success_timestamp_seconds{job}``: scheduler
  runs (``instrument_scheduler``), outcome ``ok``, ``error`` or ``missed``;
- ``diaodu_photos_waiting``: photos (of reports, problems, nodes) not downloaded into the photo store yet
  (due, or waiting for another attempt; ``storage.photos``), read at scrape time;
- ``diaodu_store_up`` and ``diaodu_leader``: whether the last scrape reached the store, and whether this
  process leads (runs the jobs and the sender);
- ``diaodu_channel_up{channel}`` and ``diaodu_channel_fault{channel,reason}``: whether each channel of the
  sender can send, and while one is down as a whole (its setup is wrong, its notices held) why
  (``bot.services.channel_breaker``), read at scrape time.

Everything is updated from the event loop's thread (APScheduler's asyncio scheduler calls its listeners
there too). The health check is ``bot.ops.health``.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

from bot.clock import Clock
from bot.ops.health import age_seconds

CONTENT_TYPE = CONTENT_TYPE_LATEST
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class BotMetrics:
    """The bot's instruments (see the module's docstring), in a registry of their own."""

    def __init__(self) -> None:
        # A ``*_created`` timestamp beside every counter and histogram says nothing a scrape of a long-running
        # bot needs, and doubles the series.
        disable_created_metrics()
        self.registry = registry = CollectorRegistry()

        def counter(name: str, doc: str, labels: tuple[str, ...] = ()) -> Counter:
            return Counter(name, doc, labels, registry=registry)

        def gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
            return Gauge(name, doc, labels, registry=registry)

        self.updates = counter("diaodu_updates_total",
                               "Updates (messages, button presses) handled, by channel and outcome.",
                               ("channel", "outcome"))
        self.handler_seconds = Histogram("diaodu_handler_seconds", "Time to handle one update, in seconds.",
                                         ("channel",), registry=registry, buckets=LATENCY_BUCKETS)
        self.outbox_sent = counter("diaodu_outbox_sent_total", "Outbox notices sent, by channel.", ("channel",))
        self.outbox_failed = counter("diaodu_outbox_failed_total",
                                     "Outbox send attempts that failed, by channel and reason "
                                     "(the notice may be retried).", ("channel", "reason"))
        self.outbox_pending = gauge("diaodu_outbox_pending",
                                    "Outbox notices due or being sent now (read from the store at scrape time).")
        self.outbox_oldest_age = gauge("diaodu_outbox_oldest_pending_age_seconds",
                                       "Age of the oldest pending notice in seconds (0 when none).")
        self.outbox_waiting_for_group = gauge("diaodu_outbox_waiting_for_group",
                                              "Outbox notices waiting for a bulletin group the bot is out of or "
                                              "muted in (not due; read from the store at scrape time).")
        self.outbox_messages = gauge("diaodu_outbox_messages",
                                     "Outbox rows by state (read from the store at scrape time); pending rows "
                                     "waiting for a bulletin group are state waiting_for_group.", ("state",))
        self.job_runs = counter("diaodu_job_runs_total", "Scheduled job runs, by job id and outcome.",
                                ("job", "outcome"))
        self.job_last_success = gauge("diaodu_job_last_success_timestamp_seconds",
                                      "When each job last finished without error (Unix time).", ("job",))
        self.photos_waiting = gauge("diaodu_photos_waiting",
                                    "Photos of reports, problems and nodes not downloaded yet "
                                    "(due or waiting for another attempt).")
        self.store_up = gauge("diaodu_store_up", "1 if the last scrape could read the store, else 0.")
        self.leader = gauge("diaodu_leader", "1 if this process leads (runs the jobs and the sender).")
        self.leader.set(1)
        self.channel_up = gauge("diaodu_channel_up", "1 if the channel can send, 0 while it is down as a whole "
                                "(its setup is wrong; its notices are held).", ("channel",))
        self.channel_fault = gauge("diaodu_channel_fault", "1 for the reason a channel is down.",
                                   ("channel", "reason"))

    def render(self) -> bytes:
        """Every metric in the text exposition format."""
        return generate_latest(self.registry)

    def sample(self, name: str, **labels: str) -> float:
        """One sample's current value (0 when it has none yet)."""
        return self.registry.get_sample_value(name, labels) or 0.0

    def observe_update(self, channel: str, outcome: str, seconds: float) -> None:
        self.updates.labels(channel=channel, outcome=outcome).inc()
        self.handler_seconds.labels(channel=channel).observe(seconds)

    def observe_job(self, job: str, outcome: str, at: float | None = None) -> None:
        self.job_runs.labels(job=job, outcome=outcome).inc()
        if outcome == "ok":
            self.job_last_success.labels(job=job).set(time.time() if at is None else at)

    def observe_channels(self, states: Mapping[str, Any]) -> None:
        """Each channel's state (``OutboxSender.channel_states``: its fault, None when up)."""
        self.channel_up.clear()
        self.channel_fault.clear()
        for channel, fault in states.items():
            self.channel_up.labels(channel=channel).set(0 if fault is not None else 1)
            if fault is not None:
                self.channel_fault.labels(channel=channel, reason=fault.reason).set(1)

    async def collect(self, db: Any, clock: Clock, *, leadership: Any = None, timeout: float = 5.0,
                      channel_states: Callable[[], Mapping[str, Any]] | None = None) -> None:
        """Refresh what is read at scrape time: the outbox backlog and row counts, the leadership, the
        channels' states."""
        from storage import outbox_views, photos

        if leadership is not None:
            self.leader.set(1 if leadership.is_leader else 0)
        if channel_states is not None:
            self.observe_channels(channel_states())
        now = clock.now()

        async def read() -> tuple[Any, dict[str, int], int]:
            async with db.session() as session:
                backlog = await outbox_views.backlog(session, now=now)
                rows = await outbox_views.rows_by_state(session)
                waiting = await photos.waiting_count(session)
            return backlog, rows, waiting

        try:
            backlog, by_state, photos_waiting = await asyncio.wait_for(read(), timeout)
        except Exception:  # noqa: BLE001 - the scrape still answers, saying the store is down
            self.store_up.set(0)
            return
        self.store_up.set(1)
        self.outbox_pending.set(backlog.pending)
        self.outbox_oldest_age.set(age_seconds(now, backlog.oldest_created_at) or 0.0)
        self.outbox_waiting_for_group.set(backlog.waiting_for_group)
        self.outbox_messages.clear()  # states with no rows any more are dropped
        for state, count in by_state.items():
            self.outbox_messages.labels(state=state).set(count)
        self.photos_waiting.set(photos_waiting)


def metrics_handler(registry: BotMetrics, db: Any, clock: Clock, *, leadership: Any = None,
                    token: str | None = None, channel_states: Callable[[], Mapping[str, Any]] | None = None) -> Any:
    """An aiohttp handler serving ``registry`` (outbox figures refreshed from ``db`` at every scrape).

    With a ``token`` (METRICS_TOKEN), a scrape must send ``Authorization: Bearer <token>``; any other
    request is answered 401 without touching the store.
    """
    expected = f"Bearer {token}".encode() if token else None

    async def metrics(request: web.Request) -> web.Response:
        if expected is not None:
            given = request.headers.get("Authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                return web.Response(status=401, text="unauthorized",
                                    headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
        await registry.collect(db, clock, leadership=leadership, channel_states=channel_states)
        return web.Response(body=registry.render(), headers={"Content-Type": CONTENT_TYPE})

    return metrics


# ---------------------------------------------------------------- instrumenting the bot


def instrument_router(router: Any, registry: BotMetrics) -> Any:
    """Count and time every ``router.handle(msg)`` (wraps the method on this router object)."""
    handle = router.handle

    async def timed_handle(msg: Any) -> Any:
        started = time.perf_counter()
        outcome = "error"
        try:
            result = await handle(msg)
            outcome = "ok"
            return result
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        finally:
            registry.observe_update(str(getattr(msg, "channel", "unknown")), outcome,
                                    time.perf_counter() - started)

    router.handle = timed_handle
    return router


_FAILURE_REASONS = (
    ("RetryLater", "retry_later"), ("RecipientBlocked", "blocked"), ("PermanentError", "permanent"),
    # The sender cancels a send that takes too long (asyncio.wait_for): counted as a timeout, like the
    # rare send cancelled by a shutdown.
    ("TransientError", "transient"), ("TimeoutError", "timeout"), ("CancelledError", "timeout"),
)


def _reason(error: BaseException) -> str:
    names = {cls.__name__ for cls in type(error).__mro__}
    for name, reason in _FAILURE_REASONS:
        if name in names:
            return reason
    return "error"


class InstrumentedTransport:
    """A transport that counts its sends; everything else is the wrapped transport's."""

    def __init__(self, inner: Any, registry: BotMetrics, channel: str) -> None:
        self._inner = inner
        self._registry = registry
        self._channel = channel

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def send(self, chat_id: str, reply: Any, **kwargs: Any) -> Any:
        try:
            sent = await self._inner.send(chat_id, reply, **kwargs)
        except BaseException as error:
            self._registry.outbox_failed.labels(channel=self._channel, reason=_reason(error)).inc()
            raise
        self._registry.outbox_sent.labels(channel=self._channel).inc()
        return sent  # the ids of the messages sent, as the wrapped transport gives them


def instrument_transports(transports: Mapping[str, Any], registry: BotMetrics) -> dict[str, Any]:
    """The transports (as given to ``OutboxSender``), each counting its sends."""
    return {name: InstrumentedTransport(t, registry, name) for name, t in transports.items()}


def instrument_scheduler(scheduler: Any, registry: BotMetrics) -> None:
    """Count every job run (ok, error, missed) of an APScheduler scheduler."""
    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED

    def listener(event: Any) -> None:
        if event.code == EVENT_JOB_EXECUTED:
            registry.observe_job(event.job_id, "ok")
        elif event.code == EVENT_JOB_ERROR:
            registry.observe_job(event.job_id, "error")
        elif event.code == EVENT_JOB_MISSED:
            registry.observe_job(event.job_id, "missed")

    scheduler.add_listener(listener, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
