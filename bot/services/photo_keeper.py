"""Keeping photos for good: download each photo after its report (or its problem, or its node's evidence) is
stored, put it and its thumbnail in the photo store, record it, and flag repeats of report photos
(疑似重复照片). One keeper for every kind of photo (``storage.photos``): the same retries, the same store.

The report is answered at once; the download happens here, in the background (the leader's
:meth:`PhotoKeeper.run_forever`, which looks for due photos every couple of seconds), never in the reply's
path. The channel's file id is all a report holds until then, and Telegram serves files long after, but
WeCom deletes a medium after three days: so the photo is fetched as soon as it is due, and a failure is
retried (after 30 s, 2 min, 8 min, 32 min, about 2 h, then every 6 h) for up to ``GIVE_UP_AFTER`` (7 days)
from its report (problem, node), unless the channel says the file is gone or refused for good (WeCom 40007
invalid media, Telegram "wrong file id", a file over 20 MB): then it is given up at once. A photo keeps the
reason of its last failure as a code (``fetch_reason``, ``bot.services.photo_reasons``), which the project's
photos (``bot.services.photos``) and the problem page word in Chinese; the channel's own words go to the log
(a warning for a photo given up): nothing is dropped silently.

Each channel provides a :class:`PhotoSource` (``bot.channels.telegram_photos``, ``bot.channels.wecom.photos``).
A source that is not ready (Telegram before its bot is started, while the Bot API has not answered since
start-up) is not asked: its photos stay due, no try counted, until it is.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.clock import Clock, set_within
from bot.services import photo_reasons
from bot.services.photo_store import THUMB_TYPE, PhotoStore, PhotoStoreError, original_key, thumbnail_key
from bot.services.photo_store_fault import StoreFaultNotices
from storage import photos as photo_repo
from storage.db import Database

log = logging.getLogger(__name__)

MAX_PHOTO_BYTES = 20 * 1024 * 1024  # Telegram's bots download at most 20 MB; WeCom images are smaller
FIRST_RETRY = timedelta(seconds=30)
RETRY_FACTOR = 4
LONGEST_WAIT = timedelta(hours=6)
GIVE_UP_AFTER = timedelta(days=7)
BATCH = 10


class FetchFailed(Exception):
    """A photo could not be downloaded: why, as a code of ``bot.services.photo_reasons`` (stored), the
    channel's own words (`detail`, for the log); `permanent` when trying again cannot help (the file is gone)."""

    def __init__(self, reason: str, detail: str = "", *, permanent: bool = False) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.permanent = permanent


class PhotoSource(Protocol):
    """Downloads a photo a channel received, by the file id the report holds. A source may also say whether
    it can be asked now (``ready()``, e.g. once its bot is started); one that cannot says nothing of it."""

    async def fetch(self, file_id: str, *, max_bytes: int) -> bytes:
        """The photo's bytes; raises FetchFailed."""


def is_ready(source: PhotoSource) -> bool:
    """Whether the source can be asked now (a source without ``ready()`` always can)."""
    ready = getattr(source, "ready", None)
    return ready is None or bool(ready())


def next_attempt(*, attempts_done: int, reported_at: datetime, now: datetime, permanent: bool) -> datetime | None:
    """When to try a failed download again (None: give up). `attempts_done` counts the one that just failed."""
    if permanent:
        return None
    wait = min(FIRST_RETRY * RETRY_FACTOR ** max(attempts_done - 1, 0), LONGEST_WAIT)
    retry_at = now + wait
    return retry_at if retry_at - reported_at <= GIVE_UP_AFTER else None


@dataclass
class KeepStats:
    """What one run did."""

    kept: int = 0
    failed: int = 0
    given_up: int = 0
    duplicates: int = 0  # photos found to be 疑似重复照片 (each once, however often re-marked)


class PhotoKeeper:
    """Downloads the due photos through the channels' sources into the store."""

    def __init__(self, db: Database, clock: Clock, store: PhotoStore, sources: Mapping[str, PhotoSource], *,
                 concurrency: int = 3, store_faults: StoreFaultNotices | None = None) -> None:
        """``store_faults`` tells the admins and the senders when the store refuses photos (without it, only the
        log says so)."""
        self.db = db
        self.clock = clock
        self.store = store
        self.sources = dict(sources)
        self.concurrency = concurrency
        self.store_faults = store_faults
        # Downloads run side by side; recording is one at a time, so that each photo's search for the photos
        # it repeats sees every photo recorded before it (one keeper runs: the leader's).
        self._recording = asyncio.Lock()

    async def _download(self, due: photo_repo.DuePhoto) -> bytes:
        source = self.sources.get(due.channel)
        if source is None:
            raise FetchFailed(photo_reasons.NO_CHANNEL, f"the channel {due.channel} is not configured here")
        return await source.fetch(due.file_id, max_bytes=MAX_PHOTO_BYTES)

    async def keep_one(self, due: photo_repo.DuePhoto, stats: KeepStats) -> None:
        """Download, examine, store and record one photo; a failure is recorded with its next attempt."""
        from bot.services.photo_images import examine  # Pillow, loaded with the first photo

        try:
            data = await self._download(due)
            examined = await asyncio.to_thread(examine, data)
            await self.store.put(original_key(examined.sha256), data, examined.content_type)
            if examined.thumbnail is not None:
                await self.store.put(thumbnail_key(examined.sha256), examined.thumbnail, THUMB_TYPE)
        except FetchFailed as error:
            await self._failed(due, error.reason, error.detail, permanent=error.permanent, stats=stats)
            return
        except PhotoStoreError as error:
            await self._failed(due, photo_reasons.STORE, str(error), permanent=False, stats=stats)
            await self._tell_store_fault(due, error)
            return
        except Exception as error:  # a bug or an odd file must not stop the others
            log.exception("keeping %s photo %s failed", due.kind, due.id)
            await self._failed(due, photo_reasons.FAILED, f"{type(error).__name__}: {error}", permanent=False,
                               stats=stats)
            return
        try:
            async with self._recording, self.db.session() as session:
                kept = await photo_repo.keep_photo(
                    session, photo_id=due.id, sha256=examined.sha256, size=examined.size,
                    content_type=examined.content_type, width=examined.width, height=examined.height,
                    phash=examined.phash, has_thumbnail=examined.thumbnail is not None, now=self.clock.now(),
                    kind=due.kind)
        except Exception as error:  # e.g. the database busy past its wait: the bytes are in the store, try later
            log.warning("could not record kept %s photo %s", due.kind, due.id, exc_info=True)
            await self._failed(due, photo_reasons.FAILED, f"{type(error).__name__}: {error}", permanent=False,
                               stats=stats)
            return
        stats.kept += 1
        await self._tell_store_works()
        stats.duplicates += kept.repeats_found  # a photo re-marked to an earlier one kept late is counted once
        if kept.duplicate_of is not None or kept.later_repeats:
            log.info("photo %s repeats photo %s; later repeats: %s", due.id, kept.duplicate_of, kept.later_repeats)

    async def _tell_store_works(self) -> None:
        if self.store_faults is None:
            return
        try:
            await self.store_faults.works()
        except Exception:  # the photo is kept all the same; the next kept photo tells it
            log.exception("could not tell that the photo store keeps photos again")

    async def _tell_store_fault(self, due: photo_repo.DuePhoto, error: PhotoStoreError) -> None:
        if self.store_faults is None:
            return
        try:
            await self.store_faults.refused(due, error)
        except Exception:  # the photo is tried again all the same
            log.exception("could not tell of the photo store's fault")

    async def _failed(self, due: photo_repo.DuePhoto, reason: str, detail: str, *, permanent: bool,
                      stats: KeepStats) -> None:
        now = self.clock.now()
        retry_at = next_attempt(attempts_done=due.attempts + 1, reported_at=due.reported_at, now=now,
                                permanent=permanent)
        async with self.db.session() as session:
            await photo_repo.record_failure(session, photo_id=due.id, reason=reason, retry_at=retry_at,
                                            kind=due.kind)
        if retry_at is None:
            stats.given_up += 1
            log.warning("gave up keeping %s photo %s (%s, attempt %s): %s %s", due.kind, due.id, due.channel,
                        due.attempts + 1, reason, detail)
        else:
            stats.failed += 1
            log.info("%s photo %s not downloaded (attempt %s), again at %s: %s %s", due.kind, due.id,
                     due.attempts + 1, retry_at.isoformat(), reason, detail)

    async def keep_due(self, *, limit: int | None = None) -> KeepStats:
        """Keep every photo due now (at most `limit`), a few at a time; returns what was done."""
        stats = KeepStats()
        gate = asyncio.Semaphore(self.concurrency)
        handled = 0
        not_ready = {channel for channel, source in self.sources.items() if not is_ready(source)}

        async def one(due: photo_repo.DuePhoto) -> None:
            async with gate:
                await self.keep_one(due, stats)

        while limit is None or handled < limit:
            async with self.db.session() as session:
                batch = await photo_repo.due_photos(session, now=self.clock.now(), skip_channels=not_ready,
                                                    limit=BATCH if limit is None else min(BATCH, limit - handled))
            if not batch:
                break
            await asyncio.gather(*(one(due) for due in batch))
            handled += len(batch)
        return stats

    async def run_forever(self, stop: asyncio.Event, idle_seconds: float = 2.0) -> None:
        """Keep due photos until `stop` is set, looking again every `idle_seconds`."""
        while not stop.is_set():
            try:
                stats = await self.keep_due()
                if stats.kept or stats.failed or stats.given_up:
                    log.info("photos: %s", stats)
            except Exception:
                log.exception("photo keeping run failed; trying again")
            await set_within(stop, idle_seconds)
