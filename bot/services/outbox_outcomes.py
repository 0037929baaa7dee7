"""How each send of the outbox sender ended, written to its row in a short transaction of its own
(``Outcomes``), only if the sender's claim still holds the row:

- sent → ``sent``;
- ``TransientError`` (network, timeout, 5xx) or anything unexpected → retried later with exponential
  backoff and jitter (1 s, then 4, 8, 16 … s, at most 10 min; see ``backoff``), ``failed`` with
  ``last_error`` once the row has had ``max_attempts`` tries and was queued ``retry_for`` ago (15 minutes: an
  outage shorter than that fails nothing); every send of a channel failing so for two minutes (of two notices or
  more) makes the channel down, as ``ChannelDown`` below (``bot.services.send_streaks``), and its other notices are
  held from then on, its trial notice too when the trial fails so again (an outage of any length fails nothing);
- ``RetryLater`` (flood control) → retried after the delay the channel asked for, and the chat is on hold
  until then: its other rows, held now or claimed later, are handed back unsent to the end of the hold.
  Such waits do not count as tries;
- ``RecipientBlocked`` → ``undeliverable``, and the chat account is marked blocked; but for a bulletin group marked
  out or muted (the transport marks one refusing the bot's text), the row is handed back, no try counted, and waits
  for the mark to go (``storage.group_waits``);
- ``PermanentError`` → ``failed`` at once;
- each notice ``failed`` keeps when (``failed_at``) and whether nothing of its channel had got through since it
  began failing (``quiet_since``): the admins are told of it from the row, several given up together in one
  message (``bot.services.given_up``);
- ``ChannelDown`` (a fault of the channel's setup, not of the message) → handed back unsent, no try
  counted: the channel's breaker opens (``bot.services.channel_gate``), so its notices are held, not
  claimed, until a probe and one trial notice find it working; the admins are told once, on their other
  channels (``bot.services.channel_notices``), and again when it works.

A reply that goes out as several messages (a long text) and fails part-way records how many got
through (``parts_sent``, see ``bot.channels.base``) with its outcome; every later try, by this sender or
another after a take-over, sends only the rest.

Every "later" is stored in ``next_attempt_at`` and taken from the injected clock, so it survives restarts
and tests can travel in time.
"""

from __future__ import annotations

import functools
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import ChannelDown, PermanentError, RecipientBlocked, RetryLater, TransientError, parts_sent_of
from bot.clock import Clock
from bot.domain.give_up_reasons import TRIES
from bot.services.busy_writes import persist
from bot.services.channel_gate import ChannelGate, describe
from bot.services.outbox_pipeline import ChatKey, Outcome
from storage import group_waits, outbox_sending
from storage.db import Database
from storage.models import OutboxMessage

log = logging.getLogger("bot.services.outbox")  # the sender's log, as before these were apart
Mark = Callable[..., Awaitable[bool]]
WAITING_HOLD = timedelta(minutes=1)  # a group found closed: its rows this sender holds are handed back until then
Also = Callable[[AsyncSession], Awaitable[None]]  # more to write with an outcome, in its transaction


class Outcomes:
    """Records how the sends of one sender ended, and which chats are under flood control until when."""

    def __init__(self, db: Database, clock: Clock, gate: ChannelGate, *, max_attempts: int, first_retry: float,
                 backoff_base: float, backoff_cap: float, rng: random.Random,
                 retry_for: timedelta = timedelta(0)) -> None:
        self.db = db
        self.clock = clock
        self.gate = gate
        self.max_attempts = max_attempts
        self.retry_for = retry_for
        self.first_retry = first_retry
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._rng = rng
        self.holds: dict[ChatKey, datetime] = {}  # chats under flood control, until when

    def hold_on(self, key: ChatKey) -> datetime | None:
        """Until when the chat is under flood control, if it is now."""
        hold = self.holds.get(key)
        return hold if hold is not None and self.clock.now() < hold else None

    def forget_holds(self, now: datetime) -> None:
        for key in [key for key, until in self.holds.items() if until <= now]:
            del self.holds[key]

    async def conclude(self, message: OutboxMessage, key: ChatKey, error: Exception | None, *,
                       also: Also | None = None) -> Outcome:
        """Record how a send ended (``error``: None when it got through); when it got through, ``also`` writes
        in the same transaction (the message went out even if another sender took the row over)."""
        channel, chat_id = key
        trial = self.gate.end_trial(message)
        if trial and (error is None or isinstance(error, (RecipientBlocked, PermanentError))):
            await self.gate.works(channel)  # the channel answered: its setup is right again
        if error is None or isinstance(error, (RetryLater, RecipientBlocked, PermanentError)):
            self.gate.answered(channel)  # the channel answered, whatever it said of this message
        if error is None:
            return await self.record(message, "sent", outbox_sending.mark_sent, also=also, now=self.clock.now()), None
        # Messages of the reply that got through before the failure are not sent again.
        before = message.parts_sent or 0
        progress = {"parts_sent": parts_sent_of(error, before)} if parts_sent_of(error, before) > before else {}
        if isinstance(error, ChannelDown):
            await self.gate.down(channel, error)
            return await self.hold(message, **progress)
        if isinstance(error, RetryLater):
            at = self.clock.now() + timedelta(seconds=error.after_seconds)
            log.info("flood control on %s:%s, waiting %.0f s", channel, chat_id, error.after_seconds)
            self.holds[key] = max(at, self.holds.get(key, at))
            await self.record(message, "retried", outbox_sending.mark_retry, at=at, error=describe(error),
                              count_attempt=False, **progress)
            return "retried", at
        if isinstance(error, RecipientBlocked):
            at_chat = error.refused_at or chat_id  # a group upgraded to a supergroup: refused at its new id
            if await self._waits(channel, at_chat):  # a bulletin group marked out or muted (by this very refusal)
                log.info("%s:%s is a bulletin group the bot may not send to now; outbox message %s waits",
                         channel, at_chat, message.id)
                # The chat's other rows this sender holds are handed back untried (a claim takes none while marked);
                # a longer flood-control hold of the chat stays.
                until = self.clock.now() + WAITING_HOLD
                self.holds[key] = max(until, self.holds.get(key, until))
                moved = None if at_chat == chat_id else functools.partial(  # it waits at the new id
                    group_waits.readdress, message_id=message.id, channel=channel, old=chat_id, new=at_chat)
                await self.record(message, "waiting", outbox_sending.mark_retry, at=self.clock.now(),
                                  error=describe(error), count_attempt=False, also=moved, **progress)
                return "released", None
            log.info("%s:%s cannot be reached: %s", channel, chat_id, error)
            now = self.clock.now()

            async def undeliverable() -> None:
                async with self.db.session() as session:
                    await outbox_sending.mark_undeliverable(session, message_id=message.id, error=describe(error),
                                                            attempt=message.attempts)
                    await outbox_sending.mark_chat_blocked(session, channel=channel, chat_id=chat_id, now=now)

            await persist(undeliverable, what=f"outbox message {message.id} undeliverable")
            return "undeliverable", None
        if isinstance(error, PermanentError):
            log.warning("outbox message %s refused by %s: %s", message.id, channel, error)
            return await self.fail(message, describe(error), cause=error.cause, **progress), None
        down = False
        if isinstance(error, (TransientError, TimeoutError)):  # every send failing so for minutes: the channel's
            down = await self.gate.send_failed(channel, message.id, error, trial=trial)
            if down and trial:  # the trial of a channel whose sends all fail, failing so: no try counted
                return await self.hold(message, **progress)
        else:
            log.error("unexpected error sending outbox message %s", message.id, exc_info=error)
        # A timeout may hide a delivery whose answer was lost: retrying it is what makes this at least once.
        return await self._retry_or_give_up(message, error, progress, now=down)

    async def _retry_or_give_up(self, message: OutboxMessage, exc: BaseException,
                                progress: Mapping[str, int], *, now: bool = False) -> Outcome:
        """Fail the row for good, or have it tried again after its backoff (``now``: at once; its channel was found
        down by this very send, so the row waits, held, for the channel's first trial instead)."""
        error = describe(exc)
        if message.attempts >= self.max_attempts and self.clock.now() - message.created_at >= self.retry_for:
            log.warning("gave up on outbox message %s after %d tries: %s",
                        message.id, message.attempts, error)
            quiet = self.gate.streaks.quiet_since(str(message.channel), message.id)
            return await self.fail(message, error, quiet_since=quiet, cause=TRIES, **progress), None
        at = self.clock.now() + timedelta(seconds=0 if now else self.backoff(message.attempts))
        return await self.record(message, "retried", outbox_sending.mark_retry, at=at, error=error, **progress), at

    async def _waits(self, channel: str, chat_id: str) -> bool:
        """Whether the chat is a bulletin group marked out or muted, whose notices wait (``storage.group_waits``)."""

        async def read() -> bool:
            async with self.db.session() as session:
                return await group_waits.chat_waits(session, channel=channel, chat_id=chat_id)

        return bool(await persist(read, what=f"whether {channel}:{chat_id} waits"))

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

    async def fail(self, message: OutboxMessage, error: str, *, quiet_since: datetime | None = None,
                   cause: str | None = None, **progress: int) -> str:
        """Give up on the row (after its tries, or refused at once): the admins are told of it from the row
        (``bot.services.given_up``); ``quiet_since``: nothing of its channel had got through since then; ``cause``:
        why, classified (``bot.domain.give_up_reasons``; None: read from ``error`` when told)."""
        return await self.record(message, "failed", outbox_sending.mark_failed, error=error, now=self.clock.now(),
                                 quiet_since=quiet_since, cause=cause, **progress)

    async def release(self, message: OutboxMessage, *, at: datetime) -> Outcome:
        """Hand a row back unsent, due at ``at``; the claim's attempt is given back."""
        self.gate.end_trial(message)
        await self.record(message, "released", outbox_sending.mark_retry, at=at, error=None, count_attempt=False)
        return "released", at

    async def hold(self, message: OutboxMessage, **progress: int) -> Outcome:
        """Hand back a row whose channel is down: due now (it is not claimed until the channel works), the
        claim's attempt given back; ``progress``: the messages of it that got through all the same."""
        await self.record(message, "held", outbox_sending.mark_retry, at=self.clock.now(), error=None,
                          count_attempt=False, **progress)
        return "held", None

    async def hand_back(self, message: OutboxMessage) -> Outcome:
        """Hand back a row that was not started: due now, or when its chat's flood control ends."""
        now = self.clock.now()
        hold = self.holds.get((str(message.channel), str(message.chat_id)))
        return await self.release(message, at=hold if hold is not None and hold > now else now)

    async def record(self, message: OutboxMessage, outcome: str, mark: Mark, *, also: Also | None = None,
                     **values: object) -> str:
        """Write one row's outcome in its own transaction, only if this sender's claim still holds (and ``also``,
        whether it holds or not); a busy database's refusal is tried again (``bot.services.busy_writes``)."""

        async def write() -> bool:
            async with self.db.session() as session:
                done = bool(await mark(session, message_id=message.id, attempt=message.attempts, **values))
                if also is not None:
                    await also(session)
                return done

        done = await persist(write, what=f"outbox message {message.id} {outcome}")
        if not done:
            log.warning("outbox message %s was taken over by another sender before it was recorded as %s",
                        message.id, outcome)
        return outcome
