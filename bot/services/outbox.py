"""The outbox sender: delivers queued notices within each channel's rate limits, and records how each ended.

The sender claims due rows and sends each through the worker of its chat (``bot.services.outbox_pipeline``:
how many rows are held and sent at once, in which order), each row waiting for its turn under the rate
limiters (``bot.services.send_limits``); how a send ended is written to its row
(``bot.services.outbox_outcomes``: sent, retried with backoff, failed, undeliverable), and a channel down as
a whole has its notices held until it works again (``bot.services.channel_gate``).

``run_forever`` keeps the pipeline going until it is stopped (the leading ``diaodu run`` process),
``drain`` until nothing is due or held (the CLI, tests), and ``run_once`` is one bounded pass: a single
claim of up to ``batch`` rows, done when each of them is; when the first two claim is ``bot.services.outbox_pump``.
Each claim first tells the admins of the notices given up on (``bot.services.given_up``).

Right before a row's send (after every rate-limiter wait, holding its send slot) the sender commits that
the send starts (``storage.outbox_sending.mark_send_started``, fenced by the claim like the outcomes); if that
write finds the claim gone, the row is handed back unsent. Each row's outcome is written in its own short
transaction right after its send. Real time passes only inside the rate limiters (and in ``drain`` when it
is asked to wait for retries on the real clock); every "later" comes from the injected clock.

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
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import Attachment, RateLimits, Transport, limits_of
from bot.clock import Clock, SystemClock
from bot.domain.give_up_reasons import BAD_PAYLOAD, CONTENT
from bot.domain.messages import Reply
from bot.services.busy_writes import persist
from bot.services.channel_breaker import ChannelBreakers, ChannelFault
from bot.services.channel_gate import ChannelGate
from bot.services.channel_notices import ChannelNotices
from bot.services.given_up import GivenUpNotices
from bot.services.outbox_outcomes import Outcomes
from bot.services.outbox_pipeline import Outcome, Pipeline, SendStats
from bot.services.outbox_pump import pump
from bot.services.send_limits import SendLimits
from bot.services.slots import OldestFirstSlots
from storage import outbox, outbox_sending, sent_messages
from storage.db import Database
from storage.models import OutboxMessage

log = logging.getLogger(__name__)
__all__ = ["OutboxSender", "SendStats"]


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
        retry_for: timedelta = timedelta(minutes=15),
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

        ``first_retry``, ``backoff_base`` and ``backoff_cap`` set the waits before retries, see ``backoff``. A row
        failing for a passing reason (the network, a 5xx, a timeout) fails for good once it has had
        ``max_attempts`` tries and was queued at least ``retry_for`` ago: an outage of the channel shorter than that
        (a Bot API answering 502 for ten minutes) costs no notice, whether or not the channel is held meanwhile.

        ``breakers`` hold which channels are down and when they are probed; ``notices`` tells the admins of a
        channel's fault and of the notices given up on (``bot.services.given_up``); without it these are only
        logged (and a fault shown by ``channel_states``).
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
        self.first_retry, self.backoff_base, self.backoff_cap = first_retry, backoff_base, backoff_cap
        self._in_flight = OldestFirstSlots(concurrency)
        self.rates = SendLimits(self.limits)
        self._unserved: set[str] = set()
        self.gate = ChannelGate(self.transports, clock, breakers=breakers, notices=notices,
                                probe_timeout=probe_timeout, retries_due=self._retries_due_now)
        self.given_up = None if notices is None else GivenUpNotices(db, clock, notices.renderer)
        self.outcomes = Outcomes(db, clock, self.gate, max_attempts=max_attempts, retry_for=retry_for,
                                 first_retry=first_retry,
                                 backoff_base=backoff_base, backoff_cap=backoff_cap, rng=rng or random.Random())

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[AsyncSession]:
        """One short unit of work (how writers wait for each other: storage.db)."""
        async with self.db.session() as session:
            yield session

    # ------------------------------------------------------------ running

    async def run_once(self) -> SendStats:
        """One bounded pass: claim up to ``batch`` due rows, send them, and return once every one has its
        outcome recorded (or was handed back); returns what happened to them."""
        run = Pipeline(self)
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
        run = Pipeline(self)

        async def relay_stop() -> None:
            await stop.wait()
            run.changed.set()

        relay = asyncio.create_task(relay_stop())
        try:
            await pump(self, run, stop=stop, idle_seconds=idle_seconds)
        finally:
            relay.cancel()
            await run.close()
            await self.tell_given_up(force=True)

    async def drain(self, timeout: float = 30.0, *, wait_for_retries: bool = False) -> SendStats:
        """Claim and send until nothing is due and nothing is held (or ``timeout`` real seconds have passed:
        then the rows not started yet are handed back and the sends in flight finish).

        With ``wait_for_retries`` and the real clock, it also waits until rows scheduled for a retry fall
        due, as long as that happens within the timeout. Under any other clock time only moves when the
        caller moves it, so the drain ends as soon as nothing is due.
        """
        deadline = asyncio.get_running_loop().time() + timeout
        follow = wait_for_retries and isinstance(self.clock, SystemClock)
        run = Pipeline(self)
        try:
            await pump(self, run, deadline=deadline, follow_retries=follow)
        finally:
            await run.close()
            await self.tell_given_up(force=True)
        log.info("outbox drained: %s", run.stats)
        return run.stats

    # ------------------------------------------------------------ claiming

    async def claim(self, limit: int) -> tuple[list[OutboxMessage], datetime]:
        """Claim up to ``limit`` due rows, oldest first, and the end of their lease (for ``Pipeline``).

        Rows of the channels that are down are left alone; a channel on trial gets one row claimed, to find
        out whether it works again (``bot.services.channel_gate``)."""
        await self.gate.probe()
        await self.tell_given_up()
        now = self.clock.now()
        lease_until = now + self.lease
        trying = self.gate.trial_channels()
        async with self._session() as session:
            # The claim is the transaction's first statement: on SQLite it takes the write lock at once.
            claimed = await outbox_sending.claim_due_messages(session, now=now, limit=limit, lease_until=lease_until,
                                                              channels=self.gate.up())
            for channel in trying:  # one held notice of a channel that may work again, to find out
                if len(claimed) < limit:
                    trial = await outbox_sending.claim_due_messages(session, now=now, limit=1,
                                                                    lease_until=lease_until, channels=[channel])
                    if trial:
                        self.gate.start_trial(channel, trial[0].id)
                        claimed += trial
            await self._notice_unserved(session, now)
        self.outcomes.forget_holds(now)
        return claimed, lease_until

    # ------------------------------------------------------------ one chat, one message

    async def serve(self, message: OutboxMessage, lease_until: datetime,
                    started: Callable[[], None]) -> Outcome:
        """Send one claimed row when its turn comes and record the outcome.

        ``started`` is called once the row no longer waits: from then on it must not be cancelled (it is
        being sent, or its outcome written).
        """
        channel, chat_id = str(message.channel), str(message.chat_id)
        key = (channel, chat_id)
        if not self.gate.may_send(message):
            started()
            return await self.outcomes.hold(message)
        hold = self.outcomes.hold_on(key)
        if hold is not None:
            started()
            return await self.outcomes.release(message, at=hold)
        try:
            reply = outbox.reply_from_payload(message.payload)
            attachment = outbox.attachment_from_payload(message.payload)
        except (KeyError, TypeError, ValueError) as exc:
            started()
            return await self.outcomes.fail(message, f"{BAD_PAYLOAD}: {exc}", cause=CONTENT), None
        transport = self.transports[channel]
        await self.rates.wait_for_chat(transport, key)
        async with self._in_flight.slot((message.created_at, message.id)):  # oldest first, as claimed
            await self.rates.wait_for_channel(channel)
            started()
            now = self.clock.now()
            if not self.gate.may_send(message):  # its channel went down while it waited
                return await self.outcomes.hold(message)
            # The send's start is committed first: from then on a crash leaves the row in doubt, never resent.
            go = now < lease_until and await self._mark_started(message, lease_until)
            if go:
                error, sent = await self._attempt(transport, chat_id, reply, attachment,
                                                  skip=message.parts_sent or 0)
                # The outcome is written before the slot is free: a crash leaves at most as many rows in doubt
                # as there are slots (deploy/README.md), not one more per outcome still being written.
                # What a reminder was about is kept with its outcome, in the same transaction.
                remember = self._remembering(channel, chat_id, sent, reply.about) if reply.about and sent else None
                return await self.outcomes.conclude(message, key, error, also=remember)
        # Waited so long that another sender may have taken the row (or did): hand it back unsent.
        return await self.outcomes.release(message, at=self.clock.now())

    async def tell_given_up(self, *, force: bool = False) -> None:
        """Tell the admins of the notices given up on (``bot.services.given_up``): those of the last minute in one
        message, or all at once (``force``: a drain's end, a stop); a failure is logged, they are told later."""
        if self.given_up is not None:
            await self.given_up.tell_safely(reachable=self.gate.up(), served=self.transports, force=force)

    async def _retries_due_now(self, channel: str) -> int:
        """The channel works again: its notices waiting out a retry's backoff are due now; how many."""
        async with self._session() as session:
            return await outbox_sending.retries_due_now(session, channel=channel, now=self.clock.now())

    async def _mark_started(self, message: OutboxMessage, lease_until: datetime) -> bool:
        """Commit that this claim sends the row now; False (do not send) if the claim no longer holds it. A busy
        database's refusal is tried again (``bot.services.busy_writes``): the row is not sent before it is written.
        Each try reads the clock anew: a lease that ran out while the database was busy is not sent on."""

        async def write() -> bool:
            now = self.clock.now()
            if now >= lease_until:
                return False
            async with self._session() as session:
                return await outbox_sending.mark_send_started(session, message_id=message.id,
                                                              attempt=message.attempts, now=now)

        return await persist(write, what=f"outbox message {message.id} starting")

    async def _attempt(self, transport: Transport, chat_id: str, reply: Reply,
                       attachment: Attachment | None, *, skip: int) -> tuple[Exception | None, Sequence[str]]:
        """One send, leaving out the ``skip`` messages of the reply that got through in earlier tries; the
        error it ended with, if any, and the ids of the messages sent (when the channel gives them)."""
        extra: dict[str, object] = {"skip": skip} if skip > 0 else {}
        if attachment is not None:
            extra["attachment"] = attachment
        try:
            sending = transport.send(chat_id, reply, **extra)  # type: ignore[arg-type]
            sent = await asyncio.wait_for(sending, self.send_timeout)
        except Exception as exc:  # the channel's errors, timeouts, and transport bugs alike
            return exc, ()
        return None, [str(message_id) for message_id in sent or ()]

    def _remembering(self, channel: str, chat_id: str, sent: Sequence[str],
                     about: Sequence[str]) -> Callable[[AsyncSession], Awaitable[None]]:
        """Keep that the messages just sent are about the projects ``about`` (a reminder's): an answer to one of
        them is read as about them. Written with the send's outcome (``Outcomes.conclude``)."""

        async def remember(session: AsyncSession) -> None:
            await sent_messages.remember(session, channel=channel, chat_id=chat_id, message_ids=sent, about=about,
                                         now=self.clock.now())

        return remember

    async def hand_back(self, message: OutboxMessage) -> Outcome:
        """Hand back a row that was not started (for ``Pipeline``): due now, or when its chat's flood control
        ends."""
        return await self.outcomes.hand_back(message)

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failed try (``Outcomes.backoff``)."""
        return self.outcomes.backoff(attempts)

    def channel_states(self) -> dict[str, ChannelFault | None]:
        """Each channel this sender serves, with its fault while it is down (None: up)."""
        return self.gate.states()

    def receiving_faults(self) -> dict[str, ChannelFault]:
        """The channels this sender serves that send but do not receive (Telegram cannot deliver to the webhook)."""
        return dict(self.gate.receiving_faults)

    async def _notice_unserved(self, session: AsyncSession, now: datetime) -> None:
        """Log once per channel that has due rows but no transport here; those rows simply wait."""
        channels = await outbox_sending.due_channels(session, now=now)
        for channel in sorted(channels - set(self.transports) - self._unserved):
            self._unserved.add(channel)
            log.warning("outbox has notices for channel %r, which is not configured here; they stay pending",
                        channel)
