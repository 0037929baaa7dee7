"""/metrics and /healthz over real HTTP: valid exposition format, counters that move, honest health."""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select

from bot.app import Core
from bot.channels.base import RateLimits, TransientError
from bot.clock import FrozenClock
from bot.config import load_settings
from bot.domain.messages import Incoming, Reply
from bot.ops.health import Runtime, healthz_handler
from bot.ops.metrics import (
    CONTENT_TYPE,
    BotMetrics,
    instrument_router,
    instrument_scheduler,
    instrument_transports,
    metrics_handler,
)
from bot.services.ledger_import import import_ledger_files
from bot.services.outbox import OutboxSender
from storage import outbox
from storage.audit import Actor
from storage.db import Database
from storage.leader import AlwaysLeader
from storage.migrate import upgrade
from storage.models import Report, ReportPhoto
from tests.databases import require_postgres, url_for_database
from tests.polling import until

from .helpers import SAMPLE, START, console_account, say

_PAIR = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
_SAMPLE = re.compile(
    r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)'
    rf'(?:\{{(?P<labels>{_PAIR}(?:,{_PAIR})*)?\}})?'
    r' (?P<value>[-+]?(?:[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|Inf|NaN))$'
)
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
_TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def parse_exposition(body: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Check the text format line by line (HELP and TYPE before samples, sample syntax, histogram rules);
    returns every sample by (name, sorted labels)."""
    assert body.endswith("\n")
    types: dict[str, str] = {}
    helps: set[str] = set()
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for number, line in enumerate(body.splitlines(), 1):
        assert line, f"line {number} is empty"
        if line.startswith("# HELP "):
            name = line.split(" ", 3)[2]
            assert name not in helps, f"second HELP for {name}"
            helps.add(name)
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in _TYPES and name not in types and name in helps, line
            types[name] = kind
            continue
        assert not line.startswith("#"), f"line {number}: stray comment {line!r}"
        match = _SAMPLE.match(line)
        assert match, f"line {number} is not a sample: {line!r}"
        name = match["name"]
        family = name
        if name not in types:
            family = re.sub(r"_(bucket|sum|count)$", "", name)
            assert types.get(family) == "histogram", f"line {number}: {name} has no TYPE"
        labels = tuple(sorted(_LABEL.findall(match["labels"] or "")))
        key = (name, labels)
        assert key not in samples, f"line {number}: duplicate sample {line!r}"
        value = match["value"]
        samples[key] = math.inf if value in ("+Inf", "Inf") else float(value)
    for name, kind in types.items():  # histograms: cumulative buckets ending in +Inf == _count
        if kind != "histogram":
            continue
        series: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = {}
        for (sample, labels), value in samples.items():
            if sample == f"{name}_bucket":
                le = dict(labels)["le"]
                rest = tuple(p for p in labels if p[0] != "le")
                series.setdefault(rest, []).append((math.inf if le == "+Inf" else float(le), value))
        for rest, buckets in series.items():
            buckets.sort()
            counts = [c for _, c in buckets]
            assert counts == sorted(counts), f"{name} buckets are not cumulative"
            assert buckets[-1][0] == math.inf
            assert samples[(f"{name}_count", rest)] == counts[-1]
            assert (f"{name}_sum", rest) in samples
    return samples


def value(samples: dict, name: str, **labels: str) -> float:  # type: ignore[type-arg]
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


# ---------------------------------------------------------------- over HTTP


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[Core]:
    """A migrated SQLite file with the sample ledger, on a frozen clock."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
    await asyncio.to_thread(upgrade, url)
    clock = FrozenClock(START)
    core = Core.build(load_settings(DATABASE_URL=url, _env_file=None), clock=clock)
    await import_ledger_files(core.db, clock, [SAMPLE], actor=Actor(label="test", channel="cli"))
    try:
        yield core
    finally:
        await core.db.dispose()


def _app(registry: BotMetrics, db: Database, clock: FrozenClock, runtime: Runtime) -> web.Application:
    app = web.Application()
    app.router.add_get("/metrics", metrics_handler(registry, db, clock, leadership=runtime.leadership))
    app.router.add_get("/healthz", healthz_handler(db, clock, runtime))
    app.router.add_get("/readyz", healthz_handler(db, clock, runtime, ready=True))
    return app


class FileLikeTransport:
    """Sends into a list; the first message to chat "flaky" fails once."""

    channel = "test"
    limits = RateLimits(global_per_second=1000, per_chat_per_second=1000, per_group_per_minute=100_000)

    def __init__(self) -> None:
        self.sent: list[str] = []
        self._failed = False

    async def send(self, chat_id: str, reply: Reply, *, attachment: object = None) -> None:
        if chat_id == "flaky" and not self._failed:
            self._failed = True
            raise TransientError("connection reset")
        self.sent.append(chat_id)


async def test_metrics_over_http(core: Core) -> None:
    registry = BotMetrics()
    clock: FrozenClock = core.clock  # type: ignore[assignment]
    instrument_router(core.router, registry)
    transport = FileLikeTransport()
    sender = OutboxSender(core.db, clock, instrument_transports({"test": transport}, registry))
    scheduler = AsyncIOScheduler()
    instrument_scheduler(scheduler, registry)
    runtime = Runtime(scheduler=scheduler, sender=sender, leadership=AlwaysLeader())
    await runtime.leadership.acquire(asyncio.Event())

    async with TestClient(TestServer(_app(registry, core.db, clock, runtime))) as client:
        response = await client.get("/metrics")
        assert response.status == 200
        assert response.headers["Content-Type"] == CONTENT_TYPE
        body = await response.text()
        samples = parse_exposition(body)
        for family in ("diaodu_updates_total", "diaodu_handler_seconds", "diaodu_outbox_sent_total",
                       "diaodu_outbox_failed_total", "diaodu_outbox_pending", "diaodu_job_runs_total"):
            assert f"# HELP {family} " in body and f"# TYPE {family} " in body
        assert value(samples, "diaodu_outbox_pending") == 0 and value(samples, "diaodu_photos_waiting") == 0
        assert value(samples, "diaodu_store_up") == 1 and value(samples, "diaodu_leader") == 1

        # Updates through the router, by channel and outcome, timed.
        liaison = await console_account(core, "郝芳")
        assert "已记录填报" in await say(core, liaison, "/report ZD2026-001 850万 桩基完成")
        await say(core, liaison, "/help")

        async def broken(_msg: Incoming) -> None:
            raise RuntimeError("boom")

        failing_router = instrument_router(SimpleNamespace(handle=broken), registry)
        with pytest.raises(RuntimeError):
            await failing_router.handle(Incoming(channel="console", user_id="u", chat_id="c", text="/x"))

        # Notices queued a minute and a half ago: pending at scrape time, with their age.
        async with core.db.session() as session:
            for chat in ("a", "b", "flaky"):
                await outbox.enqueue_for_chat(session, channel="test", chat_id=chat, reply=Reply(html=chat),
                                              key=f"k-{chat}", now=clock.now() - timedelta(seconds=90))
        async with core.db.session() as session:  # a photo of that report, not downloaded yet
            report_id = await session.scalar(select(Report.id))
            session.add(ReportPhoto(report_id=report_id, channel="telegram", file_id="AgAC1", fetch_after=clock.now()))
        samples = parse_exposition(await (await client.get("/metrics")).text())
        assert value(samples, "diaodu_photos_waiting") == 1
        assert value(samples, "diaodu_updates_total", channel="console", outcome="ok") == 2
        assert value(samples, "diaodu_updates_total", channel="console", outcome="error") == 1
        assert value(samples, "diaodu_handler_seconds_count", channel="console") == 3
        assert value(samples, "diaodu_outbox_pending") == 3
        assert value(samples, "diaodu_outbox_oldest_pending_age_seconds") == 90
        assert value(samples, "diaodu_outbox_messages", state="pending") == 3

        health = await client.get("/healthz")
        report = await health.json()
        assert health.status == 503  # the leader's scheduler is not running yet
        assert report["outbox"] == {"pending": 3, "oldest_pending_age_seconds": 90.0, "waiting_for_group": 0}
        assert report["problems"] == ["scheduler stopped on the leader"]
        assert report["live"] is False and report["ready"] is False
        assert (await client.get("/readyz")).status == 503  # not live is not ready either

        # Sends through the instrumented transports; job runs through the scheduler's events.
        await sender.run_once()
        done = asyncio.Event()

        async def fine() -> None:
            done.set()

        async def failing() -> None:
            raise RuntimeError("job failed")

        scheduler.start()
        try:
            scheduler.add_job(fine, id="digests")
            scheduler.add_job(failing, id="escalation")
            await asyncio.wait_for(done.wait(), 5)

            async def both_runs_counted() -> bool:  # a job's run is counted after it ended, the two in any order
                return all(registry.sample("diaodu_job_runs_total", job=job, outcome=outcome)
                           for job, outcome in (("digests", "ok"), ("escalation", "error")))

            await until(both_runs_counted, "both job runs counted", 2, every=0.02)
            health = await client.get("/healthz")
            report = await health.json()
            assert health.status == 200, report
            assert report["scheduler"] == "running" and report["leader"] is True
            assert report["live"] is True and report["ready"] is True and "problems" not in report
            assert (await client.get("/readyz")).status == 200
            assert report["outbox"]["pending"] == 0  # "flaky" waits for its retry, not due yet
        finally:
            scheduler.shutdown(wait=False)
        samples = parse_exposition(await (await client.get("/metrics")).text())
        assert value(samples, "diaodu_outbox_sent_total", channel="test") == 2
        assert value(samples, "diaodu_outbox_failed_total", channel="test", reason="transient") == 1
        assert value(samples, "diaodu_outbox_pending") == 0  # the retry is not due yet
        assert value(samples, "diaodu_outbox_messages", state="sent") == 2
        assert value(samples, "diaodu_job_runs_total", job="digests", outcome="ok") == 1
        assert value(samples, "diaodu_job_runs_total", job="escalation", outcome="error") == 1
        assert value(samples, "diaodu_job_last_success_timestamp_seconds", job="digests") > 0
        clock.advance(minutes=1)
        samples = parse_exposition(await (await client.get("/metrics")).text())
        assert value(samples, "diaodu_outbox_pending") == 1
        assert value(samples, "diaodu_outbox_oldest_pending_age_seconds") == 150


async def test_notices_waiting_for_a_group_are_no_pending_row_in_the_metrics(core: Core) -> None:
    """A bulletin group the bot was taken out of: its notices wait there as planned. Neither the backlog nor the rows
    by state count them as pending; they are rows of their own state, as many as ``diaodu_outbox_waiting_for_group``
    says, and they go back to pending when the bot is back in the group."""
    from storage.models import BulletinGroup

    registry = BotMetrics()
    clock: FrozenClock = core.clock  # type: ignore[assignment]
    app = web.Application()
    app.router.add_get("/metrics", metrics_handler(registry, core.db, clock))
    async with core.db.session() as session:
        group = BulletinGroup(channel="test", chat_id="-100", name="城北片区", created_at=clock.now(),
                              created_by="test", left_at=clock.now())
        session.add(group)
        for n, chat in enumerate(("-100", "-100", "a")):
            await outbox.enqueue_for_chat(session, channel="test", chat_id=chat, reply=Reply(html="周通报"),
                                          key=f"k-{n}", now=clock.now() - timedelta(seconds=30))
    async with TestClient(TestServer(app)) as client:
        samples = parse_exposition(await (await client.get("/metrics")).text())
        assert value(samples, "diaodu_outbox_pending") == 1
        assert value(samples, "diaodu_outbox_waiting_for_group") == 2
        assert value(samples, "diaodu_outbox_messages", state="pending") == 1
        assert value(samples, "diaodu_outbox_messages", state="waiting_for_group") == 2

        async with core.db.session() as session:
            (await session.get(BulletinGroup, group.id)).left_at = None  # type: ignore[union-attr]
        samples = parse_exposition(await (await client.get("/metrics")).text())
        assert value(samples, "diaodu_outbox_messages", state="pending") == 3
        assert ("diaodu_outbox_messages", (("state", "waiting_for_group"),)) not in samples
        assert value(samples, "diaodu_outbox_pending") == 3 and value(samples, "diaodu_outbox_waiting_for_group") == 0


async def test_metrics_protected_by_a_bearer_token(core: Core) -> None:
    registry = BotMetrics()
    app = web.Application()
    app.router.add_get("/metrics", metrics_handler(registry, core.db, core.clock, token="scrape-me"))
    app.router.add_get("/healthz", healthz_handler(core.db, core.clock, Runtime()))
    async with TestClient(TestServer(app)) as client:
        refused = [await client.get("/metrics", headers=headers) for headers in (
            {}, {"Authorization": "Bearer wrong"}, {"Authorization": "scrape-me"},
            {"Authorization": "Basic c2NyYXBlLW1l"}, {"Authorization": "Bearer scrape-me-too"})]
        assert [r.status for r in refused] == [401] * 5
        assert refused[0].headers["WWW-Authenticate"].startswith("Bearer")
        assert "diaodu_" not in await refused[0].text()
        allowed = await client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
        assert allowed.status == 200
        assert "diaodu_outbox_pending" in parse_exposition_names(await allowed.text())
        assert (await client.get("/healthz")).status in (200, 503)  # health stays open to probes


def parse_exposition_names(body: str) -> set[str]:
    return {name for name, _labels in parse_exposition(body)}


def test_the_http_server_listens_on_loopback_unless_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HTTP_HOST", raising=False)
    monkeypatch.delenv("METRICS_TOKEN", raising=False)
    settings = load_settings(_env_file=None)
    assert (settings.http_host, settings.metrics_token) == ("127.0.0.1", None)
    monkeypatch.setenv("HTTP_HOST", "0.0.0.0")
    monkeypatch.setenv("METRICS_TOKEN", "scrape-me")
    settings = load_settings(_env_file=None)
    assert settings.http_host == "0.0.0.0"
    assert settings.metrics_token is not None and settings.metrics_token.get_secret_value() == "scrape-me"
    example = (Path(__file__).resolve().parents[2] / ".env.example").read_text(encoding="utf-8")
    assert "\nHTTP_HOST=127.0.0.1\n" in example and "\nMETRICS_TOKEN=\n" in example


async def test_health_of_a_standby_process(core: Core) -> None:
    class Standby:
        is_leader = False

    scheduler = AsyncIOScheduler()
    scheduler.start(paused=True)
    try:
        runtime = Runtime(scheduler=scheduler, leadership=Standby())
        app = _app(BotMetrics(), core.db, core.clock, runtime)  # type: ignore[arg-type]
        async with TestClient(TestServer(app)) as client:
            response = await client.get("/healthz")
            report = await response.json()
            assert response.status == 200, report
            assert report["leader"] is False and report["scheduler"] == "paused"
            samples = parse_exposition(await (await client.get("/metrics")).text())
            assert value(samples, "diaodu_leader") == 0
    finally:
        scheduler.shutdown(wait=False)


async def test_not_ready_but_alive_when_the_schema_is_not_current(tmp_path: Path) -> None:
    """A schema another version migrated is no reason to restart this process (a restart would refuse to start):
    /readyz says it, /healthz stays 200."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}")
    try:
        async with TestClient(TestServer(_app(BotMetrics(), db, FrozenClock(START), Runtime()))) as client:
            response = await client.get("/readyz")
            report = await response.json()
            assert response.status == 503
            assert report["store"] == "ok" and report["schema_current"] is False
            assert report["ok"] is False and "schema out of date" in report["problems"]
            alive = await client.get("/healthz")
            assert alive.status == 200
            assert (await alive.json())["live"] is True
    finally:
        await db.dispose()


async def test_health_503_when_the_store_is_unreachable_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "broken.sqlite3"
    path.write_bytes(b"this is not a database" * 200)
    db = Database(f"sqlite+aiosqlite:///{path}")
    registry = BotMetrics()
    try:
        async with TestClient(TestServer(_app(registry, db, FrozenClock(START), Runtime()))) as client:
            response = await client.get("/healthz")
            assert response.status == 503
            assert (await response.json())["store"] == "unreachable"
            assert (await client.get("/readyz")).status == 503
            metrics = await client.get("/metrics")
            assert metrics.status == 200  # a scrape still answers, and says the store is down
            assert value(parse_exposition(await metrics.text()), "diaodu_store_up") == 0
    finally:
        await db.dispose()


async def test_health_503_when_the_store_is_unreachable_postgres() -> None:
    missing = url_for_database(require_postgres(), "diaodu_ops_missing_database")
    db = Database(missing)
    try:
        async with TestClient(TestServer(_app(BotMetrics(), db, FrozenClock(START), Runtime()))) as client:
            response = await client.get("/healthz")
            report = await response.json()
            assert response.status == 503
            assert report["store"] == "unreachable" and report["ok"] is False
    finally:
        await db.dispose()
