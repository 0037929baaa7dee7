"""The 18:00 rush: every liaison reports at once while the weekly bulletin of a large district is produced.

    python bench/rush.py [--liaisons 1000] [--window 60] [--projects 10000] [--reports 1000000]
                         [--problems 3000] [--bulletin-at 5] [--seed 7]

A SQLite file database (WAL, in a temp directory) is filled as ``bench/ranking.py`` fills it (--projects
projects, --reports reports over 2026, --problems problems), and --liaisons people who are liaisons of a
project are bound to Telegram accounts with invite codes. The fake Bot API from the tests runs in another
process, as Telegram's servers would; the bot is the real python-telegram-bot ``Application`` of
``TelegramChannel``, polling it as ``diaodu run`` does (its defaults, heap settled after start-up).

The fake then receives one one-shot report (``/report 项目编号 1 …``) from each liaison, at random moments
spread evenly over --window seconds. --bulletin-at seconds into the window, the bot produces the weekly
bulletin of 2026-W47 (``jobs.digests.produce``: standings, chart, texts, the outbox rows) as the scheduler
would: the database read in the same event loop, the rest in the app's worker process (``bot.workers``,
started by this first bulletin, as in ``diaodu run``).

Measured, in the fake's process: each report's reply latency, from the moment the update reached the fake
(its "arrival" at Telegram: the time until the bot polls it counts too) to the moment the bot's
sendMessage to that chat came in. Checked in the database afterwards: each liaison's report is stored
exactly once.

Goals: every report answered and stored once, none lost; latency p50 <= 100 ms and p99 <= 1 s; the
bulletin produced during the rush. Prints each goal and the verdict (PASS or FAIL).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from sqlalchemy import func, select  # noqa: E402

from bench.ranking import CUTOFF, build_district  # noqa: E402
from bot.app import Core, settle_heap  # noqa: E402
from bot.channels.telegram import TelegramChannel  # noqa: E402
from bot.channels.telegram_polling import FOLDER as TELEGRAM_INBOX  # noqa: E402
from bot.channels.telegram_polling import JournaledPolling, UpdateJournal  # noqa: E402
from bot.clock import FrozenClock  # noqa: E402
from bot.config import Settings, load_settings  # noqa: E402
from bot.domain.messages import Incoming  # noqa: E402
from bot.domain.periods import Period, period_containing  # noqa: E402
from bot.services.invites import create_invite  # noqa: E402
from storage.audit import Actor  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Person, Project, Report  # noqa: E402
from tests.fakes.bot_api import FakeBotAPI  # noqa: E402

# Monday after the bulletin's week, 18:00:30 (the seconds tell the rush's reports from the built ones).
NOW = datetime(2026, 11, 23, 18, 0, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
TOKEN = "123456:RUSH-token"
FIRST_USER = 70_001
ACTOR = Actor(label="bench", channel="cli")
P50_GOAL, P99_GOAL = 0.100, 1.0


# --- the fake, in a child process ------------------------------------------------------------------------


def _serve_fake(conn: Connection) -> None:
    """Child process: run the fake, play the rush when told, and send back when each reply came."""
    asyncio.run(_fake_main(conn))


def arrival_offsets(texts: list[Any], window: float, seed: int) -> list[float]:
    """Shuffle ``texts`` (the messages to send, in place) and give each a moment in 0..``window`` seconds, in
    order: the rush's random arrivals, the same for a seed."""
    rng = random.Random(seed)
    rng.shuffle(texts)
    return sorted(rng.uniform(0, window) for _ in texts)


async def _fake_main(conn: Connection) -> None:
    loop = asyncio.get_running_loop()
    async with FakeBotAPI(token=TOKEN) as fake:
        conn.send(fake.port)
        texts, window, seed, timeout = await loop.run_in_executor(None, conn.recv)
        offsets = arrival_offsets(texts, window, seed)
        since = len(fake.calls)
        start = time.monotonic()
        conn.send(start)
        arrived: dict[int, float] = {}
        for (user_id, text), offset in zip(texts, offsets, strict=True):
            delay = start + offset - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            fake.enqueue_text(user_id, text)
            arrived[user_id] = time.monotonic()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            answered = {int(c.params["chat_id"]) for c in fake.calls_of("sendMessage", since=since, ok=True)}
            if answered >= arrived.keys():
                break
            await asyncio.sleep(0.2)
        replies: dict[int, list[tuple[float, str]]] = {}
        for call in fake.calls_of("sendMessage", since=since, ok=True):
            replies.setdefault(int(call.params["chat_id"]), []).append((call.at, str(call.params.get("text"))))
        conn.send({user_id: (at, replies.get(user_id, [])) for user_id, at in arrived.items()})
        await loop.run_in_executor(None, conn.recv)


# --- the bot's side --------------------------------------------------------------------------------------


def settings_for(port: int, database_url: str, data_dir: Path) -> Settings:
    return load_settings(
        TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_BASE_URL=f"http://127.0.0.1:{port}/bot",
        TELEGRAM_BASE_FILE_URL=f"http://127.0.0.1:{port}/file/bot", TELEGRAM_PROXY=None,
        TELEGRAM_WEBHOOK_URL=None, DATABASE_URL=database_url, DATA_DIR=str(data_dir), _env_file=None,
    )


async def bind_liaisons(core: Core, n: int, *, channel: str = "telegram",
                        user_of: Callable[[int], Any] = lambda index: FIRST_USER + index) -> list[tuple[Any, str, int]]:
    """Bind `n` liaisons (each of one project of theirs with room for the report and none today) to accounts
    of `channel` (the index-th one's id ``user_of(index)``, a Telegram user id by default), with invite
    codes: [(user_id, code, person_id)]."""
    async with core.db.session() as session:
        reported = dict((await session.execute(
            select(Report.project_id, func.sum(Report.amount)).where(Report.withdrawn_at.is_(None))
            .group_by(Report.project_id))).all())
        # A project with a report today already would ask whether to replace it (one report a day counts).
        today = set((await session.scalars(select(Report.project_id).where(
            Report.local_day == NOW.date(), Report.withdrawn_at.is_(None)))).all())
        projects = (await session.execute(
            select(Project.id, Project.liaison_id, Project.code, Project.total_investment, Project.done_before)
            .where(Project.liaison_id.is_not(None)).order_by(Project.liaison_id, Project.code))).all()
        rows: list[tuple[int, str]] = []
        for project_id, person_id, code, total, done in projects:  # one with room for the report's 1 万元
            if len(rows) < n and (not rows or rows[-1][0] != person_id) and project_id not in today \
                    and (total or 0) - (done or 0) - (reported.get(project_id) or 0) > 10:
                rows.append((person_id, code))
        invites = []
        for person_id, code in rows:
            person = await session.get(Person, person_id)
            invite = await create_invite(session, person=person, role="liaison", now=core.clock.now(),
                                         ttl=timedelta(hours=72), actor=ACTOR, bot_username="diaodu_bot")
            invites.append((person_id, code, invite.code))
    if len(invites) < n:
        raise SystemExit(f"only {len(invites)} people are liaisons of a project; use more --projects")
    bound = []
    for index, (person_id, code, invite_code) in enumerate(invites):
        user_id = user_of(index)
        outcome = await core.router.handle(Incoming(channel=channel, user_id=str(user_id), chat_id=str(user_id),
                                                    text=f"/start {invite_code}", display_name="bench"))
        assert "已绑定" in outcome.replies[0].html, outcome.replies[0].html
        bound.append((user_id, code, person_id))
    return bound


async def stored_per_person(db: Database) -> dict[int, int]:
    """Reports made at NOW (the rush's), by person."""
    async with db.session() as session:
        rows = (await session.execute(select(Report.person_id, func.count(Report.id))
                                      .where(Report.created_at == NOW).group_by(Report.person_id))).all()
    return {person_id: int(n) for person_id, n in rows}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def timed_bulletin(core: Core, period: Period, files_root: Path, at: float) -> dict[str, Any]:
    """Produce the bulletin of `period` (``jobs.digests.produce``) from the monotonic time `at` on: when it
    started ("start") and ended ("end"), and what it produced ("produced")."""
    from jobs import digests

    await asyncio.sleep(max(0.0, at - time.monotonic()))
    bulletin: dict[str, Any] = {"start": time.monotonic()}
    bulletin["produced"] = await digests.produce(core.db, core.deps.renderer, period=period, now=NOW,
                                                 files_root=files_root, workers=core.workers)
    bulletin["end"] = time.monotonic()
    return bulletin


async def rush(args: argparse.Namespace, conn: Connection, port: int) -> bool:
    loop = asyncio.get_running_loop()
    with tempfile.TemporaryDirectory(prefix="diaodu-rush-") as tmp:
        settings = settings_for(port, f"sqlite+aiosqlite:///{Path(tmp) / 'rush.sqlite3'}", Path(tmp))
        db = Database(settings.database_url)
        await db.create_all()
        began = time.perf_counter()
        counts = await build_district(db, projects=args.projects, reports=args.reports, problems=args.problems,
                                      seed=args.seed)
        core = Core.build(settings, clock=FrozenClock(NOW), db=db)
        bound = await bind_liaisons(core, args.liaisons)
        print(f"built in {time.perf_counter() - began:.1f} s: "
              + ", ".join(f"{v:,} {k}" for k, v in counts.items()) + f"; {len(bound):,} liaisons bound")
        print(f"rush: {len(bound):,} one-shot reports at random moments over {args.window:g} s; the weekly "
              f"bulletin of {counts['projects']:,} projects produced from {args.bulletin_at:g} s on; "
              f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs",
              flush=True)

        period = period_containing("weekly", CUTOFF)
        channel = TelegramChannel(settings, core.router)
        application = channel.application
        # the updates fetched journaled until handled, polled as `diaodu run` does
        channel.journal = UpdateJournal.open(application, Path(tmp) / TELEGRAM_INBOX, core.clock)
        poller = JournaledPolling(application, channel.journal, channel.polls)

        async with application:
            await application.start()
            await poller.start()
            settle_heap()  # as `diaodu run` does once it has started
            try:
                texts = [(user_id, f"/report {code} 1 主体结构施工中,第{n}次填报")
                         for n, (user_id, code, _) in enumerate(bound)]
                conn.send((texts, args.window, args.seed, args.timeout))
                start = await loop.run_in_executor(None, conn.recv)
                producing = asyncio.create_task(timed_bulletin(core, period, Path(tmp), start + args.bulletin_at))
                results: dict[int, tuple[float, list[tuple[float, str]]]] = await loop.run_in_executor(
                    None, conn.recv)
                bulletin = await producing
            finally:
                await poller.stop()
                await application.stop()
                await channel.journal.close()
        core.workers.close()
        stored = await stored_per_person(db)
        await db.dispose()

    latencies, during, slowest = [], [], []
    unanswered = [user_id for user_id, (_, replies) in results.items() if not replies]
    extra_replies = sum(max(0, len(replies) - 1) for _, replies in results.values())
    for arrived, replies in results.values():
        after = [at for at, _ in replies if at >= arrived]
        if after:
            latencies.append(after[0] - arrived)
            slowest.append((after[0] - arrived, arrived - start))
            if bulletin and bulletin["start"] <= arrived <= bulletin["end"]:
                during.append(after[0] - arrived)
    missing, twice = not_stored_once(results, bound, stored)
    for user_id in (missing + twice)[:3]:
        print(f"  not stored once: liaison {user_id}, replies {[text[:80] for _, text in results[user_id][1]]}")
    p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
    took = bulletin["end"] - bulletin["start"]
    overlapped = bulletin["start"] - start < args.window
    print(f"bulletin {period.name}: produced in {took:.2f} s "
          f"({bulletin['produced'].notices if bulletin['produced'] else 0} notices into the outbox), "
          f"{len(during)} replies to reports that arrived meanwhile"
          + (f" (p50 {percentile(during, 0.5) * 1000:.0f} ms, max {max(during) * 1000:.0f} ms)" if during else ""))
    print(f"replies: {len(latencies):,} of {len(results):,} reports; latency p50 {p50 * 1000:.0f} ms, "
          f"p90 {percentile(latencies, 0.9) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
          f"max {max(latencies, default=float('nan')) * 1000:.0f} ms, "
          f"mean {statistics.fmean(latencies) * 1000 if latencies else float('nan'):.0f} ms")
    print(f"slowest replies (latency at arrival, seconds into the rush; the bulletin ran "
          f"{bulletin['start'] - start:.1f}–{bulletin['end'] - start:.1f} s): "
          + ", ".join(f"{lat * 1000:.0f} ms at {at:.1f} s" for lat, at in sorted(slowest, reverse=True)[:8]))
    goals = [
        (f"every report answered: {len(results) - len(unanswered):,} of {len(results):,} "
         f"(LOST {len(unanswered)}; {extra_replies} replies beyond one)", not unanswered),
        (f"every report stored once: {len(results) - len(missing) - len(twice):,} of {len(results):,} "
         f"({len(missing)} missing, {len(twice)} stored twice)", not missing and not twice),
        (f"latency p50 <= {P50_GOAL * 1000:.0f} ms: {p50 * 1000:.0f} ms", p50 <= P50_GOAL),
        (f"latency p99 <= {P99_GOAL * 1000:.0f} ms: {p99 * 1000:.0f} ms", p99 <= P99_GOAL),
        (f"the bulletin produced during the rush: {'yes' if overlapped and bulletin['produced'] else 'no'}",
         bool(overlapped and bulletin["produced"])),
    ]
    return verdict(goals)


def not_stored_once(results: dict[Any, Any], bound: list[tuple[Any, str, int]],
                    stored: dict[int, int]) -> tuple[list[Any], list[Any]]:
    """The accounts of `results` whose report was not stored (the first list) or stored twice (the second)."""
    person_of = {account: person_id for account, _, person_id in bound}
    missing = [u for u in results if stored.get(person_of[u], 0) == 0]
    twice = [u for u in results if stored.get(person_of[u], 0) > 1]
    return missing, twice


def verdict(goals: list[tuple[str, bool]]) -> bool:
    """Print each goal, met or missed, and the verdict; whether every goal was met."""
    for text, met in goals:
        print(f"goal: {text} — {'met' if met else 'MISSED'}")
    passed = all(met for _, met in goals)
    print(f"verdict: {'PASS' if passed else 'FAIL'}")
    return passed


def rush_arguments(doc: str) -> argparse.ArgumentParser:
    """The command line both rushes take (`doc`'s first paragraph describes it)."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--liaisons", type=int, default=1000, help="liaisons reporting once each (default 1000)")
    parser.add_argument("--window", type=float, default=60.0, help="seconds the reports are spread over")
    parser.add_argument("--projects", type=int, default=10_000)
    parser.add_argument("--reports", type=int, default=1_000_000, help="reports already in the database")
    parser.add_argument("--problems", type=int, default=3_000)
    parser.add_argument("--bulletin-at", type=float, default=5.0,
                        help="seconds into the rush when the bulletin starts (default 5)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds to wait for the last replies after the window")
    return parser


def run_with_fake(serve_fake: Callable[[Connection], None],
                  play: Callable[[argparse.Namespace, Connection, Any], Awaitable[bool]],
                  args: argparse.Namespace) -> bool:
    """Start `serve_fake` in a child process, play the rush against it (given what the fake first sends), stop it."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=serve_fake, args=(child,), daemon=True)
    process.start()
    try:
        return asyncio.run(play(args, parent, parent.recv()))
    finally:
        parent.send("stop")
        process.join(5)
        if process.is_alive():
            process.terminate()


def main() -> None:
    run_with_fake(_serve_fake, rush, rush_arguments(__doc__).parse_args())


if __name__ == "__main__":
    main()
