"""The outbox sender: delivers queued notices within each channel's rate limits, and records how each ended.

One round (``run_once``) claims a batch of due rows, sends them, and writes each row's outcome in its
own short transaction right after its send:

- sent → ``sent``;
- ``TransientError`` (network, timeout, 5xx) or anything unexpected → retried later with exponential
  backoff and jitter (2, 4, 8 … s, at most 10 min), ``failed`` with ``last_error`` once the row has had
  ``max_attempts`` tries;
- ``RetryLater`` (flood control) → retried after the delay the channel asked for; the rest of that chat's
  batch waits too, and such waits do not count as tries;
- ``RecipientBlocked`` → ``undeliverable``, and the chat account is marked blocked;
- ``PermanentError`` → ``failed`` at once.

Every "later" is stored in ``next_attempt_at`` and taken from the injected clock, so it survives restarts
and tests can travel in time; real time passes only inside the rate limiters (and in ``drain`` when it
is asked to wait for retries on the real clock).

Delivery is at least once: a claim is a lease (``lease``, 10 minutes by default; it must outlast the
slowest batch, e.g. 100 notices to one group chat at 20 a minute take 5 minutes). When a sender dies
mid-batch, its rows become due again when their lease runs out. A message is sent twice only when the
process dies (or the database fails) between a successful send and the write that records it.

Messages to one chat are sent in order, one at a time; different chats are served concurrently.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from weakref import WeakKeyDictionary

from aiolimiter import AsyncLimiter
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import (
    PermanentError,
    RateLimits,
    RecipientBlocked,
    RetryLater,
    TransientError,
    Transport,
    is_group_chat,
    limits_of,
)
from bot.clock import Clock, SystemClock
from storage import outbox
from storage.db import Database
from storage.models import OutboxMessage

log = logging.getLogger(__name__)

ERROR_MAX = 1000
_SQLITE_TURNS: WeakKeyDictionary[Database, asyncio.Lock] = WeakKeyDictionary()
Mark = Callable[..., Awaitable[bool]]


@dataclass
class SendStats:
    """What one or more rounds did."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0  # rescheduled after a transient error or flood control
    failed: int = 0
    undeliverable: int = 0
    released: int = 0  # handed back unsent: the chat was on hold or the claim's lease ran out

    def __add__(self, other: SendStats) -> SendStats:
        return SendStats(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})


def _limiter(rate: float, period: float) -> AsyncLimiter:
    """A limiter letting ``rate`` messages through per ``period`` seconds, evenly spaced.

    The bucket holds one message: a bucket as deep as the rate would allow a full burst on top of the
    steady flow, i.e. up to twice the limit within one period (40 messages in a minute to a group).
    """
    if rate <= 0:
        raise ValueError("a rate limit must be positive")
    return AsyncLimiter(1, period / rate)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    described = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return described[:ERROR_MAX]


class OutboxSender:
    """Delivers due outbox rows through the transports of the configured channels.

    Rows of a channel without a transport (say WeCom is not configured) stay pending, untouched.
    """

    def __init__(
        self,
        db: Database,
        clock: Clock,
        transports: Mapping[str, Transport],
        *,
        limits: Mapping[str, RateLimits] | None = None,
        max_attempts: int = 8,
        batch: int = 100,
        lease: timedelta = timedelta(minutes=10),
        concurrency: int = 16,
        send_timeout: float = 60.0,
        backoff_base: float = 2.0,
        backoff_cap: float = 600.0,
        rng: random.Random | None = None,
    ) -> None:
        if max_attempts < 1 or batch < 1 or concurrency < 1:
            raise ValueError("max_attempts, batch and concurrency must be at least 1")
        self.db = db
        self.clock = clock
        self.transports = dict(transports)
        self.limits = {name: (limits or {}).get(name) or limits_of(t) for name, t in self.transports.items()}
        self.max_attempts = max_attempts
        self.batch = batch
        self.lease = lease
        self.send_timeout = send_timeout
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._rng = rng or random.Random()
        self._in_flight = asyncio.Semaphore(concurrency)
        self._global = {name: _limiter(lim.global_per_second, 1) for name, lim in self.limits.items()}
        self._per_chat: dict[tuple[str, str], AsyncLimiter] = {}
        self._per_group: dict[tuple[str, str], AsyncLimiter] = {}
        self._unserved: set[str] = set()
        # SQLite has one writer at a time anyway, and an in-memory database is one shared connection on
        # which transactions must not overlap: every sender of the same database takes its turn.
        self._db_turn = _SQLITE_TURNS.setdefault(db, asyncio.Lock()) if db.is_sqlite else None

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[AsyncSession]:
        if self._db_turn is None:
            async with self.db.session() as session:
                yield session
            return
        async with self._db_turn, self.db.session() as session:
            yield session

    # ------------------------------------------------------------ rounds

    async def run_once(self) -> SendStats:
        """Claim one batch of due rows and send them; returns what happened to them."""
        now = self.clock.now()
        async with self._session() as session:
            # The claim is the transaction's first statement: on SQLite it takes the write lock at once.
            claimed = await outbox.claim_due_messages(
                session, now=now, limit=self.batch, lease_until=now + self.lease,
                channels=list(self.transports),
            )
            await self._notice_unserved(session, now)
        stats = SendStats(claimed=len(claimed))
        if not claimed:
            return stats
        by_chat: dict[tuple[str, str], list[OutboxMessage]] = {}
        for message in claimed:
            by_chat.setdefault((str(message.channel), str(message.chat_id)), []).append(message)
        lease_until = now + self.lease
        results = await asyncio.gather(*(self._serve_chat(rows, lease_until) for rows in by_chat.values()))
        for outcomes in results:
            for outcome in outcomes:
                setattr(stats, outcome, getattr(stats, outcome) + 1)
        log.info("outbox round: %s", stats)
        return stats

    async def run_forever(self, stop: asyncio.Event, idle_seconds: float = 1.0) -> None:
        """Send rounds until ``stop`` is set, resting ``idle_seconds`` whenever nothing was due."""
        while not stop.is_set():
            try:
                stats = await self.run_once()
            except Exception:
                log.exception("outbox round failed")
                stats = SendStats()
            if stats.claimed:
                continue
            try:
                await asyncio.wait_for(stop.wait(), idle_seconds)
            except TimeoutError:
                pass

    async def drain(self, timeout: float = 30.0, *, wait_for_retries: bool = False) -> SendStats:
        """Send rounds until nothing is due (or ``timeout`` real seconds have passed).

        With ``wait_for_retries`` and the real clock, it also sleeps until rows scheduled for a retry fall
        due, as long as that happens within the timeout. Under any other clock time only moves when the
        caller moves it, so the drain ends as soon as nothing is due.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        total = SendStats()
        while True:
            stats = await self.run_once()
            total += stats
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            if stats.claimed:
                continue
            if not (wait_for_retries and isinstance(self.clock, SystemClock)):
                break
            async with self._session() as session:
                next_due = await outbox.next_due_at(session, channels=list(self.transports))
            if next_due is None:
                break
            wait = (next_due - self.clock.now()).total_seconds()
            if wait > remaining:
                break
            await asyncio.sleep(min(max(wait, 0.01), remaining))
        return total

    # ------------------------------------------------------------ one chat, one message

    async def _serve_chat(self, rows: list[OutboxMessage], lease_until: datetime) -> list[str]:
        """Send one chat's rows in order; a flood-control answer holds back the rest of them."""
        outcomes: list[str] = []
        hold_until: datetime | None = None
        for message in rows:
            try:
                if hold_until is not None:
                    await self._record(message, "released", outbox.mark_retry, at=hold_until, error=None,
                                       count_attempt=False)
                    outcomes.append("released")
                    continue
                outcome, hold_until = await self._deliver(message, lease_until)
                outcomes.append(outcome)
            except Exception:  # recording failed: the row stays claimed and comes back when its lease ends
                log.exception("could not record the outcome of outbox message %s", message.id)
        return outcomes

    async def _deliver(self, message: OutboxMessage, lease_until: datetime) -> tuple[str, datetime | None]:
        channel, chat_id = str(message.channel), str(message.chat_id)
        transport = self.transports[channel]
        await self._wait_for_turn(transport, channel, chat_id)
        if self.clock.now() >= lease_until:
            # Waited so long that another sender may have taken the row: hand it back unsent.
            await self._record(message, "released", outbox.mark_retry, at=self.clock.now(), error=None,
                               count_attempt=False)
            return "released", None
        try:
            reply = outbox.reply_from_payload(message.payload)
            attachment = outbox.attachment_from_payload(message.payload)
        except (KeyError, TypeError, ValueError) as exc:
            error = f"bad payload: {exc}"
            return await self._record(message, "failed", outbox.mark_failed, error=error), None
        try:
            async with self._in_flight:
                if attachment is None:
                    sending = transport.send(chat_id, reply)
                else:
                    sending = transport.send(chat_id, reply, attachment=attachment)
                await asyncio.wait_for(sending, self.send_timeout)
        except RetryLater as exc:
            at = self.clock.now() + timedelta(seconds=exc.after_seconds)
            log.info("flood control on %s:%s, waiting %.0f s", channel, chat_id, exc.after_seconds)
            await self._record(message, "retried", outbox.mark_retry, at=at, error=_describe(exc),
                               count_attempt=False)
            return "retried", at
        except RecipientBlocked as exc:
            log.info("%s:%s cannot be reached: %s", channel, chat_id, exc)
            now = self.clock.now()
            async with self._session() as session:
                await outbox.mark_undeliverable(session, message_id=message.id, error=_describe(exc),
                                                attempt=message.attempts)
                await outbox.mark_chat_blocked(session, channel=channel, chat_id=chat_id, now=now)
            return "undeliverable", None
        except PermanentError as exc:
            log.warning("outbox message %s refused by %s: %s", message.id, channel, exc)
            return await self._record(message, "failed", outbox.mark_failed, error=_describe(exc)), None
        except (TransientError, TimeoutError) as exc:
            return await self._retry_or_give_up(message, exc), None
        except Exception as exc:
            log.exception("unexpected error sending outbox message %s", message.id)
            return await self._retry_or_give_up(message, exc), None
        return await self._record(message, "sent", outbox.mark_sent, now=self.clock.now()), None

    async def _wait_for_turn(self, transport: Transport, channel: str, chat_id: str) -> None:
        """Wait until the chat's, the group's and then the channel's limit allow one more message."""
        key = (channel, chat_id)
        limits = self.limits[channel]
        per_chat = self._per_chat.get(key)
        if per_chat is None:
            per_chat = self._per_chat[key] = _limiter(limits.per_chat_per_second, 1)
        await per_chat.acquire()
        if is_group_chat(transport, chat_id):
            per_group = self._per_group.get(key)
            if per_group is None:
                per_group = self._per_group[key] = _limiter(limits.per_group_per_minute, 60)
            await per_group.acquire()
        await self._global[channel].acquire()

    async def _retry_or_give_up(self, message: OutboxMessage, exc: BaseException) -> str:
        error = _describe(exc)
        if message.attempts >= self.max_attempts:
            log.warning("gave up on outbox message %s after %d tries: %s",
                        message.id, message.attempts, error)
            return await self._record(message, "failed", outbox.mark_failed, error=error)
        at = self.clock.now() + timedelta(seconds=self.backoff(message.attempts))
        return await self._record(message, "retried", outbox.mark_retry, at=at, error=error)

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failed try: 2, 4, 8 … with ±20 % jitter, capped."""
        delay = self.backoff_base * 2 ** max(attempts - 1, 0)
        return min(self.backoff_cap, delay * self._rng.uniform(0.8, 1.2))

    async def _record(self, message: OutboxMessage, outcome: str, mark: Mark, **values: object) -> str:
        """Write one row's outcome in its own transaction, only if this sender's claim still holds."""
        async with self._session() as session:
            done = await mark(session, message_id=message.id, attempt=message.attempts, **values)
        if not done:
            log.warning("outbox message %s was taken over by another sender before it was recorded as %s",
                        message.id, outcome)
        return outcome

    async def _notice_unserved(self, session: AsyncSession, now: datetime) -> None:
        """Log once per channel that has due rows but no transport here; those rows simply wait."""
        channels = await outbox.due_channels(session, now=now)
        for channel in sorted(channels - set(self.transports) - self._unserved):
            self._unserved.add(channel)
            log.warning("outbox has notices for channel %r, which is not configured here; they stay pending",
                        channel)
