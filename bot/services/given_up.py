"""Telling the admins of the notices the outbox gave up on: nothing fails silently.

A notice fails for good after its tries (a passing failure: a 5xx, a timeout, the network, for 8 tries and 15
minutes) or at once (the channel refused it, or it could not be read). Either way the admins are told, naming the
recipient and the start of the notice: one message for the notices given up together (within ``GATHER`` of the
first, or by the end of a drain or a stop), not one per notice.

The news goes on the admins' accounts on the channels that work other than those the notices failed on (a failing
channel cannot carry the news of its own failure); an admin with no such account gets it on the same channel, which
may well work (the notice alone may have been at fault). When nothing else got through on the channel since the
notice began failing, the message says so: the channel itself may be broken (a proxy failing every send, at an hour
when no other notice was due to show it). The admins' own notice failing for good tells nobody again (no loop); an
admin with no account on any working channel learns of it from the log and ``/outbox`` only.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.domain.limits import preview
from bot.domain.messages import Reply
from bot.render import Renderer, html_to_plain
from storage import group_chats, outbox, people
from storage.db import Database
from storage.models import OutboxMessage

log = logging.getLogger(__name__)

GATHER = timedelta(minutes=1)  # notices given up within this of the first are told in one message
KEY = "gave-up"  # the admins' notices' keys start so: their own failure tells nobody
PREVIEW = 40  # characters of each notice shown
TRIES = "tries"  # given up after its tries (a passing failure each time)
REFUSED = "refused"  # refused by the channel, or unreadable: given up at once


@dataclass(frozen=True)
class GivenUp:
    """A notice given up on, as the admins hear of it."""

    message_id: int
    channel: str
    chat_id: str
    person_id: int | None
    created_at: datetime
    tries: int
    kind: str  # TRIES or REFUSED
    text: str  # the start of the notice, plain
    quiet_since: datetime | None  # nothing of its channel got through since then (its failures among them)
    at: datetime  # when it was given up


class GivenUpNotices:
    """The notices one sender gave up on and has not told the admins of yet, and the telling."""

    def __init__(self, db: Database, clock: Clock, renderer: Renderer | None = None) -> None:
        self.db = db
        self.clock = clock
        self.renderer = renderer or Renderer()
        self._waiting: list[GivenUp] = []

    def add(self, message: OutboxMessage, *, kind: str, quiet_since: datetime | None) -> None:
        """``message`` was given up on (``kind``); told with the others at the next ``tell``."""
        if str(message.dedupe_key).startswith(f"{KEY}:"):
            log.error("the admins' notice %s of notices given up failed too; it is in /outbox", message.id)
            return
        html = str((message.payload or {}).get("html", ""))
        text = preview(" ".join(html_to_plain(html).split()), PREVIEW)
        self._waiting.append(GivenUp(message.id, str(message.channel), str(message.chat_id), message.person_id,
                                     message.created_at, message.attempts, kind, text, quiet_since,
                                     self.clock.now()))

    def waiting(self) -> int:
        return len(self._waiting)

    async def tell(self, *, reachable: Collection[str], force: bool = False) -> int:
        """Write one notice to the admins of the notices given up so far, once the first is ``GATHER`` old (at once
        with ``force``); how many notices were written. What could not be written stays for the next time."""
        if not self._waiting or (not force and self.clock.now() - self._waiting[0].at < GATHER):
            return 0
        batch = list(self._waiting)
        written = await self._write(batch, reachable)
        del self._waiting[:len(batch)]  # more may have been given up meanwhile: they wait for the next time
        return written

    async def _write(self, batch: list[GivenUp], reachable: Collection[str]) -> int:
        now = self.clock.now()
        failed_on = {item.channel for item in batch}
        written = targets = 0
        async with self.db.session() as session:
            items = [{"recipient": await self._recipient(session, item), "channel": item.channel,
                      "text": item.text, "created_at": item.created_at, "tries": item.tries, "kind": item.kind,
                      "quiet_since": item.quiet_since} for item in batch]
            reply = Reply(html=self.renderer.render("notices_given_up", items=items))
            for admin in await people.active_admins(session):
                usable = [a for a in await people.accounts_of(session, person_id=admin.id)
                          if a.channel in reachable and not a.blocked_at]
                others = [a for a in usable if a.channel not in failed_on]
                for account in others or usable[:1]:
                    targets += 1
                    written += len(await outbox.enqueue_for_chat(
                        session, channel=account.channel, chat_id=account.chat_id, reply=reply,
                        key=f"{KEY}:{batch[0].message_id}:{batch[-1].message_id}:{now.isoformat()}"
                            f":p{admin.id}:a{account.id}", now=now))
        log.warning("%d notices given up on (%s); the admins told on %d accounts", len(batch),
                    ", ".join(str(item.message_id) for item in batch), targets)
        return written

    @staticmethod
    async def _recipient(session: AsyncSession, item: GivenUp) -> str:
        """Who the notice was for: the person's name, or the group chat's."""
        if item.person_id is not None:
            person = await people.get_person(session, person_id=item.person_id)
            if person is not None:
                return str(person.name)
        group = await group_chats.group_of_chat(session, channel=item.channel, chat_id=item.chat_id)
        return str(group.name) if group is not None else item.chat_id
