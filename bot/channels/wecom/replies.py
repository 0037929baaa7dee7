"""The replies to a WeCom message sent straight from the callback's user task (``bot.channels.wecom.callback``):
in order, from where they stopped before a restart, each message that gets through written to the inbox (how far
they went; the last marks the message done), and what cannot go out now handed to the outbox (retried there when
the outbox sender serves "wecom"; nothing sent twice)."""

from __future__ import annotations

import functools
import logging
from collections import Counter
from typing import TYPE_CHECKING

from bot.channels.base import ChannelDown, DeliveryError, Progress, RetryLater, TransientError, parts_sent_of
from bot.channels.wecom import CHANNEL
from bot.channels.wecom.inbox import Inbox
from bot.channels.wecom.transport import WeComTransport
from bot.domain.messages import Outcome, Reply
from bot.services.direct_replies import queue_replies

if TYPE_CHECKING:
    from bot.clock import Clock
    from storage.db import Database

log = logging.getLogger(__name__)


class WeComReplySender:
    """Sends the outcomes of the messages a channel handled (``deliver``); ``stats``: the channel's counters."""

    def __init__(self, transport: WeComTransport, db: Database | None, clock: Clock | None, stats: Counter[str], *,
                 inbox: Inbox | None = None, max_wait: float = 65.0, outbox_fallback: bool = True) -> None:
        self.transport = transport
        self.db = db
        self.clock = clock
        self.stats = stats
        self.inbox = inbox
        self.max_wait = max_wait  # how long a direct reply waits out flood control before the outbox takes it
        self.outbox_fallback = outbox_fallback

    async def deliver(self, userid: str, outcome: Outcome, *, had_choices: bool = True, key: str | None = None,
                      start: Progress | None = None) -> None:
        """Send an outcome's replies in order, from ``start`` on (how far they went before a restart), recording in
        the inbox how far they go as answer to message ``key`` (the app menu is the same for everyone:
        ``outcome.menu`` is not used). What cannot go out now is handed to the outbox."""
        replies, start = outcome.replies, start or Progress()
        # before the last message goes out (whose on_sent marks the message done): a kill between the two would
        # leave the list shown before answering the next number
        if had_choices and not outcome.choices_stand and not any(reply.buttons for reply in outcome.replies):
            await self.transport.forget_numbers(userid)
        for index in range(start.replies, len(replies)):
            skip = start.parts if index == start.replies else 0
            on_sent = None if key is None or self.inbox is None else functools.partial(
                self._sent, key, index, len(replies))
            try:
                await self.transport.deliver(userid, replies[index], max_wait=self.max_wait, skip=skip,
                                             on_sent=on_sent)
            except (RetryLater, TransientError, ChannelDown) as exc:  # the outbox holds it while the app is down
                log.warning("WeCom reply to %s not sent now (%s)", userid, exc)
                if self.outbox_fallback:  # the outbox sends what did not get through, nothing twice
                    await self._to_outbox(userid, replies[index:], parts_sent=parts_sent_of(exc, skip))
                    break
            except DeliveryError as exc:
                log.warning("WeCom reply to %s refused: %s", userid, exc)
        if key is not None and self.inbox is not None:  # answered: not again after a restart, whatever comes now
            self.inbox.done(key)

    def _sent(self, key: str, index: int, replies: int, parts: int, of: int) -> None:
        """Part ``parts`` of the ``of`` messages of reply ``index`` (of ``replies``) to message ``key`` got through."""
        assert self.inbox is not None
        self.inbox.sent(key, Progress.of_reply(index, parts, of), of=replies)

    async def _to_outbox(self, userid: str, replies: list[Reply], *, parts_sent: int) -> None:
        try:
            assert self.db is not None and self.clock is not None, "no database to queue replies in"
            await queue_replies(self.db, self.clock, channel=CHANNEL, chat_id=userid, replies=replies,
                                parts_sent=parts_sent)
            self.stats["to_outbox"] += len(replies)
        except Exception:
            log.exception("could not queue WeCom replies for %s", userid)
