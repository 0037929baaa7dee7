"""Throughput of one-shot reports through the whole Telegram pipeline (a regression guard), with a bare PTB
echo bot on the same transport for comparison.

    python bench/report_throughput.py [--n 500] [--rounds 5] [--batch 0] [--users 5] [--fake process|inline]
                                      [--profile]

Both runs use the same transport: the fake Bot API from the tests, over real HTTP on 127.0.0.1, polled by
python-telegram-bot 22 (poll_interval=0). By default the fake runs in its own process so its work does not
compete with the bot for the interpreter, as Telegram's servers would not.

- full: fake Bot API -> PTB polling -> TelegramChannel -> Router -> SQLite file database (WAL) in a temp
  directory -> reply via sendMessage (HTML).
- echo: fake Bot API -> PTB polling -> a MessageHandler that sends the (escaped) text back, same send options.

All N updates are queued up front (or in batches of --batch), and the clock runs until N replies were
recorded by the fake. Each of --rounds rounds runs echo and full back to back (every other round full
first), and the Router alone (no Telegram) to split the cost. Prints the median reports/s of both and the
median of the rounds' own full/echo ratios (for information: no goal). The verdict is the sustained
throughput of the full pipeline: at least 100 reports/s (three times what Telegram lets a bot send in bulk).

One report counts per project and day, so the bot's clock moves on a day with every message
(``NextDayClock``): every report is the day's first for its project, as at an evening rush.

After the warm-up the heap is settled (``bot.app.settle_heap``: start-up objects are left out of later
garbage collections) as ``diaodu run`` does once it has started; both bots share the process, so both
gain from it. Both applications are built the same way (ApplicationBuilder defaults: updates handled one at a time, the
same HTTP client limits), poll the same fake with the same settings and send with the same options as
the bot's own transport (HTML, link previews off); the configuration is printed first. Besides wall-clock
rates it prints the CPU time of this process per update (the bot's event loop plus SQLite's thread; the
fake runs elsewhere by default), which other load on the machine disturbs far less, and how many SQL
statements one report takes.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import html
import io
import multiprocessing
import os
import platform
import pstats
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402
import aiosqlite  # noqa: E402
import sqlalchemy  # noqa: E402
import telegram  # noqa: E402
from sqlalchemy import event, func, select  # noqa: E402
from telegram import LinkPreviewOptions, Update  # noqa: E402
from telegram.constants import ParseMode  # noqa: E402
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters  # noqa: E402

from bot.app import Core, settle_heap  # noqa: E402
from bot.channels.telegram import TelegramChannel  # noqa: E402
from bot.channels.telegram_polling import FOLDER as TELEGRAM_INBOX  # noqa: E402
from bot.channels.telegram_polling import JournaledPolling, UpdateJournal  # noqa: E402
from bot.channels.telegram_updates import PollWatch  # noqa: E402
from bot.clock import FrozenClock, SystemClock  # noqa: E402
from bot.config import Settings, load_settings  # noqa: E402
from bot.domain.messages import Incoming  # noqa: E402
from bot.services.invites import create_invite  # noqa: E402
from bot.services.ledger_import import import_ledger_files  # noqa: E402
from storage.audit import Actor  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Project, Report  # noqa: E402
from tests.fakes.bot_api import FakeBotAPI  # noqa: E402

LEDGER = REPO / "bot" / "demo" / "projects_sample.xlsx"
START = datetime(2026, 11, 20, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
ACTOR = Actor(label="bench", channel="cli")
GOAL = 100.0  # reports/s the full pipeline must sustain
TOKEN = "123456:BENCH-token"
FIRST_USER = 50_001


# --- the fake, here or in a child process -----------------------------------------------------------


def _serve_fake(conn: Connection) -> None:
    """Child process: run the fake until the parent says stop."""

    async def serve_until_told() -> None:
        async with FakeBotAPI(token=TOKEN, control=True) as fake:
            conn.send(fake.port)
            await asyncio.get_running_loop().run_in_executor(None, conn.recv)

    asyncio.run(serve_until_told())


class FakeHandle:
    """Talks to the fake through its control endpoints (in-process it could be called directly, but the
    same path keeps both modes comparable)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}/bot"
        self.http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> FakeHandle:
        self.http = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self.http is not None
        await self.http.close()

    async def enqueue(self, texts: list[tuple[int, str]]) -> None:
        assert self.http is not None
        async with self.http.post(f"http://127.0.0.1:{self.port}/_fake/enqueue", json={"texts": texts}) as r:
            r.raise_for_status()

    async def wait(self, *, since: int, count: int, timeout: float) -> int:
        """Block (in the fake) until `count` replies were recorded after call index `since`."""
        assert self.http is not None
        url = (f"http://127.0.0.1:{self.port}/_fake/wait?method=sendMessage&since={since}&count={count}"
               f"&timeout={timeout}")
        async with self.http.get(url, timeout=aiohttp.ClientTimeout(total=timeout + 10)) as r:
            return int((await r.json())["count"])

    async def counts(self, since: int = 0) -> tuple[int, int]:
        """(successful sendMessage calls since `since`, all calls so far)."""
        assert self.http is not None
        url = f"http://127.0.0.1:{self.port}/_fake/count?method=sendMessage&since={since}"
        async with self.http.get(url) as r:
            body = await r.json()
        return body["count"], body["total"]


class NextDayClock(FrozenClock):
    """A clock one day later at every reading: each message is handled on a day of its own."""

    def now(self) -> datetime:
        self.advance(days=1)
        return super().now()


# --- the two bots --------------------------------------------------------------------------------------


def settings_for(port: int, database_url: str) -> Settings:
    return load_settings(
        TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_BASE_URL=f"http://127.0.0.1:{port}/bot",
        TELEGRAM_BASE_FILE_URL=f"http://127.0.0.1:{port}/file/bot", TELEGRAM_PROXY=None,
        TELEGRAM_WEBHOOK_URL=None, DATABASE_URL=database_url, _env_file=None,
    )


async def prepare_core(settings: Settings, users: int) -> tuple[Core, list[tuple[int, str]]]:
    """File database with the ledger and `users` liaisons bound; returns (core, [(user_id, code)])."""
    clock = FrozenClock(START)
    db = Database(settings.database_url)
    await db.create_all()
    summary = await import_ledger_files(db, clock, [LEDGER], actor=ACTOR)
    if summary.issues:
        raise SystemExit(f"ledger import failed: {summary.issues[:3]}")
    core = Core.build(settings, clock=clock, db=db)
    async with db.session() as session:
        projects = (await session.scalars(
            select(Project).where(Project.liaison_id.is_not(None)).order_by(Project.code)
        )).unique().all()
        chosen, seen = [], set()
        for project in projects:
            if project.liaison_id not in seen and project.total_investment - project.done_before > 1000:
                seen.add(project.liaison_id)
                chosen.append(project)
            if len(chosen) == users:
                break
        codes = []
        for project in chosen:
            invite = await create_invite(session, person=project.liaison, role="liaison", now=clock.now(),
                                         ttl=timedelta(hours=72), actor=ACTOR, bot_username="diaodu_bot")
            codes.append((project.code, invite.code))
    bound = []
    for n, (project_code, invite_code) in enumerate(codes):
        user_id = FIRST_USER + n
        outcome = await core.router.handle(Incoming(channel="telegram", user_id=str(user_id),
                                                    chat_id=str(user_id), text=f"/start {invite_code}",
                                                    display_name="bench"))
        assert "已绑定" in outcome.replies[0].html, outcome.replies[0].html
        bound.append((user_id, project_code))
    return Core.build(settings, clock=NextDayClock(START), db=db), bound


def echo_application(port: int) -> Application:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or update.effective_chat is None:
            return
        # The options the bot's transport sends every reply with.
        await context.bot.send_message(update.effective_chat.id, html.escape(message.text or "", quote=False),
                                       parse_mode=ParseMode.HTML, reply_markup=None,
                                       link_preview_options=LinkPreviewOptions(is_disabled=True))

    app = ApplicationBuilder().token(TOKEN).base_url(f"http://127.0.0.1:{port}/bot").build()
    app.add_handler(MessageHandler(filters.ALL, echo))
    return app


@dataclass
class Run:
    name: str
    n: int
    seconds: float
    cpu_seconds: float  # of this process (all its threads) during the run

    @property
    def rate(self) -> float:
        return self.n / self.seconds

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu_seconds / self.n


async def drive(app: Application, fake: FakeHandle, texts: list[tuple[int, str]], *, name: str, batch: int,
                timeout: float, journal: Path | None = None) -> Run:
    """Start polling as `diaodu run` does (each batch fetched journaled in the folder `journal`, if given), queue
    the texts (all at once, or `batch` at a time as replies catch up), and time until as many replies were
    recorded."""
    _, mark = await fake.counts()
    updates = UpdateJournal.open(app, journal, SystemClock()) if journal is not None else None
    poller = JournaledPolling(app, updates, PollWatch(), timeout=1)
    async with app:
        await app.start()
        await poller.start()
        try:
            n = len(texts)
            step = batch or n
            started, cpu_started = time.perf_counter(), time.process_time()
            queued = 0
            while queued < n:
                await fake.enqueue(texts[queued:queued + step])
                queued += len(texts[queued:queued + step])
                if queued < n:  # keep about half a batch in flight: wait, in the fake, for the replies
                    await fake.wait(since=mark, count=max(1, queued - step // 2), timeout=timeout)
            done = await fake.wait(since=mark, count=n, timeout=timeout)
            if done < n:
                raise SystemExit(f"{name}: only {done} of {n} replies after {timeout}s")
            return Run(name, n, time.perf_counter() - started, time.process_time() - cpu_started)
        finally:
            await poller.stop()
            await app.stop()
            if updates is not None:
                await updates.close()


def report_texts(bound: list[tuple[int, str]], n: int, offset: int) -> list[tuple[int, str]]:
    return [(bound[i % len(bound)][0], f"/report {bound[i % len(bound)][1]} 1 第{offset + i}次填报,主体施工中")
            for i in range(n)]


async def router_only(core: Core, texts: list[tuple[int, str]]) -> tuple[Run, dict[str, float]]:
    """The same reports straight into the Router: no Telegram, no HTTP (to split the cost). Also returns
    how many SQL statements SQLAlchemy ran per report (BEGIN and COMMIT are not counted)."""
    ran = {"statements": 0}

    def count(*_args: object) -> None:
        ran["statements"] += 1

    engine = core.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        started, cpu_started = time.perf_counter(), time.process_time()
        for user_id, text in texts:
            await core.router.handle(Incoming(channel="telegram", user_id=str(user_id), chat_id=str(user_id),
                                              text=text, display_name="bench"))
        run = Run("router", len(texts), time.perf_counter() - started, time.process_time() - cpu_started)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return run, {kind: n / len(texts) for kind, n in ran.items()}


def describe(args: argparse.Namespace, apps: dict[str, Application]) -> None:
    """What is being compared, so that runs on different machines or versions can be told apart."""
    print(f"python {platform.python_version()}, python-telegram-bot {telegram.__version__}, SQLAlchemy "
          f"{sqlalchemy.__version__}, aiosqlite {aiosqlite.__version__}, SQLite {sqlite3.sqlite_version}; "
          f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"updates per run: {args.n} (queued {f'{args.batch} at a time' if args.batch else 'all at once'}), "
          f"liaisons: {args.users}, rounds: {args.rounds}, fake Bot API: "
          f"{'separate process' if args.fake == 'process' else 'same event loop'}, over HTTP on 127.0.0.1")
    print("both: polling with poll_interval=0, timeout=1; replies sent as HTML with link previews off")
    for name, app in apps.items():
        print(f"  {name:5}: {type(app).__name__}, concurrent updates {app.concurrent_updates}, "
              f"{type(app.bot.request).__name__} (PTB's default HTTP client settings)")
    print(flush=True)


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


async def bench(args: argparse.Namespace, port: int) -> None:
    with tempfile.TemporaryDirectory(prefix="diaodu-bench-") as tmp:
        settings = settings_for(port, f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}")
        core, bound = await prepare_core(settings, args.users)
        inbox = Path(tmp) / TELEGRAM_INBOX  # the full bot journals the updates it fetched, as `diaodu run` does
        offset = 0

        def texts(n: int) -> list[tuple[int, str]]:
            nonlocal offset
            offset += n
            return report_texts(bound, n, offset)

        echo_runs: list[Run] = []
        full_runs: list[Run] = []
        router_runs: list[Run] = []
        statements: list[dict[str, float]] = []
        profiler = cProfile.Profile() if args.profile else None
        describe(args, {"echo": echo_application(port),
                        "full": TelegramChannel(settings, core.router).application})
        async with FakeHandle(port) as fake:
            warm = max(10, args.n // 20)
            await drive(echo_application(port), fake, texts(warm), name="warm-up echo", batch=0,
                        timeout=args.timeout)
            await drive(TelegramChannel(settings, core.router).application, fake, texts(warm),
                        name="warm-up full", batch=0, timeout=args.timeout, journal=inbox)
            settle_heap()  # as `diaodu run` does once it has started (for both bots: they share this process)

            async def run_echo() -> Run:
                return await drive(echo_application(port), fake, texts(args.n), name="echo", batch=args.batch,
                                   timeout=args.timeout)

            async def run_full(profile: bool) -> Run:
                application = TelegramChannel(settings, core.router).application
                if profiler and profile:
                    profiler.enable()
                try:
                    return await drive(application, fake, texts(args.n), name="full", batch=args.batch,
                                       timeout=args.timeout, journal=inbox)
                finally:
                    if profiler and profile:
                        profiler.disable()

            for round_no in range(1, args.rounds + 1):
                # Every other round the full bot goes first, so that a machine speeding up or slowing down
                # during a round favours neither bot over the rounds.
                if round_no % 2:
                    echo = await run_echo()
                    full = await run_full(round_no == 1)
                else:
                    full = await run_full(False)
                    echo = await run_echo()
                router, per_report = await router_only(core, texts(max(10, args.n // 5)))
                statements.append(per_report)
                echo_runs.append(echo)
                full_runs.append(full)
                router_runs.append(router)
                first = "echo" if round_no % 2 else "full"
                print(f"round {round_no} ({first} first): echo {echo.rate:7.1f}/s   full {full.rate:7.1f}/s   "
                      f"ratio {full.rate / echo.rate:5.2f}   (router alone {router.rate:7.1f}/s)   "
                      f"CPU ms/update: echo {echo.cpu_ms:4.1f}, full {full.cpu_ms:4.1f}, "
                      f"router {router.cpu_ms:4.1f}", flush=True)

        async with core.db.session() as session:
            stored = await session.scalar(select(func.count(Report.id)))
        await core.db.dispose()

    echo_rate = median([r.rate for r in echo_runs])
    full_rate = median([r.rate for r in full_runs])
    router_rate = median([r.rate for r in router_runs])
    echo_cpu = median([r.cpu_ms for r in echo_runs])
    full_cpu = median([r.cpu_ms for r in full_runs])
    router_cpu = median([r.cpu_ms for r in router_runs])
    print()
    print(f"updates per run: {args.n} (batch: {args.batch or 'all at once'}), liaisons: {len(bound)}, "
          f"rounds: {args.rounds} (medians below), fake Bot API: "
          f"{'separate process' if args.fake == 'process' else 'same event loop'}, {stored} reports stored, "
          f"{median([s['statements'] for s in statements]):.0f} SQL statements per report")
    print(f"echo (bare PTB)       : {echo_rate:8.1f} replies/s  ({1000 / echo_rate:5.1f} ms per update, "
          f"CPU {echo_cpu:4.1f} ms)")
    print(f"full (router + SQLite): {full_rate:8.1f} reports/s  ({1000 / full_rate:5.1f} ms per update, "
          f"CPU {full_cpu:4.1f} ms)")
    print(f"router alone          : {router_rate:8.1f} reports/s  ({1000 / router_rate:5.1f} ms per report, "
          f"CPU {router_cpu:4.1f} ms, no Telegram)")
    # Each round's echo and full run back to back, so a round's own ratio is the least disturbed by a machine
    # whose speed drifts; the verdict is the median of those. The ratio of the two median rates above can
    # pair an echo run from a fast minute with a full run from a slow one, so it is shown for comparison.
    paired = sorted(full.rate / echo.rate for echo, full in zip(echo_runs, full_runs, strict=True))
    ratio = median(paired)
    print(f"ratio of each round   :     {' '.join(f'{r:.2f}' for r in paired)}")
    print(f"ratio full/echo       : {ratio:8.2f}  (median of the rounds, no goal; ratio of the median rates "
          f"{full_rate / echo_rate:.2f}, by CPU time per update {echo_cpu / full_cpu:.2f})")
    slowest = min(r.rate for r in full_runs)
    print(f"verdict: sustained throughput of the stock path >= {GOAL:.0f} reports/s: "
          f"{'PASS' if slowest >= GOAL else 'FAIL'} (slowest full run {slowest:.1f}/s, median {full_rate:.1f}/s)")
    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("cumulative")
        stats.print_stats(args.profile_lines)
        out.write("\n--- by own time ---\n")
        stats.sort_stats("tottime").print_stats(args.profile_lines)
        print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=500, help="reports per run (default 500)")
    parser.add_argument("--batch", type=int, default=0,
                        help="queue this many at a time (default: all up front)")
    parser.add_argument("--users", type=int, default=5, help="liaisons reporting, round robin (default 5)")
    parser.add_argument("--fake", choices=["process", "inline"], default="process",
                        help="run the fake Bot API in a separate process (default) or in this event loop")
    parser.add_argument("--rounds", type=int, default=5,
                        help="run echo and full this many times, back to back, and report medians (default 5)")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the first full run and print the top entries")
    parser.add_argument("--profile-lines", type=int, default=30)
    args = parser.parse_args()

    if args.fake == "inline":
        async def inline() -> None:
            async with FakeBotAPI(token=TOKEN, control=True) as fake:
                await bench(args, fake.port)

        asyncio.run(inline())
        return
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_serve_fake, args=(child,), daemon=True)
    process.start()
    try:
        port = parent.recv()
        asyncio.run(bench(args, port))
    finally:
        parent.send("stop")
        process.join(5)
        if process.is_alive():
            process.terminate()


if __name__ == "__main__":
    main()
