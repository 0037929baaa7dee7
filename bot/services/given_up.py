"""Telling the admins of the notices the outbox gave up on: nothing fails silently.

A notice fails for good after its tries (a passing failure: a 5xx, a timeout, the network, for 8 tries and 15
minutes) or at once (the channel refused it, or it could not be read). Either way the admins are told, naming the
recipient, the start of the notice and why (``bot.domain.give_up_reasons``: as classified when it failed): one
message for the notices given up together (once the first is ``GATHER`` old, or by the end of a drain or a stop),
not one per notice.

What to tell is read from the outbox itself: its failed rows not told yet (``storage.outbox_sending``). A sender
claims them by marking them told in the transaction that writes the admins' notice, so a crash or a change of
leader within the minute loses none, and two senders never tell one twice.

The news goes on the admins' accounts on the channels that work other than those the notices failed on (a failing
channel cannot carry the news of its own failure); an admin with no such account gets it on the same channel, which
may well work (the notice alone may have been at fault), or else on a channel of this sender that is down (the
outbox holds it until the channel works). When no admin has an account on any channel this sender serves, nothing
is marked told: the notices are told once one has (looked for again every ``GATHER``). The outbox is asked at
most once per ``GATHER`` while nothing is to be told. When nothing else got
through on the channel since the notice began failing, the message says so: the channel itself may be broken (a
proxy failing every send, at an hour when no other notice was due to show it). The admins' own notice failing for
good tells nobody again (no loop): it is logged, and ``/outbox`` lists it.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.domain.give_up_reasons import CAUSES, reason_of
from bot.domain.limits import preview
from bot.domain.messages import Reply
from bot.render import Renderer, html_to_plain
from storage import group_chats, outbox, outbox_sending, people
from storage.db import Database
from storage.models import OutboxMessage

log = logging.getLogger(__name__)

GATHER = timedelta(minutes=1)  # notices given up within this of the first are told in one message
KEY = "gave-up"  # the admins' notices' keys start so: their own failure tells nobody
PREVIEW = 40  # characters of each notice shown


class _NoAdminReachable(Exception):
    """No admin has an account on a channel the sender serves: what was claimed is rolled back, untold."""


class GivenUpNotices:
    """Tells the admins of the outbox's failed rows not told yet."""

    def __init__(self, db: Database, clock: Clock, renderer: Renderer | None = None) -> None:
        self.db = db
        self.clock = clock
        self.renderer = renderer or Renderer()
        self._next_look: datetime | None = None  # nothing to tell before then (None: look now)

    async def tell_safely(self, *, reachable: Collection[str], served: Collection[str], force: bool = False) -> int:
        """``tell``, a failure only logged: the notices stay untold, to be told the next time."""
        try:
            return await self.tell(reachable=reachable, served=served, force=force)
        except Exception:
            log.exception("could not tell the admins of the notices given up on")
            return 0

    async def tell(self, *, reachable: Collection[str], served: Collection[str], force: bool = False) -> int:
        """Write one notice to the admins of the notices given up and not told yet, once the first is ``GATHER`` old
        (at once with ``force``); how many notices were written. ``reachable``: the channels that work now;
        ``served``: every channel this sender sends on."""
        now = self.clock.now()
        if not force and self._next_look is not None and now < self._next_look:
            return 0
        async with self.db.session() as session:
            first = await outbox_sending.first_untold_failure(session)
        if first is None or (not force and now - first < GATHER):
            # A notice given up on from now (by any sender) is told a minute after it at the earliest: look then.
            self._next_look = now + GATHER if first is None else first + GATHER
            return 0
        try:
            async with self.db.session() as session:
                claimed = await outbox_sending.claim_untold_failures(session, now=now)
                for own in [row for row in claimed if str(row.dedupe_key).startswith(f"{KEY}:")]:
                    log.error("the admins' notice %s of notices given up failed too; it is in /outbox", own.id)
                batch = [row for row in claimed if not str(row.dedupe_key).startswith(f"{KEY}:")]
                written = await self._write(session, batch, reachable, served) if batch else 0
        except _NoAdminReachable:
            self._next_look = now + GATHER
            log.warning("notices given up on, but no admin has an account on %s: they are told once one has",
                        ", ".join(sorted(served)) or "any channel")
            return 0
        self._next_look = None
        return written

    async def _write(self, session: AsyncSession, batch: list[OutboxMessage], reachable: Collection[str],
                     served: Collection[str]) -> int:
        now = self.clock.now()
        failed_on = {str(row.channel) for row in batch}
        items = [{"recipient": await self._recipient(session, row), "channel": str(row.channel),
                  "text": self._start(row), "created_at": row.created_at, "tries": row.attempts,
                  "reason": cause_of(row), "quiet_since": row.quiet_since} for row in batch]
        reply = Reply(html=self.renderer.render("notices_given_up", items=items))
        written = targets = 0
        for admin in await people.active_admins(session):
            accounts = [a for a in await people.accounts_of(session, person_id=admin.id)
                        if a.channel in served and not a.blocked_at]
            up = [a for a in accounts if a.channel in reachable]
            others = [a for a in up if a.channel not in failed_on]
            for account in others or up[:1] or accounts[:1]:  # a channel down holds it until it works
                targets += 1
                written += len(await outbox.enqueue_for_chat(
                    session, channel=account.channel, chat_id=account.chat_id, reply=reply,
                    key=f"{KEY}:{batch[0].id}:{batch[-1].id}:{now.isoformat()}:p{admin.id}:a{account.id}", now=now))
        if not targets:
            raise _NoAdminReachable
        log.warning("%d notices given up on (%s); the admins told on %d accounts", len(batch),
                    ", ".join(str(row.id) for row in batch), targets)
        return written

    @staticmethod
    def _start(row: OutboxMessage) -> str:
        """The start of the notice, plain."""
        html = str((row.payload or {}).get("html", "")) if isinstance(row.payload, dict) else ""
        return preview(" ".join(html_to_plain(html).split()), PREVIEW)

    @staticmethod
    async def _recipient(session: AsyncSession, row: OutboxMessage) -> str:
        """Who the notice was for: the person's name, or the group chat's."""
        if row.person_id is not None:
            person = await people.get_person(session, person_id=row.person_id)
            if person is not None:
                return str(person.name)
        group = await group_chats.group_of_chat(session, channel=str(row.channel), chat_id=str(row.chat_id))
        return str(group.name) if group is not None else str(row.chat_id)


def cause_of(row: OutboxMessage) -> str:
    """Why the notice was given up on: as classified when it failed, else (a row failed before that was kept, a
    refusal no channel classified) read from its recorded error."""
    return str(row.fail_cause) if row.fail_cause in CAUSES else reason_of(row.last_error)
