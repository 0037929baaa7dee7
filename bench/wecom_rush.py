"""The 18:00 rush on WeCom: how long the callback takes to answer while every liaison reports at once and the
weekly bulletin of a large district is produced.

    python bench/wecom_rush.py [--liaisons 1000] [--window 60] [--projects 10000] [--reports 1000000]
                               [--problems 3000] [--bulletin-at 5] [--seed 7] [--profile FILE]

WeCom posts each message to the app's callback URL and posts it again when it has no answer within 5 s; the
callback answers (an empty 200) once the message is checked and queued, without waiting for the database
(the duplicate check runs in the user's task, before the message is handled). The district is filled and its
liaisons bound as in ``bench/rush.py`` (a SQLite file database, WAL, in a temp directory), here to WeCom
userids. The fake WeCom server from the tests runs in another process, as WeCom's servers
would; the bot is the real ``WeComChannel`` behind an aiohttp app with its routes (``add_wecom_routes``),
listening on a local port as ``diaodu run`` serves it (heap settled after start-up), with its inbox: each
message appended to the journal before it is answered (``bot.channels.wecom.inbox``).

The fake posts one signed, encrypted one-shot report (``/report 项目编号 1 …``) from each liaison to the
callback, at random moments spread evenly over --window seconds, each in its own request (WeCom does not
wait for one answer before posting the next message). --bulletin-at seconds into the window, the bot
produces the weekly bulletin of 2026-W47 as ``bench/rush.py`` does (the database read in the bot's event
loop, the rest in the worker process).

Measured in the fake's process, from the moment a callback is posted (its envelope already sealed): the time
to its HTTP answer, and the time until the bot's ``message/send`` to that member comes in. Checked in the
database afterwards: each liaison's report is stored exactly once. A callback answered with anything but
200, or later than WeCom waits (5 s), would have been posted again: counted as needing a retry.

Also printed: how often and how long the bot's event loop was held (a task sleeping 10 ms woken over 50 ms
late), since a callback is answered in that loop; --profile FILE profiles the loop's thread with cProfile.

Goals: every callback answered 200 within 4 s (a margin under WeCom's 5 s) and its answer time p99 <= 1 s;
every report replied to, reply p99 <= 2 s; every report stored once, none lost, none needing a retry; the
bulletin produced during the rush. Prints each goal and the verdict (PASS or FAIL).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from aiohttp import web  # noqa: E402

from bench.ranking import CUTOFF, build_district  # noqa: E402
from bench.rush import (  # noqa: E402
    NOW,
    arrival_offsets,
    bind_liaisons,
    not_stored_once,
    percentile,
    run_with_fake,
    rush_arguments,
    stored_per_person,
    timed_bulletin,
    verdict,
)
from bot.app import Core, settle_heap  # noqa: E402
from bot.channels.wecom.callback import WeComChannel  # noqa: E402
from bot.channels.wecom.wiring import CALLBACK_PATH, WECOM_INBOX, add_wecom_routes  # noqa: E402
from bot.clock import FrozenClock  # noqa: E402
from bot.config import Settings, load_settings  # noqa: E402
from bot.domain.periods import period_containing  # noqa: E402
from tests.fakes.wecom_api import FakeWeCom  # noqa: E402

WECOM_RETRY_AFTER = 5.0  # seconds WeCom waits for an answer before posting the message again
ANSWER_MAX, ANSWER_P99, REPLY_P99 = 4.0, 1.0, 2.0


class LoopLag:
    """How late the bot's event loop wakes a task that sleeps ``tick`` seconds: when it is late, whatever ran
    meanwhile held the loop, and every callback waiting to be answered waited as long."""

    def __init__(self, tick: float = 0.01) -> None:
        self.tick = tick
        self.stalls: list[tuple[float, float]] = []  # (seconds late, when: monotonic)

    async def run(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(self.tick)
            late = time.monotonic() - before - self.tick
            if late > 0.05:
                self.stalls.append((late, before))

    def summary(self, start: float) -> str:
        if not self.stalls:
            return "event loop: never held over 50 ms"
        worst = sorted(self.stalls, reverse=True)[:6]
        return (f"event loop held over 50 ms {len(self.stalls)} times, {sum(s for s, _ in self.stalls):.1f} s in all; "
                "longest " + ", ".join(f"{late * 1000:.0f} ms at {at - start:.1f} s" for late, at in worst))


def userid_of(index: int) -> str:
    return f"liaison{index:05d}"


# --- the fake WeCom, in a child process ------------------------------------------------------------------


def _serve_fake(conn: Connection) -> None:
    """Child process: run the fake, post the rush's callbacks when told, and send back what each took."""
    asyncio.run(_fake_main(conn))


async def _post(fake: FakeWeCom, url: str, userid: str, text: str) -> tuple[float, float, int]:
    """Post one message as WeCom would: (posted at, answered at, HTTP status; 0 when the request failed)."""
    query, body = fake.envelope(fake.text_xml(userid, text))
    posted = time.monotonic()
    try:
        status, _ = await fake.post_callback(url, body=body, query=query)
    except Exception:  # noqa: BLE001 - a refused or broken connection is an unanswered callback
        status = 0
    return posted, time.monotonic(), status


async def _fake_main(conn: Connection) -> None:
    loop = asyncio.get_running_loop()
    async with FakeWeCom() as fake:
        conn.send({"corp_id": fake.corp_id, "agent_id": fake.agent_id, "secret": fake.secret,
                   "token": fake.callback_token, "aes_key": fake.aes_key, "base_url": fake.base_url})
        url, texts, window, seed, timeout = await loop.run_in_executor(None, conn.recv)
        fake.add_user(*(userid for userid, _ in texts))
        offsets = arrival_offsets(texts, window, seed)
        since = len(fake.calls)
        start = time.monotonic()
        conn.send(start)
        posts: dict[str, asyncio.Task[tuple[float, float, int]]] = {}
        for (userid, text), offset in zip(texts, offsets, strict=True):
            delay = start + offset - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            posts[userid] = asyncio.create_task(_post(fake, url, userid, text))
        await asyncio.gather(*posts.values())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            answered = {c.body.get("touser", "").lower() for c in fake.calls_of("message/send", since=since, ok=True)}
            if answered >= {userid.lower() for userid in posts}:
                break
            await asyncio.sleep(0.2)
        replies: dict[str, list[float]] = {}
        for call in fake.calls_of("message/send", since=since, ok=True):
            replies.setdefault(str(call.body.get("touser", "")).lower(), []).append(call.at)
        conn.send({userid: (*task.result(), replies.get(userid.lower(), [])) for userid, task in posts.items()})
        await loop.run_in_executor(None, conn.recv)


# --- the bot's side --------------------------------------------------------------------------------------


def settings_for(fake: dict[str, Any], database_url: str, data_dir: Path) -> Settings:
    return load_settings(
        WECOM_CORP_ID=fake["corp_id"], WECOM_AGENT_ID=fake["agent_id"], WECOM_SECRET=fake["secret"],
        WECOM_TOKEN=fake["token"], WECOM_AES_KEY=fake["aes_key"], WECOM_API_BASE=fake["base_url"],
        TELEGRAM_BOT_TOKEN=None, DATABASE_URL=database_url, DATA_DIR=str(data_dir), _env_file=None,
    )


async def rush(args: argparse.Namespace, conn: Connection, fake: dict[str, Any]) -> bool:
    loop = asyncio.get_running_loop()
    with tempfile.TemporaryDirectory(prefix="diaodu-wecom-rush-") as tmp:
        settings = settings_for(fake, f"sqlite+aiosqlite:///{Path(tmp) / 'rush.sqlite3'}", Path(tmp))
        core = Core.build(settings, clock=FrozenClock(NOW))
        await core.db.create_all()
        began = time.perf_counter()
        counts = await build_district(core.db, projects=args.projects, reports=args.reports,
                                      problems=args.problems, seed=args.seed)
        bound = await bind_liaisons(core, args.liaisons, channel="wecom", user_of=userid_of)
        print(f"built in {time.perf_counter() - began:.1f} s: "
              + ", ".join(f"{v:,} {k}" for k, v in counts.items()) + f"; {len(bound):,} liaisons bound")
        print(f"rush on WeCom: {len(bound):,} one-shot reports posted to the callback at random moments over "
              f"{args.window:g} s; the weekly bulletin of {counts['projects']:,} projects produced from "
              f"{args.bulletin_at:g} s on; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
              f"on {os.cpu_count()} CPUs", flush=True)

        period = period_containing("weekly", CUTOFF)
        channel = WeComChannel.from_settings(settings, core.router, inbox=Path(tmp) / WECOM_INBOX)  # as `diaodu run`
        http = web.Application()
        add_wecom_routes(http, channel)
        runner = web.AppRunner(http)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}{CALLBACK_PATH}"
        settle_heap()  # as `diaodu run` does once it has started
        profiler = cProfile.Profile() if args.profile else None

        try:
            texts = [(userid, f"/report {code} 1 主体结构施工中,第{n}次填报")
                     for n, (userid, code, _) in enumerate(bound)]
            conn.send((url, texts, args.window, args.seed, args.timeout))
            start = await loop.run_in_executor(None, conn.recv)
            producing = asyncio.create_task(timed_bulletin(core, period, Path(tmp), start + args.bulletin_at))
            lag = LoopLag()
            watching = asyncio.create_task(lag.run())
            if profiler is not None:
                profiler.enable()
            results: dict[str, tuple[float, float, int, list[float]]] = await loop.run_in_executor(None, conn.recv)
            bulletin = await producing
            await channel.idle(args.timeout)
            if profiler is not None:
                profiler.disable()
            watching.cancel()
        finally:
            await runner.cleanup()  # closes the channel (add_wecom_routes' shutdown hook)
        core.workers.close()
        stored = await stored_per_person(core.db)
        await core.db.dispose()
    print(lag.summary(start))
    if profiler is not None:
        profiler.dump_stats(args.profile)
        print(f"the event loop's thread profiled (the times above are slowed by it): {args.profile}; the top:")
        pstats.Stats(args.profile).sort_stats("cumulative").print_stats(25)
    return report(args, start, bulletin, period.name, bound, results, stored, dict(channel.stats))


def report(args: argparse.Namespace, start: float, bulletin: dict[str, Any], period: str,
           bound: list[tuple[Any, str, int]], results: dict[str, tuple[float, float, int, list[float]]],
           stored: dict[int, int], stats: dict[str, int]) -> bool:
    """Print the numbers, each goal and the verdict; whether every goal was met."""
    answers = [answered - posted for posted, answered, _, _ in results.values()]
    refused = sorted(userid for userid, (_, _, status, _) in results.items() if status != 200)
    late = [userid for userid, (posted, answered, _, _) in results.items() if answered - posted > WECOM_RETRY_AFTER]
    replies = [min(at for at in sent if at >= posted) - posted
               for posted, _, _, sent in results.values() if any(at >= posted for at in sent)]
    unanswered = [userid for userid, (_, _, _, sent) in results.items() if not sent]
    sent = sum(len(messages) for _, _, _, messages in results.values())
    missing, twice = not_stored_once(results, bound, stored)
    during = [answered - posted for posted, answered, _, _ in results.values()
              if bulletin and bulletin["start"] <= posted <= bulletin["end"]]

    def ms(values: list[float], q: float) -> str:
        return f"{percentile(values, q) * 1000:.0f} ms"

    took = bulletin["end"] - bulletin["start"]
    print(f"bulletin {period}: produced in {took:.2f} s "
          f"({bulletin['produced'].notices if bulletin['produced'] else 0} notices into the outbox), "
          f"ran {bulletin['start'] - start:.1f}–{bulletin['end'] - start:.1f} s into the rush; {len(during)} "
          f"callbacks posted meanwhile" + (f" (answer p50 {ms(during, 0.5)}, max {max(during) * 1000:.0f} ms)"
                                           if during else ""))
    print(f"callback answers: {len(answers):,}; p50 {ms(answers, 0.5)}, p90 {ms(answers, 0.9)}, "
          f"p99 {ms(answers, 0.99)}, max {max(answers, default=float('nan')) * 1000:.0f} ms")
    print(f"replies (posted → message/send): {len(replies):,} of {len(results):,}; p50 {ms(replies, 0.5)}, "
          f"p90 {ms(replies, 0.9)}, p99 {ms(replies, 0.99)}, max {max(replies, default=float('nan')) * 1000:.0f} ms")
    slowest = sorted(((answered - posted, posted - start) for posted, answered, _, _ in results.values()),
                     reverse=True)[:8]
    print("slowest answers (answer time at posting, seconds into the rush): "
          + ", ".join(f"{lat * 1000:.0f} ms at {at:.1f} s" for lat, at in slowest))
    print("channel: " + ", ".join(f"{k} {v}" for k, v in sorted(stats.items())))
    for userid in (missing + twice)[:3]:
        print(f"  not stored once: {userid}, status {results[userid][2]}, {len(results[userid][3])} replies")
    answer_max = max(answers, default=float("inf"))
    goals = [
        (f"every callback answered 200 within {ANSWER_MAX:g} s: max {answer_max * 1000:.0f} ms, "
         f"{len(refused)} not 200", answer_max <= ANSWER_MAX and not refused),
        (f"callback answer p99 <= {ANSWER_P99 * 1000:.0f} ms: {ms(answers, 0.99)}",
         percentile(answers, 0.99) <= ANSWER_P99),
        (f"every report replied to: {len(results) - len(unanswered):,} of {len(results):,} "
         f"(LOST {len(unanswered)}; {sent:,} messages sent, a reply's card counted apart)", not unanswered),
        (f"reply p99 <= {REPLY_P99 * 1000:.0f} ms: {ms(replies, 0.99)}", percentile(replies, 0.99) <= REPLY_P99),
        (f"every report stored once: {len(results) - len(missing) - len(twice):,} of {len(results):,} "
         f"({len(missing)} missing, DUPLICATED {len(twice)})", not missing and not twice),
        (f"no retry needed (answered 200 within WeCom's {WECOM_RETRY_AFTER:g} s): "
         f"{len(set(refused) | set(late))} would be retried", not refused and not late),
        (f"the bulletin produced during the rush: "
         f"{'yes' if bulletin['start'] - start < args.window and bulletin['produced'] else 'no'}",
         bool(bulletin["start"] - start < args.window and bulletin["produced"])),
    ]
    return verdict(goals)


def main() -> None:
    parser = rush_arguments(__doc__)
    parser.add_argument("--profile", metavar="FILE",
                        help="profile the event loop thread (cProfile) during the rush into FILE, print its top")
    sys.exit(0 if run_with_fake(_serve_fake, rush, parser.parse_args()) else 1)


if __name__ == "__main__":
    main()
