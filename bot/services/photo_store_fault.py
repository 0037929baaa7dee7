"""The photo store refusing to keep photos (its disk full, a bucket refusing writes): a fault of the store, not of
the photos. The keeper goes on trying each photo again as usual (``bot.services.photo_keeper``); meanwhile

- a full store is a fault at once; any other refusal (an S3 5xx after its retries, a one-off EIO) only when
  refusals go on for minutes, so that a passing one tells nobody;
- the admins are told once per fault, on every channel they use, and once when the store keeps photos again. A
  fault is one episode (``bot.services.fault_episodes``, ``photo-store-fault``): a restart or a new leader meeting
  the same fault tells nobody again;
- whoever sent a report, a problem or a node's evidence whose photos it could not keep is told once, however many
  photos and tries: the report (problem, node) itself is saved, nothing needs sending again;
- once the store keeps a photo again, the photos it refused are tried at once, not when their backoff says (up to
  six hours later: WeCom keeps an image three days).

One keeper runs (the leader's): its photos are told one at a time (a lock), so that two photos failing together
open one episode.

The web pages read the store too (``bot.web.photo_reads``): a store they cannot read (a bucket down, its folder's
mount gone) for ``PERSISTS`` is the same fault (``unreadable``; the episode marked ``reading``, worded as such),
told once to the admins and shown by ``/readyz``; it ends when a page reads the store again (``readable``) or the
keeper keeps a photo.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.domain.messages import Reply
from bot.render import Renderer
from bot.services import fault_episodes, photo_reasons
from bot.services.photo_store import PhotoStoreError
from storage import outbox, people
from storage import photos as photo_repo
from storage.db import Database
from storage.photo_senders import sending_of
from storage.photos import DuePhoto

log = logging.getLogger(__name__)

EPISODE = "photo-store-fault"
PERSISTS = timedelta(minutes=5)  # refusals for less than this are passing (an S3 5xx, a one-off EIO): not told
RECHECK = timedelta(minutes=1)  # how long a process trusts having found no fault open (another may open one)


class StoreFaultNotices:
    """Tells the admins of the photo store's fault and its end, and the senders of the photos it refused."""

    def __init__(self, db: Database, clock: Clock, renderer: Renderer | None = None) -> None:
        self.db = db
        self.clock = clock
        self.renderer = renderer or Renderer()
        self._lock = asyncio.Lock()
        self._clear_at: datetime | None = None  # when this process last found no fault open (None: not lately)
        self._refused_since: datetime | None = None  # the first refusal since the store last kept a photo here
        self._unreadable_since: datetime | None = None  # the first failed read since a page last read the store

    async def refused(self, due: DuePhoto, error: PhotoStoreError) -> None:
        """The store could not keep the photo ``due``: the admins told of the fault unless they were, and the
        photo's sender unless told of its sending before. A full store is a fault at once; any other refusal only
        once refusals go on for ``PERSISTS`` (the refused photos are tried again meanwhile, their senders told
        when one is refused again once it is a fault)."""
        async with self._lock:
            now = self.clock.now()
            self._clear_at = None
            if self._refused_since is None:
                self._refused_since = now
            async with self.db.session() as session:
                episode = await fault_episodes.current(session, EPISODE, now=now)
                if episode is None:
                    if not error.full and now - self._refused_since < PERSISTS:
                        log.warning("the photo store refused a photo (%s); it is tried again, told if refusals "
                                    "go on", error)
                        return
                    episode, _new = await fault_episodes.begin(
                        session, EPISODE, {"since": now.isoformat(), "full": error.full}, now=now)
                    log.error("the photo store cannot keep photos (%s); the admins are told, each photo is tried "
                              "again later", error)
                    await self._tell_admins(session, "down", episode, now=now)
                sending = await sending_of(session, kind=due.kind, photo_id=due.id)
                if sending is not None and sending.person_id is not None:
                    reply = Reply(html=self.renderer.render("photo_store_fault", kind="sender", sending=sending,
                                                            full=bool(episode.get("full"))))
                    await outbox.enqueue_for_person(session, person_id=sending.person_id, reply=reply, now=now,
                                                    key=f"photo-not-kept:{sending.kind}:{sending.owner_id}")

    async def unreadable(self, error: PhotoStoreError) -> None:
        """A page could not read the store: once reads have failed for ``PERSISTS``, a fault (``reading``) the
        admins are told of, unless one is open already (a store refusing writes, or another process's)."""
        async with self._lock:
            now = self.clock.now()
            self._clear_at = None
            if self._unreadable_since is None:
                self._unreadable_since = now
            if now - self._unreadable_since < PERSISTS:
                return
            async with self.db.session() as session:
                episode, new = await fault_episodes.begin(
                    session, EPISODE, {"since": self._unreadable_since.isoformat(), "full": False, "reading": True},
                    now=now)
                if new:
                    log.error("the photo store cannot be read since %s (%s); the admins are told",
                              self._unreadable_since.isoformat(), error)
                    await self._tell_admins(session, "down", episode, now=now)

    async def readable(self) -> None:
        """A page read the store: a fault opened because it could not be read is over (the admins told so), at
        most once a ``RECHECK`` while none is open; a fault of refused writes stays until the keeper keeps a
        photo."""
        self._unreadable_since = None
        if self._clear_at is not None and self.clock.now() - self._clear_at < RECHECK:
            return
        async with self._lock:
            now = self.clock.now()
            async with self.db.session() as session:
                episode = await fault_episodes.current(session, EPISODE, now=now)
                if episode is not None and episode.get("reading"):
                    await fault_episodes.end(session, EPISODE, now=now)
                    log.warning("the photo store can be read again (unreadable since %s)", episode["since"])
                    await self._tell_admins(session, "up", episode, now=now)
                    episode = None
            self._clear_at = now if episode is None else None

    async def current(self) -> dict[str, Any] | None:
        """The fault told and not yet over, as the health check shows it (``since``, ``full``, and ``reading`` when
        the pages cannot read the store), or None: read from
        the processes' shared memory, so any process (a restarted one, one that does not lead) says it."""
        async with self.db.session() as session:
            episode = await fault_episodes.current(session, EPISODE, now=self.clock.now())
        if episode is None:
            return None
        told = {"since": episode["since"], "full": bool(episode.get("full"))}
        return told | {"reading": True} if episode.get("reading") else told  # reading: the pages cannot read it

    async def works(self) -> None:
        """The store kept a photo: the admins told that it works again, if they were told of a fault. The fault is
        read from the shared memory (another process, leading before, may have opened it), at most once a
        ``RECHECK`` while none is open."""
        self._refused_since = None
        if self._clear_at is not None and self.clock.now() - self._clear_at < RECHECK:
            return
        async with self._lock:
            now = self.clock.now()
            async with self.db.session() as session:
                episode = await fault_episodes.end(session, EPISODE, now=now)
                if episode is not None:
                    waiting = await photo_repo.due_again(session, reason=photo_reasons.STORE, now=now)
                    log.warning("the photo store keeps photos again (refused since %s); the %d photos it refused are "
                                "tried now", episode["since"], waiting)
                    await self._tell_admins(session, "up", episode, now=now)
            self._clear_at = now

    async def _tell_admins(self, session: AsyncSession, kind: str, episode: dict[str, Any], *, now: datetime) -> None:
        reply = Reply(html=self.renderer.render("photo_store_fault", kind=kind, since=fault_episodes.since(episode),
                                                full=bool(episode.get("full")), reading=bool(episode.get("reading"))))
        key = f"photo-store-{kind}:{episode['since']}"
        admins = await people.active_admins(session)
        await outbox.enqueue_for_people(session, [
            outbox.PersonNotice(person_id=admin.id, reply=reply, key=f"{key}:p{admin.id}") for admin in admins],
            now=now)
