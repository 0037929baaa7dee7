"""Direct replies (the answer to what a user just sent) that survive flood control and passing failures.

A channel sends the replies of an outcome through ``DirectReplies.deliver``, in order. Each reply gets a
few tries within a bounded time:

- flood control (``RetryLater``): waits as long as the channel asked (``retry_after``), then tries again,
  if that wait fits in what is left of ``budget`` seconds;
- a transient error (network, timeout, 5xx): tries again after ``first_wait``, then twice as long …, at
  most ``attempts`` tries in all;
- a reply that goes out as several messages (a long text) and fails part-way is tried again from the
  first message that did not get through (``skip``), never from the start;
- a recipient that blocked the bot, or a reply the channel refuses (``RecipientBlocked``,
  ``PermanentError``): logged, and the next reply is tried (trying again cannot help);
- a channel that is down as a whole (``ChannelDown``: its setup is wrong): straight to the outbox, which
  holds it until the channel works again.

A reply still not sent then, and every reply after it, is handed to the outbox (a notice to that chat,
in order, the first one knowing how many of its messages got through already), whose sender keeps
trying for minutes with its own backoff and records how it ended: a confirmation is never lost silently.
As with the outbox, a send that timed out may have been delivered, so the recipient may see such a reply
twice.

A channel that records how far an answer went (``bot.channels.inbox``) passes ``sent``, told the ``Progress``
after each message that reaches the chat, and, for the answer to a message taken back after a restart, ``start``:
how far it went before, so that only the rest goes out.

The waits happen in real time (``sleep``), while the update is being handled: ``budget`` keeps them
short, and a longer flood control goes to the outbox at once.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.channels.base import (
    ChannelDown,
    DeliveryError,
    OnSent,
    Progress,
    RetryLater,
    TransientError,
    Transport,
    parts_sent_of,
)
from bot.clock import Clock
from bot.domain.messages import Reply
from storage import outbox
from storage.db import Database

log = logging.getLogger(__name__)


@dataclass
class DirectStats:
    """What direct replies met, for tests and metrics."""

    sent: int = 0
    retried: int = 0
    to_outbox: int = 0
    refused: int = 0
    waits: list[float] = field(default_factory=list)  # each wait before a retry, in seconds


class DirectReplies:
    """Sends replies through ``transport`` with bounded retries, handing what still fails to the outbox."""

    def __init__(self, db: Database, clock: Clock, *, attempts: int = 4, first_wait: float = 0.5,
                 budget: float = 15.0, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        if attempts < 1 or budget < 0:
            raise ValueError("attempts must be at least 1 and budget not negative")
        self.db = db
        self.clock = clock
        self.attempts = attempts
        self.first_wait = first_wait
        self.budget = budget
        self.sleep = sleep
        self.stats = DirectStats()

    async def deliver(self, transport: Transport, chat_id: str, replies: Sequence[Reply], *,
                      start: Progress | None = None, sent: Callable[[Progress], None] | None = None) -> None:
        """Send ``replies`` to ``chat_id`` in order, from ``start`` on (what went out before), telling ``sent`` how
        far they went after each message that reaches the chat; what cannot go out now is queued in the outbox."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.budget
        start = start or Progress()
        for index in range(start.replies, len(replies)):
            on_sent = None if sent is None else functools.partial(_told, sent, index)
            skip = start.parts if index == start.replies else 0
            went, parts_sent = await self._send(transport, chat_id, replies[index], deadline, skip=skip,
                                                on_sent=on_sent)
            if not went:
                await self._to_outbox(transport.channel, chat_id, replies[index:], parts_sent=parts_sent)
                return

    async def _send(self, transport: Transport, chat_id: str, reply: Reply, deadline: float, *, skip: int = 0,
                    on_sent: OnSent | None = None) -> tuple[bool, int]:
        """(True, …) when the reply went out or can never go out; (False, parts sent) when it should go to
        the outbox, which is told how many of its messages reached the chat already."""
        loop = asyncio.get_running_loop()
        wait = self.first_wait
        done = skip  # messages of this reply that reached the chat: a retry sends only the rest
        for attempt in range(1, self.attempts + 1):
            options: dict[str, Any] = {} if on_sent is None else {"on_sent": on_sent}
            if done:
                options["skip"] = done
            try:
                await transport.send(chat_id, reply, attachment=reply.attachment, **options)
            except ChannelDown as error:
                log.warning("direct reply to %s:%s not sent: the channel is down (%s)", transport.channel, chat_id,
                            error)
                return False, parts_sent_of(error, done)
            except RetryLater as error:
                pause, done = error.after_seconds, parts_sent_of(error, done)
            except TransientError as error:
                pause, wait, done = wait, wait * 2, parts_sent_of(error, done)
                log.info("direct reply to %s:%s failed (%s), try %d", transport.channel, chat_id, error, attempt)
            except DeliveryError as error:  # blocked, or refused for good: another try cannot help
                log.warning("direct reply to %s:%s refused: %s", transport.channel, chat_id, error)
                self.stats.refused += 1
                return True, 0
            else:
                self.stats.sent += 1
                return True, 0
            if attempt == self.attempts or loop.time() + pause > deadline:
                return False, done
            self.stats.retried += 1
            self.stats.waits.append(pause)
            await self.sleep(pause)
        return False, done

    async def _to_outbox(self, channel: str, chat_id: str, replies: Sequence[Reply], *, parts_sent: int) -> None:
        try:
            await queue_replies(self.db, self.clock, channel=channel, chat_id=chat_id, replies=replies,
                                parts_sent=parts_sent)
        except Exception:
            log.exception("could not queue %d direct replies to %s:%s", len(replies), channel, chat_id)
            return
        self.stats.to_outbox += len(replies)
        log.warning("%d direct replies to %s:%s handed to the outbox", len(replies), channel, chat_id)


def _told(sent: Callable[[Progress], None], index: int, parts: int, of: int) -> None:
    sent(Progress.of_reply(index, parts, of))


async def queue_replies(db: Database, clock: Clock, *, channel: str, chat_id: str, replies: Sequence[Reply],
                        parts_sent: int = 0) -> None:
    """Queue the replies to one chat in the outbox, in order, in one transaction (raises if they could not
    be queued): what a channel does with replies it could not deliver directly. ``parts_sent``: how many
    messages of the first reply reached the chat already (the outbox sends only the rest)."""
    batch = uuid.uuid4().hex
    async with db.session() as session:
        for n, reply in enumerate(replies):
            await outbox.enqueue_for_chat(session, channel=channel, chat_id=chat_id, reply=reply,
                                          key=f"{channel}-reply:{batch}:{n}", now=clock.now(),
                                          attachment=reply.attachment, parts_sent=parts_sent if n == 0 else 0)
