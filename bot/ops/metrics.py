"""Metrics in the Prometheus text format (version 0.0.4), and the health check.

A deliberately small registry (counters, gauges, histograms with fixed buckets) instead of a dependency.
``BotMetrics`` holds the bot's instruments:

- ``diaodu_updates_total{channel,outcome}`` and ``diaodu_handler_seconds{channel}``: updates handled by
  the router (``instrument_router``), outcome ``ok``, ``error`` or ``cancelled``;
- ``diaodu_outbox_sent_total{channel}`` and ``diaodu_outbox_failed_total{channel,reason}``: send attempts
  through the transports (``instrument_transports``); a failed attempt may still be retried later, the
  final states are ``diaodu_outbox_messages{state}`` (``failed``, ``undeliverable`` and ``in_doubt``, a
  send cut short by a crash, wait for an admin's ``/outbox`` retry; ``held`` waits for its person to bind
  an account, ``merged`` and ``summarised`` went out as part of a list or a summary);
- ``diaodu_outbox_pending`` and ``diaodu_outbox_oldest_pending_age_seconds``: read from the store at
  scrape time (``storage.outbox.backlog``: due or in flight), with ``diaodu_outbox_messages{state}``;
- ``diaodu_job_runs_total{job,outcome}`` and ``diaodu_job_last_success_timestamp_seconds{job}``: scheduler
  runs (``instrument_scheduler``), outcome ``ok``, ``error`` or ``missed``;
- ``diaodu_photos_waiting``: photos (of reports, problems, nodes) not downloaded into the photo store yet
  (due, or waiting for another attempt; ``storage.photos``), read at scrape time;
- ``diaodu_store_up`` and ``diaodu_leader``: whether the last scrape reached the store, and whether this
  process leads (runs the jobs and the sender).

Everything is updated from the event loop's thread (APScheduler's asyncio scheduler calls its listeners
there too); a lock makes rendering safe from any thread anyway.
"""

from __future__ import annotations

import asyncio
import hmac
import math
import re
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sqlalchemy import func, select, text

from bot.clock import Clock

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def format_value(value: float) -> str:
    """A sample value as Prometheus writes it: ``1.0``, ``0.005``, ``+Inf``, ``NaN``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n")


def _labels(names: Sequence[str], values: Sequence[str], extra: tuple[str, str] | None = None) -> str:
    pairs = [f'{n}="{_escape_label(v)}"' for n, v in zip(names, values, strict=True)]
    if extra is not None:
        pairs.append(f'{extra[0]}="{extra[1]}"')
    return "{" + ",".join(pairs) + "}" if pairs else ""


class _Metric:
    kind = ""

    def __init__(self, name: str, help_text: str, labelnames: Sequence[str] = (),
                 lock: threading.Lock | None = None) -> None:
        if not _NAME.match(name):
            raise ValueError(f"bad metric name {name!r}")
        for label in labelnames:
            if not _LABEL.match(label) or label.startswith("__") or label == "le":
                raise ValueError(f"bad label name {label!r}")
        self.name = name
        self.help = help_text
        self.labelnames = tuple(labelnames)
        self._lock = lock or threading.Lock()

    def _key(self, labels: Mapping[str, object]) -> tuple[str, ...]:
        if set(labels) != set(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}, got {tuple(labels)}")
        return tuple(str(labels[n]) for n in self.labelnames)

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {_escape_help(self.help)}", f"# TYPE {self.name} {self.kind}"]

    def samples(self) -> list[str]:
        raise NotImplementedError


class Counter(_Metric):
    """A value that only goes up."""

    kind = "counter"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._values: dict[tuple[str, ...], float] = {} if self.labelnames else {(): 0.0}

    def inc(self, amount: float = 1.0, **labels: object) -> None:
        if amount < 0:
            raise ValueError("a counter only goes up")
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: object) -> float:
        return self._values.get(self._key(labels), 0.0)

    def samples(self) -> list[str]:
        return [f"{self.name}{_labels(self.labelnames, k)} {format_value(v)}"
                for k, v in sorted(self._values.items())]


class Gauge(Counter):
    """A value that goes up and down."""

    kind = "gauge"

    def set(self, value: float, **labels: object) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = float(value)

    def inc(self, amount: float = 1.0, **labels: object) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def dec(self, amount: float = 1.0, **labels: object) -> None:
        self.inc(-amount, **labels)

    def replace(self, values: Mapping[tuple[str, ...], float]) -> None:
        """Set every labelled series at once, dropping those not given."""
        with self._lock:
            self._values = {tuple(k): float(v) for k, v in values.items()}


class Histogram(_Metric):
    """Observations counted into fixed cumulative buckets, with their sum and count."""

    kind = "histogram"

    def __init__(self, name: str, help_text: str, labelnames: Sequence[str] = (),
                 buckets: Iterable[float] = LATENCY_BUCKETS, lock: threading.Lock | None = None) -> None:
        super().__init__(name, help_text, labelnames, lock)
        bounds = sorted(float(b) for b in buckets)
        if not bounds or bounds != sorted(set(bounds)):
            raise ValueError("histogram buckets must be distinct")
        if not math.isinf(bounds[-1]):
            bounds.append(math.inf)
        self.buckets = tuple(bounds)
        self._series: dict[tuple[str, ...], list[float]] = {}  # bucket counts…, sum, count

    def observe(self, value: float, **labels: object) -> None:
        key = self._key(labels)
        with self._lock:
            series = self._series.setdefault(key, [0.0] * (len(self.buckets) + 2))
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    series[i] += 1
                    break
            series[-2] += value
            series[-1] += 1

    def count(self, **labels: object) -> float:
        series = self._series.get(self._key(labels))
        return series[-1] if series else 0.0

    def samples(self) -> list[str]:
        lines: list[str] = []
        for key, series in sorted(self._series.items()):
            cumulative = 0.0
            for i, bound in enumerate(self.buckets):
                cumulative += series[i]
                le = ("le", format_value(bound))
                labels = _labels(self.labelnames, key, le)
                lines.append(f"{self.name}_bucket{labels} {format_value(cumulative)}")
            lines.append(f"{self.name}_sum{_labels(self.labelnames, key)} {format_value(series[-2])}")
            lines.append(f"{self.name}_count{_labels(self.labelnames, key)} {format_value(series[-1])}")
        return lines


class Registry:
    """Named metrics, rendered together."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._metrics: dict[str, _Metric] = {}

    def _add(self, metric: _Metric) -> Any:
        if metric.name in self._metrics:
            raise ValueError(f"metric {metric.name} registered twice")
        self._metrics[metric.name] = metric
        return metric

    def counter(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> Counter:
        return self._add(Counter(name, help_text, labelnames, lock=self._lock))  # type: ignore[no-any-return]

    def gauge(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> Gauge:
        return self._add(Gauge(name, help_text, labelnames, lock=self._lock))  # type: ignore[no-any-return]

    def histogram(self, name: str, help_text: str, labelnames: Sequence[str] = (),
                  buckets: Iterable[float] = LATENCY_BUCKETS) -> Histogram:
        histogram = Histogram(name, help_text, labelnames, buckets, lock=self._lock)
        return self._add(histogram)  # type: ignore[no-any-return]

    def render(self) -> str:
        """Every metric in the text exposition format, ending with a newline."""
        lines: list[str] = []
        with self._lock:
            for metric in self._metrics.values():
                lines += metric.header()
                lines += metric.samples()
        return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the bot's metrics


class BotMetrics(Registry):
    """The bot's instruments (see the module's docstring)."""

    def __init__(self) -> None:
        super().__init__()
        counter, gauge = self.counter, self.gauge
        self.updates = counter("diaodu_updates_total",
                               "Updates (messages, button presses) handled, by channel and outcome.",
                               ("channel", "outcome"))
        self.handler_seconds = self.histogram("diaodu_handler_seconds",
                                              "Time to handle one update, in seconds.", ("channel",))
        self.outbox_sent = counter("diaodu_outbox_sent_total", "Outbox notices sent, by channel.",
                                   ("channel",))
        self.outbox_failed = counter("diaodu_outbox_failed_total",
                                     "Outbox send attempts that failed, by channel and reason "
                                     "(the notice may be retried).", ("channel", "reason"))
        self.outbox_pending = gauge("diaodu_outbox_pending",
                                    "Outbox notices due or being sent now (read from the store at scrape "
                                    "time).")
        self.outbox_oldest_age = gauge("diaodu_outbox_oldest_pending_age_seconds",
                                       "Age of the oldest pending notice in seconds (0 when none).")
        self.outbox_messages = gauge("diaodu_outbox_messages",
                                     "Outbox rows by state (read from the store at scrape time).", ("state",))
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

    def observe_update(self, channel: str, outcome: str, seconds: float) -> None:
        self.updates.inc(channel=channel, outcome=outcome)
        self.handler_seconds.observe(seconds, channel=channel)

    def observe_job(self, job: str, outcome: str, at: float | None = None) -> None:
        self.job_runs.inc(job=job, outcome=outcome)
        if outcome == "ok":
            self.job_last_success.set(time.time() if at is None else at, job=job)

    async def collect(self, db: Any, clock: Clock, *, leadership: Any = None, timeout: float = 5.0) -> None:
        """Refresh what is read at scrape time: the outbox backlog and row counts, the leadership."""
        from storage import outbox_views, photos
        from storage.models import OutboxMessage

        if leadership is not None:
            self.leader.set(1 if leadership.is_leader else 0)
        now = clock.now()

        async def read() -> tuple[Any, list[Any], int]:
            async with db.session() as session:
                backlog = await outbox_views.backlog(session, now=now)
                rows = (await session.execute(
                    select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state))).all()
                waiting = await photos.waiting_count(session)
            return backlog, list(rows), waiting

        try:
            backlog, by_state, photos_waiting = await asyncio.wait_for(read(), timeout)
        except Exception:  # noqa: BLE001 - the scrape still answers, saying the store is down
            self.store_up.set(0)
            return
        self.store_up.set(1)
        self.outbox_pending.set(backlog.pending)
        self.outbox_oldest_age.set(_age(now, backlog.oldest_created_at) or 0.0)
        self.outbox_messages.replace({(str(state),): count for state, count in by_state})
        self.photos_waiting.set(photos_waiting)


def _age(now: datetime, then: datetime | None) -> float | None:
    if then is None:
        return None
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    return max(0.0, (now - then).total_seconds())


def metrics_handler(registry: BotMetrics, db: Any, clock: Clock, *, leadership: Any = None,
                    token: str | None = None) -> Any:
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
        await registry.collect(db, clock, leadership=leadership)
        return web.Response(body=registry.render().encode("utf-8"), headers={"Content-Type": CONTENT_TYPE})

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

    async def send(self, chat_id: str, reply: Any, **kwargs: Any) -> None:
        try:
            await self._inner.send(chat_id, reply, **kwargs)
        except BaseException as error:
            self._registry.outbox_failed.inc(channel=self._channel, reason=_reason(error))
            raise
        self._registry.outbox_sent.inc(channel=self._channel)


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


# ---------------------------------------------------------------- health


@dataclass
class Runtime:
    """What a running bot has for health to look at; the app fills it in as things start and stop."""

    scheduler: Any = None
    sender: Any = None
    sending: asyncio.Task[Any] | None = None  # the running OutboxSender.run_forever task, if any
    leadership: Any = None


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
                 stale_after: float | None = None) -> tuple[int, dict[str, Any]]:
    """(HTTP status, report): 200 when the store answers ``SELECT 1``, the schema is current and, on the
    leader, the scheduler (and the sender task, when given) runs; 503 otherwise. A process that does not
    lead is healthy with its scheduler paused. With ``stale_after`` (seconds), an oldest pending notice
    older than that also makes it 503.
    """
    from storage import outbox_views
    from storage.migrate import schema_is_current

    leader = True if leadership is None else bool(leadership.is_leader)
    report: dict[str, Any] = {"ok": False, "leader": leader}
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
    problems: list[str] = []
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
        age = _age(now, backlog.oldest_created_at)
        report["outbox"] = {"pending": backlog.pending,
                            "oldest_pending_age_seconds": None if age is None else round(age, 3)}
        if stale_after is not None and age is not None and age > stale_after:
            problems.append("outbox backlog is stale")

    report["scheduler"] = state = _scheduler_state(scheduler)
    if scheduler is not None:
        report["jobs"] = len(scheduler.get_jobs())
        if leader and state != "running":
            problems.append(f"scheduler {state} on the leader")
    if sending is not None:
        report["sender"] = "running" if not sending.done() else "stopped"
        if leader and sending.done():
            problems.append("outbox sender stopped on the leader")
    elif sender is not None:
        report["sender"] = "running" if leader else "standby"
    else:
        report["sender"] = "absent"
    if sender is not None and hasattr(sender, "transports"):
        report["channels"] = sorted(sender.transports)
    report["ok"] = not problems
    if problems:
        report["problems"] = problems
    return (200 if not problems else 503), report


def healthz_handler(db: Any, clock: Clock, runtime: Runtime | None = None, *,
                    stale_after: float | None = None) -> Any:
    """An aiohttp handler answering ``health`` as JSON, looking at ``runtime`` as it is at each request."""
    runtime = runtime or Runtime()

    async def healthz(_request: web.Request) -> web.Response:
        status, report = await health(db, clock, runtime.scheduler, runtime.sender,
                                      leadership=runtime.leadership, sending=runtime.sending,
                                      stale_after=stale_after)
        return web.json_response(report, status=status)

    return healthz
