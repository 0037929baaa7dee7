"""The read API of kept photos, for the web pages and the chat (stable: add fields, do not rename them), over
the rows ``storage.photos`` reads in the caller's own unit of work (a web page holds one session a request).

    store = open_photo_store(settings)                        # bot.services.photo_store
    rows = await storage.photos.photos_of_project(session, project_id=7)  # newest day first
    photos = [photo_view(row) for row in rows]                # list[ProjectPhoto]
    stored = await storage.photos.stored_photo(session, photo_id=42)  # None if no such photo
    file = await read_stored(store, stored)                  # PhotoFile | None (the photo as sent)
    thumb = await read_stored(store, stored, thumbnail=True)
    blob = await read_blob(store, sha256=..., content_type=..., has_thumbnail=..., thumbnail=True)  # any kind
    blob = await read_screen(store, sha256=..., content_type=...)  # as its page shows it: at most 1280 px

Problem photos and node evidence photos are kept the same way (``storage.photos``); they are read with
``storage.evidence_photos`` and ``read_blob`` (``bot.web.evidence_photos`` shows them).

A photo is addressed by its report photo id (``ProjectPhoto.id``), never by its sha256 alone: the same bytes
may belong to several projects, and the page must check that the viewer may see *this* project
(``PhotoFile.project_id``) before answering. Its bytes are immutable: a route may send
``Cache-Control: private, max-age=31536000, immutable`` and ``ETag: "<sha256>"``.

``ProjectPhoto.state`` says where the photo stands: ``kept`` (bytes in the store), ``waiting`` (not
downloaded yet, or to be tried again at ``next_attempt``) or ``lost`` (given up: ``problem`` says why, as a
code of ``bot.services.photo_reasons``, e.g. ``gone_wecom``: WeCom no longer had it; the template
``web/_photo_reason.html.j2`` words it). A photo ``duplicate`` names the earlier photo (of another project or
day; a report's, a problem's or a node's evidence) it repeats (疑似重复照片, ``bot.domain.photo_match``): show it as
疑似重复照片 (the template ``_photo_duplicate.j2`` words it: 与 ZD2026-002 2026-11-20 的照片相同 / 相近, or
与同时报送的另一张照片相同 when it came with the same report).
Thumbnails are JPEGs of at most 320 px on the longer side (``bot.services.photo_images``); a photo's page shows
its screen copy, a JPEG of at most 1280 px made from the original the first time it is asked for and kept beside
it (the original itself when no bigger: ``photo_images.screen_of``). Reading raises
``bot.services.photo_store.PhotoStoreError`` when the store cannot be read (a bucket down): a page says so.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from bot.services.photo_store import THUMB_TYPE, PhotoStore, PhotoStoreError, original_key, screen_key, thumbnail_key
from storage import photos as photo_repo

log = logging.getLogger(__name__)
PhotoState = Literal["kept", "waiting", "lost"]


@dataclass(frozen=True)
class Duplicate:
    """The earlier photo a photo repeats: its id, project code and day, whether the bytes are the very same
    (else the picture re-encoded or rescaled), how many of the 64 hash bits differ, and its kind: a report's
    photo, a problem's ("problem", ``photo_id`` a problem photo's id) or a node's evidence ("node"); whether it
    came with the same report (``together``)."""

    photo_id: int
    project_code: str | None
    local_day: date | None
    identical: bool
    distance: int | None
    kind: str = "report"
    together: bool = False


@dataclass(frozen=True)
class ProjectPhoto:
    """One photo of a project's report, as the project page's timeline shows it."""

    id: int
    report_id: int
    local_day: date
    reported_at: datetime
    reporter: str
    channel: str
    state: PhotoState
    sha256: str | None
    content_type: str | None
    width: int | None
    height: int | None
    has_thumbnail: bool
    report_withdrawn: bool
    next_attempt: datetime | None
    problem: str | None
    duplicate: Duplicate | None

    @property
    def is_duplicate(self) -> bool:
        return self.duplicate is not None


def photo_view(row: photo_repo.PhotoRow) -> ProjectPhoto:
    """A storage row as the read API shows it."""
    state: PhotoState = "kept" if row.sha256 else ("waiting" if row.fetch_after is not None else "lost")
    duplicate = None if row.duplicate_of_id is None else Duplicate(
        photo_id=row.duplicate_of_id, project_code=row.duplicate_project_code, local_day=row.duplicate_day,
        identical=row.sha256 is not None and row.sha256 == row.duplicate_sha256, distance=row.duplicate_distance,
        kind=row.duplicate_kind or "report", together=row.duplicate_together)
    return ProjectPhoto(
        id=row.id, report_id=row.report_id, local_day=row.local_day, reported_at=row.reported_at,
        reporter=row.reporter, channel=row.channel, state=state, sha256=row.sha256,
        content_type=row.content_type, width=row.width, height=row.height,
        has_thumbnail=row.has_thumbnail, report_withdrawn=row.report_withdrawn,
        next_attempt=row.fetch_after if state == "waiting" else None,
        problem=None if state == "kept" else row.fetch_reason, duplicate=duplicate)


@dataclass(frozen=True)
class PhotoFile:
    """A photo's (or its thumbnail's) bytes, with what a response needs."""

    photo_id: int
    project_id: int
    sha256: str
    content_type: str
    data: bytes


async def read_stored(store: PhotoStore, stored: photo_repo.StoredPhoto, *,
                      thumbnail: bool = False) -> PhotoFile | None:
    """The bytes as sent (or its thumbnail's) of a photo looked up (``storage.photos.stored_photo``) in the
    caller's unit of work, or None when it is not kept (yet) or has no thumbnail (bytes Pillow cannot read).
    Check ``project_id`` against the viewer's scope before sending it."""
    found = await read_blob(store, sha256=stored.sha256, content_type=stored.content_type,
                            has_thumbnail=stored.has_thumbnail, thumbnail=thumbnail)
    return None if found is None else PhotoFile(photo_id=stored.id, project_id=stored.project_id,
                                                 sha256=found.sha256, content_type=found.content_type,
                                                 data=found.data)


@dataclass(frozen=True)
class Blob:
    """Kept bytes (a photo's or its thumbnail's) with their type."""

    sha256: str
    content_type: str
    data: bytes


async def read_blob(store: PhotoStore, *, sha256: str | None, content_type: str | None, has_thumbnail: bool,
                    thumbnail: bool = False) -> Blob | None:
    """The bytes kept under `sha256` (or its thumbnail's), or None when not kept (yet) or without a thumbnail:
    for any kind of photo (a problem's, a node's evidence) once the caller has checked the viewer's scope."""
    if sha256 is None or (thumbnail and not has_thumbnail):
        return None
    data = await store.get(thumbnail_key(sha256) if thumbnail else original_key(sha256))
    if data is None:
        return None
    return Blob(sha256=sha256, content_type=THUMB_TYPE if thumbnail else (content_type or "application/octet-stream"),
                data=data)


async def read_screen(store: PhotoStore, *, sha256: str | None, content_type: str | None) -> Blob | None:
    """The photo as its page shows it: its screen copy (made from the original the first time, in a worker
    thread, and kept), or the original when that is small enough to show as it is; None when not kept."""
    if sha256 is None:
        return None
    made = await store.get(screen_key(sha256))
    if made is not None:
        return Blob(sha256=sha256, content_type=THUMB_TYPE, data=made)
    original = await store.get(original_key(sha256))
    if original is None:
        return None
    from bot.services.photo_images import screen_of  # Pillow loads with the first photo shown, not at start-up

    smaller = await asyncio.to_thread(screen_of, original)
    if smaller is None:
        return Blob(sha256=sha256, content_type=content_type or "application/octet-stream", data=original)
    try:
        await store.put(screen_key(sha256), smaller, THUMB_TYPE)
    except PhotoStoreError as error:  # a store refusing writes still shows what it holds: made again next time
        log.warning("could not keep the screen copy of photo %s: %s", sha256, error)
    return Blob(sha256=sha256, content_type=THUMB_TYPE, data=smaller)
