"""Fan-out of one bulletin to thousands of people through the outbox, while the Bot API misbehaves.

    python bench/fanout.py [--recipients 3000] [--fault-rate 0.05] [--timeout-delivers]
                           [--kinds 429,500,timeout] [--fake process|inline] [--batch N] [--concurrency N]
                           [--read-timeout 5] [--seed 1] [--budget SECONDS]

One weekly bulletin (rendered from the sample ledger) is queued for every recipient, each a person with a
Telegram account in a SQLite file database in a temp directory. An ``OutboxSender`` with the production
``TelegramTransport`` (python-telegram-bot over real HTTP on 127.0.0.1) drains the outbox on the real
clock, with the transport's own limits (30 messages/s in all, 1/s per chat), waiting for retries. The
sender's batch (rows it holds at once) and concurrency (sends in flight) are its defaults (as `diaodu run`
uses it) unless given; the client's read timeout is python-telegram-bot's default, 5 s, unless given.

The fake Bot API from the tests (by default in its own process, as Telegram's servers would not share the
sender's interpreter) fails ``--fault-rate`` of the sendMessage calls, a third each (or split among the
``--kinds`` given):

- 429 Too Many Requests with retry_after 1;
- 500 Internal Server Error;
- a timeout: the fake holds the request past the client's read timeout (a second longer), then answers a
  504 that nobody reads any more. With ``--timeout-delivers`` it delivers the message after all, as a
  server whose answer was lost on the way would: the sender cannot know, and sends again (delivery is at
  least once; those show as duplicated).

Prints the rates of attempts and of delivered messages against the 30/s limit, how many rows were not sent
at the end (lost) and how many chats got the bulletin more than once (duplicated). The sender's global
limiter charges every attempt, failed ones too: a timed-out send may have been delivered, a 429 is flood
control itself, and Telegram answers some sends it did deliver with a 500. So with 5 % of the attempts
failing, the delivered rate cannot pass about 95 % of the limit. Both rates are given over the whole run
(first attempt to last delivery) and over the sending phase (until every chat had its first try), which
leaves out the tail of the last retries: a send that timed out near the end is tried again only after the
client's read timeout and the first retry's delay, while nothing else is left to send (the sending-phase
line tells what the tail was made of).

Goals: attempts at least 95 % of the limit while sending; delivered at least 90 % of it over the whole run;
none lost; none duplicated. Prints each goal and the verdict (PASS or FAIL).
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import multiprocessing
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import telegram  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402
from telegram import Bot  # noqa: E402
from telegram.request import HTTPXRequest  # noqa: E402

from bot.channels.telegram_transport import TelegramTransport  # noqa: E402
from bot.clock import FrozenClock, SystemClock  # noqa: E402
from bot.domain.messages import Reply  # noqa: E402
from bot.domain.periods import parse_period  # noqa: E402
from bot.render import Renderer  # noqa: E402
from bot.services.ledger_import import import_ledger_files  # noqa: E402
from bot.services.outbox import OutboxSender  # noqa: E402
from jobs.bulletin_render import render_bulletin  # noqa: E402
from storage import outbox  # noqa: E402
from storage.audit import Actor  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import ChatAccount, OutboxMessage, Person  # noqa: E402
from storage.settings import load_calendar, load_digest_settings  # noqa: E402
from tests.fakes.bot_api import ApiError, FakeBotAPI  # noqa: E402

LEDGER = REPO / "bot" / "demo" / "projects_sample.xlsx"
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
TOKEN = "123456:FANOUT-token"
FIRST_CHAT = 700_000_001
READ_TIMEOUT = 5.0  # python-telegram-bot's default read timeout, set explicitly below (--read-timeout)
KINDS = ("429", "500", "timeout")
TIMEOUT_STATUS = 504  # what the fake answers a "timeout" with, after the client gave up

_kind: contextvars.ContextVar[str] = contextvars.ContextVar("fault_kind", default="")


class MixedFault:
    """What the fake's fault hook reads (``after``, ``times``, ``rate``, ``delay``, ``error()``), choosing one kind of
    failure per failing call. The fake reads ``delay`` (twice) and then ``error()``, all in the task serving
    the request: the kind chosen at the first read is kept in a context variable until ``error()``, so
    concurrent requests do not mix their kinds up."""

    def __init__(self, rate: float, *, seed: int, timeout_delivers: bool,
                 kinds: tuple[str, ...] = KINDS, read_timeout: float = READ_TIMEOUT) -> None:
        self.rate = rate
        self.kinds = kinds
        self.hold = read_timeout + 1.0  # a "timeout" answers only after the client gave up
        self.after = 0  # no calls pass untouched first
        self.times: int | None = None
        self.timeout_delivers = timeout_delivers
        self.injected: Counter[str] = Counter()
        self.in_flight = 0  # failing calls not answered yet (held "timeouts")
        self._random = random.Random(seed)

    @property
    def delay(self) -> float:
        kind = _kind.get()
        if not kind:  # the first look at this call
            kind = self._random.choice(self.kinds)
            _kind.set(kind)
            self.injected[kind] += 1
            self.in_flight += 1
        return self.hold if kind == "timeout" else 0.0

    def error(self) -> ApiError | None:
        kind = _kind.get()
        _kind.set("")  # a kept-alive connection serves its next request in the same task
        self.in_flight -= 1
        if kind == "429":
            return ApiError(429, "Too Many Requests: retry after 1", {"retry_after": 1})
        if kind == "timeout":
            if self.timeout_delivers:
                return None  # the message goes out; the answer reaches nobody
            return ApiError(TIMEOUT_STATUS, "Gateway Timeout")  # nobody reads it: the client gave up
        return ApiError(500, "Internal Server Error")


@dataclass
class FakeRecord:
    """What the fake saw, sent back to the parent: per sendMessage call (chat id, status, monotonic time)."""

    calls: list[tuple[int, int, float]]
    injected: dict[str, int]


async def run_fake(args: argparse.Namespace, port_out: Any, stop: Any) -> FakeRecord:
    fake = FakeBotAPI(token=TOKEN, validate_html=True, seed=args.seed)
    fault = MixedFault(args.fault_rate, seed=args.seed + 1, timeout_delivers=args.timeout_delivers,
                       kinds=args.kinds, read_timeout=args.read_timeout)
    fake.faults["sendmessage"] = fault  # type: ignore[assignment]
    async with fake:
        await port_out(fake.port)
        await stop()
        # A call is recorded when it is answered: wait for the "timeouts" still held, or their first
        # tries would be missing from the record (the drain can end before their answers are due).
        waited = 0.0
        while fault.in_flight > 0 and waited < fault.hold + 2:
            await asyncio.sleep(0.05)
            waited += 0.05
    calls = [(int(c.params.get("chat_id") or 0), c.status, c.at)
             for c in fake.calls if c.method == "sendMessage"]
    return FakeRecord(calls=calls, injected=dict(fault.injected))


def _serve_fake(conn: Connection, args: argparse.Namespace) -> None:
    """Child process: serve the fake until the parent says stop, then send back what it saw."""

    async def port_out(port: int) -> None:
        conn.send(port)

    async def stop() -> None:
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)

    conn.send(asyncio.run(run_fake(args, port_out, stop)))


# --- the district ------------------------------------------------------------------------------------


async def prepare(db: Database, recipients: int) -> tuple[str, list[int]]:
    """The schema, the sample ledger (for a real bulletin text) and `recipients` people with Telegram
    accounts; returns the bulletin's first message and the recipients' person ids."""
    await db.create_all()
    summary = await import_ledger_files(db, FrozenClock(NOW), [LEDGER], actor=Actor(label="bench", channel="cli"))
    if summary.issues:
        raise SystemExit(f"ledger import failed: {summary.issues[:3]}")
    with tempfile.TemporaryDirectory(prefix="diaodu-fanout-files-") as files:
        async with db.session() as session:
            rendered = await render_bulletin(
                session, Renderer(), period=parse_period("weekly", "2026-W47"),
                calendar=await load_calendar(session), settings=await load_digest_settings(session),
                out_dir=Path(files))
    created = NOW.astimezone(UTC)
    async with db.session() as session:
        first = int(await session.scalar(select(func.coalesce(func.max(Person.id), 0))) or 0) + 1
        ids = list(range(first, first + recipients))
        await session.execute(insert(Person), [
            {"id": pid, "name": f"收件人{n:05d}", "active": True, "created_at": created}
            for n, pid in enumerate(ids)])
        await session.execute(insert(ChatAccount), [
            {"person_id": pid, "channel": "telegram", "external_id": str(FIRST_CHAT + n),
             "chat_id": str(FIRST_CHAT + n), "display_name": None, "created_at": created}
            for n, pid in enumerate(ids)])
    return rendered.parts[0], ids


async def enqueue(db: Database, html: str, ids: list[int]) -> int:
    """Queue the bulletin for every recipient, as the bulletin job does (one row per chat account)."""
    rows = 0
    for start in range(0, len(ids), 500):
        async with db.session() as session:
            for pid in ids[start:start + 500]:
                rows += len(await outbox.enqueue_for_person(
                    session, person_id=pid, reply=Reply(html=html), key=f"bulletin:weekly:2026-W47:p{pid}",
                    now=datetime.now(UTC)))
    return rows


# --- the run -------------------------------------------------------------------------------------------


async def deliver(args: argparse.Namespace, port: int, db: Database) -> tuple[float, float, Any]:
    """Drain the outbox; returns (monotonic start, monotonic end, SendStats)."""
    request = HTTPXRequest(connection_pool_size=64, read_timeout=args.read_timeout)
    bot = Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot", request=request)
    async with bot:
        transport = TelegramTransport(bot)
        tuning = {k: v for k, v in (("batch", args.batch), ("concurrency", args.concurrency)) if v}
        sender = OutboxSender(db, SystemClock(), {"telegram": transport}, **tuning)
        print(f"sender: {sender.batch} rows held and {sender.concurrency} sends in flight at most, send "
              f"timeout {sender.send_timeout:g} s, client read timeout {args.read_timeout:g} s, retries after "
              f"{sender.first_retry:g}, {sender.backoff_base * 2:g}, {sender.backoff_base * 4:g} … s (±20 %)",
              flush=True)
        started = time.monotonic()
        stats = await sender.drain(args.budget, wait_for_retries=True)
        return started, time.monotonic(), stats


async def states(db: Database) -> Counter[str]:
    async with db.session() as session:
        rows = await session.execute(select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state))
        return Counter({state: int(n) for state, n in rows.all()})


STATUS_NAMES = {200: "delivered", 429: "429", 500: "500", TIMEOUT_STATUS: "timed out"}


@dataclass
class Timeline:
    """The sendMessage calls of one run, read from the fake's record: what the rates are computed from."""

    attempts: list[tuple[int, int, float]]  # (chat id, status, monotonic time) of every call, in time order
    delivered_at: list[float]  # each chat's first delivery, in time order (a duplicate delivers nothing new)
    first: float  # the first attempt
    phase_end: float  # the last chat's first try: the sending phase ends, only retries are left

    @classmethod
    def of(cls, record: FakeRecord, started: float) -> Timeline:
        attempts = sorted((c for c in record.calls if c[2] >= started), key=lambda c: c[2])
        first_delivery: dict[int, float] = {}
        first_try: dict[int, float] = {}
        for chat, status, t in attempts:
            first_try.setdefault(chat, t)
            if status == 200:
                first_delivery.setdefault(chat, t)
        first = attempts[0][2] if attempts else started
        return cls(attempts, sorted(first_delivery.values()), first, max(first_try.values(), default=first))

    @property
    def span(self) -> float:
        """First attempt to last delivery."""
        return self.delivered_at[-1] - self.first if self.delivered_at else float("nan")

    @property
    def phase(self) -> float:
        return self.phase_end - self.first

    def tail_story(self) -> str:
        """What the tail was made of: the tries of the chat delivered last, relative to the first attempt."""
        if not self.delivered_at or self.delivered_at[-1] <= self.phase_end:
            return "no tail: the last delivery was a first try"
        last = self.delivered_at[-1]
        chat = next(c for c, status, t in self.attempts if t == last and status == 200)
        tries = ", ".join(f"+{t - self.first:.1f} s {STATUS_NAMES.get(status, str(status))}"
                          for c, status, t in self.attempts if c == chat)
        return f"the tail ends with chat {chat}'s tries: {tries}"


# A failed attempt counts against Telegram's limit too, so with 5 % faults the delivered rate cannot reach
# 95 % of it: the sender is judged on how fully it uses the limit while it has something to send, and on
# what got through over the whole run, tail of retries included.
ATTEMPT_GOAL = 0.95
DELIVERED_GOAL = 0.90


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("nan")


def summarise(args: argparse.Namespace, record: FakeRecord, started: float, ended: float, stats: Any,
              final: Counter[str], queued: int) -> None:
    limit = TelegramTransport.limits.global_per_second
    line = Timeline.of(record, started)
    attempts, delivered_at = line.attempts, line.delivered_at
    per_chat = Counter(chat for chat, status, _t in attempts if status == 200)
    duplicated = sum(1 for n in per_chat.values() if n > 1)
    extra = sum(n - 1 for n in per_chat.values() if n > 1)
    lost = queued - final.get("sent", 0)
    n95 = max(1, int(0.95 * queued))
    span95 = (delivered_at[n95 - 1] - line.first) if len(delivered_at) >= n95 else float("nan")
    phase_attempts = sum(1 for _c, _s, t in attempts if t <= line.phase_end)
    phase_delivered = sum(1 for t in delivered_at if t <= line.phase_end)
    tail = (delivered_at[-1] - line.phase_end) if delivered_at else float("nan")
    per_second = Counter(int(t - line.first) for t in delivered_at)
    steady = [per_second.get(s, 0) for s in range(1, int(line.phase))]  # whole seconds of the sending phase
    statuses = Counter(STATUS_NAMES.get(status, str(status)) for _c, status, _t in attempts)

    print(f"recipients {args.recipients}, rows queued {queued}, fault rate {args.fault_rate:.0%} of "
          f"sendMessage calls ({', '.join(f'{k}: {record.injected.get(k, 0)}' for k in KINDS)}), timeouts "
          f"{'deliver' if args.timeout_delivers else 'do not deliver'}")
    print(f"sender: {stats}")
    print(f"fake: {len(attempts)} sendMessage calls, {dict(sorted(statuses.items()))}")
    print(f"wall time: drain {ended - started:.1f} s; first attempt to last delivery {line.span:.1f} s; "
          f"to 95 % delivered {span95:.1f} s")
    rate, attempt_rate = _rate(len(delivered_at), line.span), _rate(len(attempts), line.span)
    phase_rate, phase_attempt_rate = _rate(phase_delivered, line.phase), _rate(phase_attempts, line.phase)
    print(f"sending phase (until every chat had its first try): {line.phase:.1f} s, {phase_attempts} attempts, "
          f"{phase_delivered} delivered; then a tail of retries for {tail:.1f} s ({line.tail_story()})")
    if steady:
        print(f"delivered per whole second of the sending phase: median {statistics.median(steady):.0f}, "
              f"min {min(steady)}, max {max(steady)}")
    print(f"ATTEMPTS {attempt_rate:.2f}/s = {attempt_rate / limit:.1%} of {limit:g}/s over the whole run; "
          f"{phase_attempt_rate:.2f}/s = {phase_attempt_rate / limit:.1%} in the sending phase")
    print(f"DELIVERED {rate:.2f}/s = {rate / limit:.1%} of {limit:g}/s over the whole run; "
          f"{phase_rate:.2f}/s = {phase_rate / limit:.1%} in the sending phase")
    print(f"The limiter charges every attempt, so {len(delivered_at)} deliveries in {len(attempts)} attempts "
          f"can reach at most {len(delivered_at) / max(len(attempts), 1):.1%} of the limit, and the tail of "
          f"retries comes on top")
    goals = [
        (f"attempts >= {ATTEMPT_GOAL:.0%} of {limit:g}/s while sending: {phase_attempt_rate / limit:.1%}",
         phase_attempt_rate / limit >= ATTEMPT_GOAL),
        (f"delivered >= {DELIVERED_GOAL:.0%} of {limit:g}/s over the whole run: {rate / limit:.1%}",
         rate / limit >= DELIVERED_GOAL),
        (f"LOST {lost} (rows not sent at the end: {dict(final)}; goal 0)", lost == 0),
        (f"DUPLICATED {duplicated} chats got the bulletin more than once ({extra} extra messages; goal 0)",
         duplicated == 0),
    ]
    for text, met in goals:
        print(f"goal: {text} — {'met' if met else 'MISSED'}")
    print(f"verdict: {'PASS' if all(met for _, met in goals) else 'FAIL'}")


async def bench(args: argparse.Namespace, port: int) -> tuple[float, float, Any, Counter[str], int]:
    with tempfile.TemporaryDirectory(prefix="diaodu-fanout-") as tmp:
        db = Database(f"sqlite+aiosqlite:///{Path(tmp) / 'fanout.sqlite3'}")
        try:
            prep = time.perf_counter()
            html, ids = await prepare(db, args.recipients)
            queued = await enqueue(db, html, ids)
            print(f"prepared {len(ids)} recipients and {queued} outbox rows in "
                  f"{time.perf_counter() - prep:.1f} s; message: {len(html)} characters of HTML", flush=True)
            started, ended, stats = await deliver(args, port, db)
            return started, ended, stats, await states(db), queued
        finally:
            await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=3000)
    parser.add_argument("--fault-rate", type=float, default=0.05)
    parser.add_argument("--timeout-delivers", action="store_true",
                        help="a timed-out request is delivered all the same (its answer was lost)")
    parser.add_argument("--kinds", default=",".join(KINDS),
                        help="which failures to inject, comma-separated (default: 429,500,timeout)")
    parser.add_argument("--fake", choices=["process", "inline"], default="process")
    parser.add_argument("--batch", type=int, default=0,
                        help="rows the sender holds at once (default: the sender's)")
    parser.add_argument("--concurrency", type=int, default=0, help="sends in flight (default: the sender's)")
    parser.add_argument("--read-timeout", type=float, default=READ_TIMEOUT,
                        help="the client's read timeout in seconds (default: python-telegram-bot's, 5)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--budget", type=float, default=0.0,
                        help="seconds the drain may take (default: twice the ideal time plus a minute)")
    args = parser.parse_args()
    args.kinds = tuple(k.strip() for k in args.kinds.split(",") if k.strip())
    if args.recipients < 1 or not 0 <= args.fault_rate < 1 or not args.kinds or set(args.kinds) - set(KINDS) \
            or args.read_timeout <= 0:
        parser.error(f"need at least one recipient, a fault rate in [0, 1), kinds among {','.join(KINDS)} and a "
                     f"positive read timeout")
    limit = TelegramTransport.limits.global_per_second
    args.budget = args.budget or 2 * args.recipients / limit + 60
    print(f"python {platform.python_version()}, python-telegram-bot {telegram.__version__}; "
          f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}; "
          f"fake Bot API "
          f"{'in its own process' if args.fake == 'process' else 'in the same event loop'}; "
          f"ideal time at {limit:g}/s: {args.recipients / limit:.0f} s", flush=True)

    if args.fake == "inline":
        async def inline() -> None:
            port_ready: asyncio.Future[int] = asyncio.get_running_loop().create_future()
            done = asyncio.Event()

            async def port_out(port: int) -> None:
                port_ready.set_result(port)

            fake_task = asyncio.create_task(run_fake(args, port_out, done.wait))
            try:
                result = await bench(args, await port_ready)
            finally:
                done.set()
            summarise(args, await fake_task, *result[:3], result[3], result[4])

        asyncio.run(inline())
        return

    parent, child = multiprocessing.Pipe()
    process = multiprocessing.Process(target=_serve_fake, args=(child, args), daemon=True)
    process.start()
    try:
        port = parent.recv()
        result = asyncio.run(bench(args, port))
        parent.send("stop")
        record: FakeRecord = parent.recv()
    finally:
        process.join(timeout=10)
        if process.is_alive():
            process.terminate()
    summarise(args, record, *result[:3], result[3], result[4])


if __name__ == "__main__":
    main()
