"""The outbox sender: delivers queued notices within each channel's rate limits, and records how each ended.

The sender is a pipeline. It claims due rows (a claim is a lease, see below) and hands each to the worker
of its chat; it claims more whenever it holds at most half of ``batch`` rows and more are due, without
waiting for the sends still in flight. So a slow send (one that ends in a timeout takes as long as the
client's timeouts allow) holds up its own chat only, and the channel's global limit keeps being used.

- At most ``batch`` rows are held at once (claimed and not yet finished), and at most ``concurrency``
  sends are in flight.
- One worker per chat sends that chat's rows one at a time, in the order they were claimed (oldest
  first): never two sends to one chat at once, never a later row of a chat before an earlier one that
  this sender holds.
- Each row waits for its turn under the limiters: the chat's, the group's (per minute, for group chats)
  and then, holding a free send slot, the channel's global one, evenly spaced. Free send slots go to the
  oldest rows waiting (as claims do), so a row retried after a failure goes ahead of the younger rows
  already held when it comes due again, instead of queueing behind all of them.
- The global limiter charges every attempt, failed ones too: a timed-out send may have been delivered, a
  flood-control answer is the limit itself, and Telegram answers some sends it did deliver with a 500
  ("sent message was immediately deleted"). With a share of failures, the delivered rate stays that much
  below the limit.

``run_forever`` keeps the pipeline going until it is stopped (the leading ``diaodu run`` process),
``drain`` until nothing is due or held (the CLI, tests), and ``run_once`` is one bounded pass: a single
claim of up to ``batch`` rows, done when each of them is.

Right before a row's send (after every rate-limiter wait, holding its send slot) the sender commits that
the send starts (``storage.outbox_sending.mark_send_started``, fenced by the claim like the outcomes); if that
write finds the claim gone, the row is handed back unsent. Each row's outcome is written in its own short
transaction right after its send:

- sent → ``sent``;
- ``TransientError`` (network, timeout, 5xx) or anything unexpected → retried later with exponential
  backoff and jitter (1 s, then 4, 8, 16 … s, at most 10 min; see ``backoff``), ``failed`` with
  ``last_error`` once the row has had ``max_attempts`` tries;
- ``RetryLater`` (flood control) → retried after the delay the channel asked for, and the chat is on hold
  until then: its other rows, held now or claimed later, are handed back unsent to the end of the hold.
  Such waits do not count as tries;
- ``RecipientBlocked`` → ``undeliverable``, and the chat account is marked blocked;
- ``PermanentError`` → ``failed`` at once;
- ``ChannelDown`` (a fault of the channel's setup, not of the message) → handed back unsent, no try
  counted: the channel's breaker opens (``bot.services.channel_breaker``), so its notices are held, not
  claimed, until a probe and one trial notice find it working; the admins are told once, on their other
  channels (``bot.services.channel_notices``), and again when it works.

A reply that goes out as several messages (a long text) and fails part-way records how many got
through (``parts_sent``, see ``bot.channels.base``) with its outcome; every later try, by this sender or
another after a take-over, sends only the rest.

Every "later" is stored in ``next_attempt_at`` and taken from the injected clock, so it survives restarts
and tests can travel in time; real time passes only inside the rate limiters (and in ``drain`` when it
is asked to wait for retries on the real clock).

When the leader dies, the next leader takes its rows over as soon as it holds the leader lock
(``run_forever(take_over=True)``, see ``take_over``) rather than when their lease runs out: a killed
leader's notices go out within seconds of the take-over, not ten minutes later.

A crash never makes the sender send a row twice. A claim is a lease (``lease``, 10 minutes by default)
and counts one attempt up, which doubles as a fencing token: a send's start and its outcome are recorded
only by the claim that made it. The lease must outlast the longest a held row can wait for its turn: with
at most ``batch`` rows held, e.g. 100 notices to one group chat at 20 a minute take 5 minutes. A row that
waited past its lease is handed back unsent (another sender may have taken it). When a sender is stopped,
it hands back the rows it has not started and finishes the sends in flight. When it dies (or loses the
database), its rows come back when their lease runs out: those whose send had not started are sent
again as usual, and those whose send had started, but whose outcome was not recorded, are set
``in_doubt``: they may or may not have reached the chat, so they are not sent again automatically, and
an admin decides (``/outbox`` lists them with a retry button). That is at most ``concurrency`` rows per
crash; the rest of the batch is simply sent.

A message can still go out twice when a send timed out (the client's own timeouts, or ``send_timeout``
around the whole send): the channel may have delivered it and only the answer was lost. The row is
retried like any transient error, so the recipient may get it twice. Shorter timeouts make that more
likely; with the pipeline they no longer slow other chats down.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from aiolimiter import AsyncLimiter
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import (
    Attachment,
    ChannelDown,
    PermanentError,
    RateLimits,
    RecipientBlocked,
    RetryLater,
    TransientError,
    Transport,
    is_group_chat,
    limits_of,
    parts_sent_of,
)
from bot.clock import Clock, SystemClock
from bot.domain.messages import Reply
from bot.services.channel_breaker import TRIAL, UP, ChannelBreakers, ChannelFault
from bot.services.channel_notices import ChannelNotices
from bot.services.slots import OldestFirstSlots
from storage import outbox, outbox_sending
from storage.db import Database
from storage.models import OutboxMessage

log = logging.getLogger(__name__)

ERROR_MAX = 1000
LIMITER_SLACK = 0.003  # seconds of lateness a rate limiter makes up for, see _limiter
Mark = Callable[..., Awaitable[bool]]
ChatKey = tuple[str, str]  # (channel, chat id)
Outcome = tuple[str, datetime | None]  # what happened to a row, and when it falls due again if it was put back


@dataclass
class SendStats:
    """What one or more rounds did."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0  # rescheduled after a transient error or flood control
    failed: int = 0
    undeliverable: int = 0
    released: int = 0  # handed back unsent: the chat was on hold, the claim's lease ran out, or a stop
    held: int = 0  # handed back unsent, no try counted: the channel is down (ChannelDown)

    def __add__(self, other: SendStats) -> SendStats:
        return SendStats(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def __sub__(self, other: SendStats) -> SendStats:
        return SendStats(**{f.name: getattr(self, f.name) - getattr(other, f.name) for f in fields(self)})

    def count(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


def _limiter(rate: float, period: float) -> AsyncLimiter:
    """A limiter letting ``rate`` messages through per ``period`` seconds, evenly spaced.

    The bucket holds one message: a bucket as deep as the rate would allow a full burst on top of the
    steady flow, i.e. up to twice the limit within one period (40 messages in a minute to a group).

    On top of that it holds a sliver: ``LIMITER_SLACK`` seconds' worth of the rate, at most a tenth of a
    message. A waiting sender wakes a little late (timers fire up to a millisecond after their time, and
    the event loop may have other work first), and a bucket of exactly one message loses that lateness on
    every message: 3 % of the rate at 30 a second. With the sliver, a message after a late one may go up to
    ``LIMITER_SLACK`` seconds early, which makes up for it. Any run of n messages still spans at least
    n - 1 intervals less ``LIMITER_SLACK`` seconds, so the rate over time stays the limit.
    """
    if rate <= 0:
        raise ValueError("a rate limit must be positive")
    per_second = rate / period
    depth = 1 + min(LIMITER_SLACK * per_second, 0.1)
    return AsyncLimiter(depth, depth / per_second)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    described = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return described[:ERROR_MAX]


@dataclass
class _Held:
    """A claimed row waiting in its chat's queue, and when its claim's lease runs out."""

    message: OutboxMessage
    lease_until: datetime


class _Pipeline:
    """The rows one ``run_once``, ``drain`` or ``run_forever`` holds, served by one worker task per chat."""

    def __init__(self, sender: OutboxSender) -> None:
        self.sender = sender
        self.stats = SendStats()
        self.queues: dict[ChatKey, deque[_Held]] = {}
        self.workers: dict[ChatKey, asyncio.Task[None]] = {}
        self.waiting: set[ChatKey] = set()  # chats whose current row waits for its turn (not started yet)
        self.held = 0  # rows claimed and not finished
        self.stopping = False
        self.changed = asyncio.Event()  # a row finished (or a stop was asked for)
        self.due_again: datetime | None = None  # the earliest time a row this run put back falls due

    async def claim(self, limit: int) -> int:
        """Claim up to ``limit`` due rows and queue each behind the rows of its chat; how many were claimed."""
        sender = self.sender
        await sender._probe_channels()
        now = sender.clock.now()
        lease_until = now + sender.lease
        trying = sender._trial_channels()
        async with sender._session() as session:
            # The claim is the transaction's first statement: on SQLite it takes the write lock at once.
            claimed = await outbox_sending.claim_due_messages(session, now=now, limit=limit, lease_until=lease_until,
                                                              channels=sender.breakers.up(sender.transports))
            for channel in trying:  # one held notice of a channel that may work again, to find out
                if len(claimed) < limit:
                    trial = await outbox_sending.claim_due_messages(session, now=now, limit=1,
                                                                    lease_until=lease_until, channels=[channel])
                    if trial:
                        sender._trials[channel] = trial[0].id
                        claimed += trial
            await sender._notice_unserved(session, now)
        sender._forget_holds(now)
        for message in claimed:  # oldest first
            key = (str(message.channel), str(message.chat_id))
            queue = self.queues.get(key)
            if queue is None:
                queue = self.queues[key] = deque()
                self.workers[key] = asyncio.create_task(self._serve_chat(key, queue),
                                                        name=f"outbox {key[0]}:{key[1]}")
            queue.append(_Held(message, lease_until))
        self.held += len(claimed)
        self.stats.claimed += len(claimed)
        if claimed:
            log.debug("outbox claimed %d rows, %d held", len(claimed), self.held)
        return len(claimed)

    async def _serve_chat(self, key: ChatKey, queue: deque[_Held]) -> None:
        """Send one chat's rows in order, one at a time, taking rows claimed meanwhile as they come."""
        sender = self.sender
        try:
            while queue:
                held = queue[0]
                try:
                    outcome, due = await self._serve(key, held)
                except Exception:  # a write failed: the row stays claimed until its lease ends, then it is due
                    # again (its send had not started) or held in doubt (it had)
                    log.exception("could not record the start or outcome of outbox message %s",
                                  held.message.id)
                    outcome, due = None, None
                sender._end_trial(held.message)  # however it ended, its channel may be tried again
                queue.popleft()
                self.held -= 1
                if outcome is not None:
                    self.stats.count(outcome)
                if due is not None and (self.due_again is None or due < self.due_again):
                    self.due_again = due
                self.changed.set()
        finally:
            # Left early only when cancelled from outside: those rows come back when their lease runs out.
            for left in queue:
                sender._end_trial(left.message)
            self.held -= len(queue)
            queue.clear()
            del self.queues[key], self.workers[key]
            self.changed.set()

    async def _serve(self, key: ChatKey, held: _Held) -> tuple[str | None, datetime | None]:
        sender = self.sender
        if self.stopping:
            return await sender._hand_back(held.message)
        self.waiting.add(key)
        try:
            return await sender._serve(held.message, held.lease_until, started=lambda: self.waiting.discard(key))
        except asyncio.CancelledError:
            if not (self.stopping and key in self.waiting):
                raise
            # Stopped while the row waited for its turn: it was not sent, so it goes back at once.
            self.waiting.discard(key)
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            return await sender._hand_back(held.message)
        finally:
            self.waiting.discard(key)

    async def wait(self, timeout: float | None) -> None:
        """Until a row finishes, a stop is asked for, or ``timeout`` seconds have passed."""
        with suppress(TimeoutError):
            await asyncio.wait_for(self.changed.wait(), timeout)

    async def settle(self) -> None:
        """Until every held row is finished."""
        while self.workers:
            await asyncio.gather(*list(self.workers.values()), return_exceptions=True)
            for key, task in list(self.workers.items()):
                if task.done():  # cancelled from outside before it ever ran, so it could not clean up
                    self.held -= len(self.queues.pop(key, ()))
                    del self.workers[key]

    async def close(self) -> None:
        """Hand back the rows not started yet, and let the sends in flight finish and be recorded."""
        self.stopping = True
        for key, task in list(self.workers.items()):
            if key in self.waiting:
                task.cancel()
        await self.settle()


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
        first_retry: float = 1.0,
        backoff_base: float = 2.0,
        backoff_cap: float = 600.0,
        rng: random.Random | None = None,
        breakers: ChannelBreakers | None = None,
        notices: ChannelNotices | None = None,
        probe_timeout: float = 30.0,
    ) -> None:
        """``batch``: rows held at once (claimed, not finished); ``concurrency``: sends in flight at once.

        ``send_timeout`` bounds a whole send (a message and its attachment) in case a transport hangs; the
        transport's own timeouts (for Telegram those of the bot's request, 5 s to read an answer by
        default) should end a send well before it. A shorter read timeout would retry a lost answer sooner
        (a fan-out whose last sends time out ends about that much earlier), but would also give up on slow
        answers that did deliver, and each of those is a message sent twice.

        ``first_retry``, ``backoff_base`` and ``backoff_cap`` set the waits before retries, see ``backoff``.

        ``breakers`` hold which channels are down and when they are probed; ``notices`` tells the admins
        (without it, a channel's fault is only logged, and shown by ``channel_states``).
        """
        if max_attempts < 1 or batch < 1 or concurrency < 1:
            raise ValueError("max_attempts, batch and concurrency must be at least 1")
        self.db = db
        self.clock = clock
        self.transports = dict(transports)
        self.limits = {name: (limits or {}).get(name) or limits_of(t) for name, t in self.transports.items()}
        self.max_attempts = max_attempts
        self.batch = batch
        self.lease = lease
        self.concurrency = concurrency
        self.send_timeout = send_timeout
        self.first_retry = first_retry
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._rng = rng or random.Random()
        self._in_flight = OldestFirstSlots(concurrency)
        self._global = {name: _limiter(lim.global_per_second, 1) for name, lim in self.limits.items()}
        self._per_chat: dict[ChatKey, AsyncLimiter] = {}
        self._per_group: dict[ChatKey, AsyncLimiter] = {}
        self._holds: dict[ChatKey, datetime] = {}  # chats under flood control, until when
        self._unserved: set[str] = set()
        self.breakers = breakers or ChannelBreakers()
        self.notices = notices
        self.probe_timeout = probe_timeout
        self._trials: dict[str, int] = {}  # channel on trial -> the id of the notice trying it

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[AsyncSession]:
        """One short unit of work (how writers wait for each other: storage.db)."""
        async with self.db.session() as session:
            yield session

    # ------------------------------------------------------------ running

    async def run_once(self) -> SendStats:
        """One bounded pass: claim up to ``batch`` due rows, send them, and return once every one has its
        outcome recorded (or was handed back); returns what happened to them."""
        run = _Pipeline(self)
        try:
            await run.claim(self.batch)
            await run.settle()
        finally:
            await run.close()
        if run.stats.claimed:
            log.info("outbox round: %s", run.stats)
        return run.stats

    async def take_over(self) -> int:
        """End the leases of every row another sender holds (``storage.outbox.end_leases``), so that the
        next claim takes them at once; how many there were.

        Only for a sender that alone may send: the leader, right after it got the lock, which proves the
        previous leader is gone (dead, or cut off and stepping down). A row whose send the old leader had
        started is held ``in_doubt`` as when its lease runs out; the others are sent again. The claims'
        fencing keeps this safe even if the old sender is still alive: it can no longer start a row the new
        one claimed."""
        async with self._session() as session:
            ended = await outbox_sending.end_leases(session, now=self.clock.now())
        if ended:
            log.warning("took over %d outbox rows another sender held", ended)
        return ended

    async def run_forever(self, stop: asyncio.Event, idle_seconds: float = 1.0, *, take_over: bool = False) -> None:
        """Claim and send until ``stop`` is set; look for due rows at least every ``idle_seconds`` when
        caught up. On stop, rows not started yet are handed back (due at once) and sends in flight finish.

        With ``take_over`` (the leader, right after it got the lock), the rows another sender holds are taken
        over first (``take_over``) instead of waiting out their lease."""
        if take_over:
            try:
                await self.take_over()
            except Exception:  # the rows still come back when their lease runs out
                log.exception("could not take over the outbox rows another sender held")
        run = _Pipeline(self)

        async def relay_stop() -> None:
            await stop.wait()
            run.changed.set()

        relay = asyncio.create_task(relay_stop())
        try:
            await self._pump(run, stop=stop, idle_seconds=idle_seconds)
        finally:
            relay.cancel()
            await run.close()

    async def drain(self, timeout: float = 30.0, *, wait_for_retries: bool = False) -> SendStats:
        """Claim and send until nothing is due and nothing is held (or ``timeout`` real seconds have passed:
        then the rows not started yet are handed back and the sends in flight finish).

        With ``wait_for_retries`` and the real clock, it also waits until rows scheduled for a retry fall
        due, as long as that happens within the timeout. Under any other clock time only moves when the
        caller moves it, so the drain ends as soon as nothing is due.
        """
        deadline = asyncio.get_running_loop().time() + timeout
        follow = wait_for_retries and isinstance(self.clock, SystemClock)
        run = _Pipeline(self)
        try:
            await self._pump(run, deadline=deadline, follow_retries=follow)
        finally:
            await run.close()
        log.info("outbox drained: %s", run.stats)
        return run.stats

    async def _pump(self, run: _Pipeline, *, stop: asyncio.Event | None = None, deadline: float | None = None,
                    idle_seconds: float | None = None, follow_retries: bool = False) -> None:
        """Keep claiming while there is room and rows are due, until stopped or past the deadline.

        The next claim comes as soon as at most half of ``batch`` is held, so that rows are always waiting
        for the global limiter. After a claim that found fewer due rows than it could take ("caught up"),
        the next one waits for the next look: ``idle_seconds`` later (``run_forever``), or when the next
        retry falls due (a drain following retries on the real clock), or else once nothing is held. A
        drain ends when it is caught up, holds nothing, and has no next look before its deadline.
        """
        loop = asyncio.get_running_loop()
        real_clock = isinstance(self.clock, SystemClock)
        low_water = self.batch // 2
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
                    due = now + max((run.due_again - self.clock.now()).total_seconds(), 0.0)
                    if deadline is None or due <= deadline:
                        look_at = due if look_at is None else min(look_at, due)
                run.due_again = None
            room = self.batch - run.held
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
                    look_at = await self._next_look(idle_seconds, follow_retries, deadline)
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

    async def _next_look(self, idle_seconds: float | None, follow_retries: bool,
                         deadline: float | None) -> float | None:
        """When a caught-up pipeline should look for due rows again (loop time), None for "when nothing is
        held" (a drain that does not follow retries, or whose next retry falls due past the deadline)."""
        loop = asyncio.get_running_loop()
        if idle_seconds is not None:
            return loop.time() + idle_seconds
        if not follow_retries:
            return None
        async with self._session() as session:
            next_due = await outbox_sending.next_due_at(
                session, channels=self.breakers.up(self.transports) + self._trial_channels())
        if next_due is None:
            return None
        at = loop.time() + min(max((next_due - self.clock.now()).total_seconds(), 0.01), 3600.0)
        return at if deadline is None or at <= deadline else None

    # ------------------------------------------------------------ one chat, one message

    async def _serve(self, message: OutboxMessage, lease_until: datetime,
                     started: Callable[[], None]) -> Outcome:
        """Send one claimed row when its turn comes and record the outcome.

        ``started`` is called once the row no longer waits: from then on it must not be cancelled (it is
        being sent, or its outcome written).
        """
        channel, chat_id = str(message.channel), str(message.chat_id)
        key = (channel, chat_id)
        if not self._may_send(message):
            started()
            return await self._hold(message)
        hold = self._holds.get(key)
        if hold is not None and self.clock.now() < hold:
            started()
            self._end_trial(message)
            return await self._release(message, at=hold)
        try:
            reply = outbox.reply_from_payload(message.payload)
            attachment = outbox.attachment_from_payload(message.payload)
        except (KeyError, TypeError, ValueError) as exc:
            started()
            return await self._record(message, "failed", outbox_sending.mark_failed, error=f"bad payload: {exc}"), None
        transport = self.transports[channel]
        await self._wait_for_chat(transport, key)
        async with self._in_flight.slot((message.created_at, message.id)):  # oldest first, as claimed
            await self._global[channel].acquire()
            started()
            now = self.clock.now()
            # The send's start is committed first: from then on a crash leaves the row in doubt, never resent.
            if not self._may_send(message):  # its channel went down while it waited
                return await self._hold(message)
            go = now < lease_until and await self._mark_started(message, now)
            if go:
                error = await self._attempt(transport, chat_id, reply, attachment, skip=message.parts_sent or 0)
                # The outcome is written before the slot is free: a crash leaves at most as many rows in doubt
                # as there are slots (deploy/README.md), not one more per outcome still being written.
                return await self._conclude(message, key, error)
        # Waited so long that another sender may have taken the row (or did): hand it back unsent.
        self._end_trial(message)
        return await self._release(message, at=self.clock.now())

    async def _mark_started(self, message: OutboxMessage, now: datetime) -> bool:
        """Commit that this claim sends the row now; False (do not send) if the claim no longer holds it."""
        async with self._session() as session:
            return await outbox_sending.mark_send_started(session, message_id=message.id, attempt=message.attempts,
                                                          now=now)

    async def _attempt(self, transport: Transport, chat_id: str, reply: Reply,
                       attachment: Attachment | None, *, skip: int) -> Exception | None:
        """One send, leaving out the ``skip`` messages of the reply that got through in earlier tries; the
        error it ended with, if any."""
        extra: dict[str, object] = {"skip": skip} if skip > 0 else {}
        if attachment is not None:
            extra["attachment"] = attachment
        try:
            sending = transport.send(chat_id, reply, **extra)  # type: ignore[arg-type]
            await asyncio.wait_for(sending, self.send_timeout)
        except Exception as exc:  # the channel's errors, timeouts, and transport bugs alike
            return exc
        return None

    async def _conclude(self, message: OutboxMessage, key: ChatKey, error: Exception | None) -> Outcome:
        channel, chat_id = key
        trial = self._end_trial(message)
        if trial and (error is None or isinstance(error, (RecipientBlocked, PermanentError))):
            await self._channel_works(channel)  # the channel answered: its setup is right again
        if error is None:
            return await self._record(message, "sent", outbox_sending.mark_sent, now=self.clock.now()), None
        # Messages of the reply that got through before the failure are not sent again.
        before = message.parts_sent or 0
        progress = {"parts_sent": parts_sent_of(error, before)} if parts_sent_of(error, before) > before else {}
        if isinstance(error, ChannelDown):
            await self._channel_down(channel, error)
            return await self._hold(message, **progress)
        if isinstance(error, RetryLater):
            at = self.clock.now() + timedelta(seconds=error.after_seconds)
            log.info("flood control on %s:%s, waiting %.0f s", channel, chat_id, error.after_seconds)
            self._holds[key] = max(at, self._holds.get(key, at))
            await self._record(message, "retried", outbox_sending.mark_retry, at=at, error=_describe(error),
                               count_attempt=False, **progress)
            return "retried", at
        if isinstance(error, RecipientBlocked):
            log.info("%s:%s cannot be reached: %s", channel, chat_id, error)
            now = self.clock.now()
            async with self._session() as session:
                await outbox_sending.mark_undeliverable(session, message_id=message.id, error=_describe(error),
                                                        attempt=message.attempts)
                await outbox_sending.mark_chat_blocked(session, channel=channel, chat_id=chat_id, now=now)
            return "undeliverable", None
        if isinstance(error, PermanentError):
            log.warning("outbox message %s refused by %s: %s", message.id, channel, error)
            return await self._record(message, "failed", outbox_sending.mark_failed, error=_describe(error),
                                      **progress), None
        if not isinstance(error, (TransientError, TimeoutError)):
            log.error("unexpected error sending outbox message %s", message.id, exc_info=error)
        # A timeout may hide a delivery whose answer was lost: retrying it is what makes this at least once.
        return await self._retry_or_give_up(message, error, progress)

    async def _wait_for_chat(self, transport: Transport, key: ChatKey) -> None:
        """Wait until the chat's and the group's limits allow one more message (the global one comes later,
        with a free send slot)."""
        channel, chat_id = key
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

    async def _retry_or_give_up(self, message: OutboxMessage, exc: BaseException,
                                progress: Mapping[str, int]) -> Outcome:
        error = _describe(exc)
        if message.attempts >= self.max_attempts:
            log.warning("gave up on outbox message %s after %d tries: %s",
                        message.id, message.attempts, error)
            return await self._record(message, "failed", outbox_sending.mark_failed, error=error, **progress), None
        at = self.clock.now() + timedelta(seconds=self.backoff(message.attempts))
        return await self._record(message, "retried", outbox_sending.mark_retry, at=at, error=error, **progress), at

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failed try, with ±20 % jitter and at most ``backoff_cap``.

        The first retry comes soon (``first_retry``, 1 s): a glitch (a 5xx, a dropped connection) has
        usually passed by then, and a row retried while the rest of a fan-out is still going out does not
        trail behind it. From the second retry on the wait doubles from ``backoff_base``: 4, 8, 16 … s, so
        that the default 8 tries still span about four minutes of an outage before a row fails. (A row of
        a chat gets no closer than the chat's own limit, 1 s on Telegram, whatever the backoff says.)
        """
        delay = self.first_retry if attempts <= 1 else self.backoff_base * 2 ** (attempts - 1)
        return min(self.backoff_cap, delay * self._rng.uniform(0.8, 1.2))

    async def _release(self, message: OutboxMessage, *, at: datetime) -> Outcome:
        """Hand a row back unsent, due at ``at``; the claim's attempt is given back."""
        await self._record(message, "released", outbox_sending.mark_retry, at=at, error=None, count_attempt=False)
        return "released", at

    async def _hold(self, message: OutboxMessage, **progress: int) -> Outcome:
        """Hand back a row whose channel is down: due now (it is not claimed until the channel works), the
        claim's attempt given back; ``progress``: the messages of it that got through all the same."""
        await self._record(message, "held", outbox_sending.mark_retry, at=self.clock.now(), error=None,
                           count_attempt=False, **progress)
        return "held", None

    # ------------------------------------------------------------ channels that are down

    def channel_states(self) -> dict[str, ChannelFault | None]:
        """Each channel this sender serves, with its fault while it is down (None: up)."""
        return {channel: self.breakers.fault(channel) for channel in sorted(self.transports)}

    def _may_send(self, message: OutboxMessage) -> bool:
        channel = str(message.channel)
        state = self.breakers.state(channel)
        return state == UP or (state == TRIAL and self._trials.get(channel) == message.id)

    def _trial_channels(self) -> list[str]:
        """The channels that may send one notice as a trial and have none out yet."""
        return [c for c in self.breakers.on_trial(self.transports) if c not in self._trials]

    def _end_trial(self, message: OutboxMessage) -> bool:
        """Whether ``message`` was its channel's trial (which is over now, however it ended)."""
        channel = str(message.channel)
        if self._trials.get(channel) != message.id:
            return False
        del self._trials[channel]
        return True

    async def _probe_channels(self) -> None:
        """Probe the channels that are down and due for it: the transport's ``probe()`` if it has one; when
        that passes (or there is none), the next claim takes one notice of the channel as a trial."""
        for channel in self.breakers.probes_due(self.clock.now()):
            check = getattr(self.transports[channel], "probe", None)
            if callable(check):
                try:
                    await asyncio.wait_for(check(), self.probe_timeout)
                except ChannelDown as error:
                    self.breakers.probe_failed(channel, self.clock.now(), error)
                    log.warning("channel %s is still down (%s); next probe at %s", channel, error,
                                self._next_probe(channel))
                    continue
                except Exception as error:  # the network, a timeout: the probe cannot tell
                    self.breakers.probe_failed(channel, self.clock.now())
                    log.warning("could not probe channel %s (%s); next probe at %s", channel, _describe(error),
                                self._next_probe(channel))
                    continue
            self.breakers.probe_passed(channel)
            log.info("channel %s: probe passed; one held notice goes out to try it", channel)

    def _next_probe(self, channel: str) -> str:
        fault = self.breakers.fault(channel)
        return "-" if fault is None else fault.next_probe_at.isoformat()

    async def _channel_down(self, channel: str, error: ChannelDown) -> None:
        if not self.breakers.trip(channel, error, self.clock.now()):
            return  # known already (sends failing together), or a trial that found it still down
        log.error("channel %s is down (%s): %s; its notices are held, not failed, and the channel is probed "
                  "from %s on", channel, error.reason, error, self._next_probe(channel))
        fault = self.breakers.fault(channel)
        if fault is not None:
            await self._tell(fault, down=True)

    async def _channel_works(self, channel: str) -> None:
        fault = self.breakers.recovered(channel)
        if fault is None:
            return
        log.warning("channel %s works again (down since %s: %s); its held notices go out", channel,
                    fault.since.isoformat(), fault.reason)
        await self._tell(fault, down=False)

    async def _tell(self, fault: ChannelFault, *, down: bool) -> None:
        """The admins' notice of a fault or its end, on the channels that work; a failure to write it is
        only logged (the held notices do not depend on it)."""
        if self.notices is None:
            return
        reachable = [c for c in self.breakers.up(self.transports) if c != fault.channel]
        try:
            if down:
                await self.notices.down(fault, reachable=reachable)
            else:
                await self.notices.up(fault, reachable=reachable)
        except Exception:
            log.exception("could not tell the admins about channel %s", fault.channel)

    async def _hand_back(self, message: OutboxMessage) -> Outcome:
        """Hand back a row that was not started: due now, or when its chat's flood control ends."""
        now = self.clock.now()
        hold = self._holds.get((str(message.channel), str(message.chat_id)))
        return await self._release(message, at=hold if hold is not None and hold > now else now)

    def _forget_holds(self, now: datetime) -> None:
        for key in [key for key, until in self._holds.items() if until <= now]:
            del self._holds[key]

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
        channels = await outbox_sending.due_channels(session, now=now)
        for channel in sorted(channels - set(self.transports) - self._unserved):
            self._unserved.add(channel)
            log.warning("outbox has notices for channel %r, which is not configured here; they stay pending",
                        channel)
