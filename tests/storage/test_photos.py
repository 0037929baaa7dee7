"""Keeping report photos (bot.services.photo_keeper, storage.photos): each photo downloaded once its report is
stored, the same bytes stored once, a thumbnail made, repeats on another day or project flagged, failures
retried and given up only with a reason; and the read API (bot.services.photos). SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

from bot.channels.telegram_photos import TelegramPhotoSource
from bot.clock import FrozenClock
from bot.services.photo_keeper import GIVE_UP_AFTER, FetchFailed, PhotoKeeper, next_attempt
from bot.services.photo_reasons import GONE_WECOM, UNREACHABLE
from bot.services.photo_store import LocalPhotoStore, original_key, thumbnail_key
from storage import photos as photo_repo
from storage.audit import Actor
from storage.db import Database
from storage.reports import add_report
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.ptb_bot import bot_on
from tests.photos import reading
from tests.photos.pictures import photo, resent

from .factories import build_world

ACTOR = Actor(label="郝芳", channel="telegram")


class Source:
    """Serves photos by file id like a channel would; a value that is an exception is raised instead."""

    def __init__(self, files: dict[str, bytes | Exception]) -> None:
        self.files = files
        self.fetched: list[str] = []

    async def fetch(self, file_id: str, *, max_bytes: int) -> bytes:
        self.fetched.append(file_id)
        answer = self.files[file_id]
        if isinstance(answer, Exception):
            raise answer
        return answer


async def report(db: Database, clock: FrozenClock, project_id: int, person_id: int, day: date,
                 *file_ids: str, replaces: int | None = None) -> int:
    async with db.session() as session:
        stored = await add_report(session, project_id=project_id, person_id=person_id, local_day=day,
                                  amount=Decimal(100), progress_text="桩基", photos=list(file_ids),
                                  channel="telegram", now=clock.now(), actor=ACTOR, project_code="ZD",
                                  replaces=replaces)
    return stored.id


@pytest.fixture
def store(tmp_path: Path) -> LocalPhotoStore:
    return LocalPhotoStore(tmp_path / "photos")


async def test_photos_are_kept_once_with_thumbnails_and_repeats_are_flagged(
        db: Database, clock: FrozenClock, store: LocalPhotoStore) -> None:
    world = await build_world(db, clock.now())
    source = Source({"a": photo(1), "a-again": photo(1), "a-resent": resent(1), "b": photo(2), "c": photo(3)})
    keeper = PhotoKeeper(db, clock, store, {"telegram": source})
    today = clock.now().date()
    first = await report(db, clock, world.p1, world.liaison, today, "a", "b")
    stats = await keeper.keep_due()
    assert (stats.kept, stats.duplicates) == (2, 0)
    [b_row, a_row] = sorted(await reading.project_photos(db, project_id=world.p1), key=lambda p: p.id, reverse=True)
    assert a_row.state == "kept" and a_row.report_id == first and a_row.duplicate is None
    assert a_row.has_thumbnail and a_row.content_type == "image/jpeg" and (a_row.width, a_row.height) == (1280, 960)
    thumb = Image.open(store.path(thumbnail_key(a_row.sha256)))
    assert max(thumb.size) == 320 and thumb.format == "JPEG"
    assert store.path(original_key(a_row.sha256)).read_bytes() == photo(1)

    # The next day: the same bytes for project 1, the same picture rescaled for project 2, a new one.
    clock.advance(days=1)
    await report(db, clock, world.p1, world.liaison, today + timedelta(days=1), "a-again", "c")
    await report(db, clock, world.p2, world.liaison, today + timedelta(days=1), "a-resent")
    stats = await keeper.keep_due()
    assert (stats.kept, stats.duplicates) == (3, 2)
    files = sorted(p.name for p in (store.root / "originals").rglob("*") if p.is_file())
    assert len(files) == 4  # a, b, c and the rescaled a: the same bytes once
    newest = await reading.project_photos(db, project_id=world.p1, since=today + timedelta(days=1))
    again = next(p for p in newest if p.sha256 == a_row.sha256)
    assert again.duplicate is not None and again.duplicate.photo_id == a_row.id
    assert (again.duplicate.project_code, again.duplicate.local_day, again.duplicate.identical) == (
        "ZD2026-001", today, True)
    assert next(p for p in newest if p.sha256 != a_row.sha256).duplicate is None
    [other] = await reading.project_photos(db, project_id=world.p2)
    assert other.duplicate is not None and other.duplicate.photo_id == a_row.id
    assert other.duplicate.project_code == "ZD2026-001" and not other.duplicate.identical
    assert other.sha256 != a_row.sha256 and 0 <= other.duplicate.distance <= 4

    # The read API: bytes and thumbnails by photo id, with the project for the scope check.
    original = await reading.read_photo(db, store, photo_id=other.id)
    assert original is not None and original.data == resent(1) and original.project_id == world.p2
    small = await reading.read_photo(db, store, photo_id=other.id, thumbnail=True)
    assert small is not None and small.content_type == "image/jpeg" and small.data.startswith(b"\xff\xd8")
    assert await reading.photo_project(db, photo_id=other.id) == world.p2
    assert await reading.read_photo(db, store, photo_id=999_999) is None
    assert await reading.photo_project(db, photo_id=999_999) is None


async def test_a_photo_sent_again_the_same_day_for_the_same_project_is_no_repeat(
        db: Database, clock: FrozenClock, store: LocalPhotoStore) -> None:
    world = await build_world(db, clock.now())
    keeper = PhotoKeeper(db, clock, store, {"telegram": Source({"a": photo(1), "a2": photo(1)})})
    today = clock.now().date()
    first = await report(db, clock, world.p1, world.liaison, today, "a")
    await keeper.keep_due()
    clock.advance(hours=1)
    await report(db, clock, world.p1, world.liaison, today, "a2", replaces=first)  # 确认替换
    await keeper.keep_due()
    shown = await reading.project_photos(db, project_id=world.p1, include_withdrawn=True)
    assert len(shown) == 2 and all(p.state == "kept" and p.duplicate is None for p in shown)
    assert [p.report_withdrawn for p in shown] == [False, True]
    assert len(await reading.project_photos(db, project_id=world.p1)) == 1


async def test_an_earlier_photo_kept_late_flags_the_later_one(
        db: Database, clock: FrozenClock, store: LocalPhotoStore) -> None:
    """Order of downloads does not matter: the first download of the earlier photo failed, the later one
    was kept first; when the earlier one is kept, the later one is marked as its repeat."""
    world = await build_world(db, clock.now())
    source = Source({"early": FetchFailed(UNREACHABLE, "network down"), "late": photo(5)})
    keeper = PhotoKeeper(db, clock, store, {"telegram": source})
    today = clock.now().date()
    await report(db, clock, world.p1, world.liaison, today, "early")
    await keeper.keep_due()
    clock.advance(days=1)
    await report(db, clock, world.p2, world.liaison, today + timedelta(days=1), "late")
    source.files["early"] = resent(5)
    stats = await keeper.keep_due()
    assert stats.kept == 2 and stats.duplicates == 1
    [late] = await reading.project_photos(db, project_id=world.p2)
    [early] = await reading.project_photos(db, project_id=world.p1)
    assert late.duplicate is not None and late.duplicate.photo_id == early.id and early.duplicate is None


async def test_failures_are_retried_then_given_up_with_the_reason(
        db: Database, clock: FrozenClock, store: LocalPhotoStore) -> None:
    world = await build_world(db, clock.now())
    source = Source({"flaky": FetchFailed(UNREACHABLE, "Telegram: Timed out"),
                     "gone": FetchFailed(GONE_WECOM, "WeCom errcode 40007: invalid media_id", permanent=True),
                     "junk": b"not a picture"})
    keeper = PhotoKeeper(db, clock, store, {"telegram": source})
    await report(db, clock, world.p1, world.liaison, clock.now().date(), "flaky", "gone", "junk")
    stats = await keeper.keep_due()
    assert (stats.kept, stats.failed, stats.given_up) == (1, 1, 1)
    by_state = {p.state: p for p in await reading.project_photos(db, project_id=world.p1)}
    assert by_state["lost"].problem == GONE_WECOM
    waiting = by_state["waiting"]
    assert waiting.problem == UNREACHABLE and waiting.next_attempt == clock.now() + timedelta(seconds=30)
    # Bytes that are no picture are kept as they are, without a thumbnail.
    assert by_state["kept"].has_thumbnail is False and by_state["kept"].content_type == "application/octet-stream"
    assert await reading.read_photo(db, store, photo_id=by_state["kept"].id) is not None
    assert await reading.read_photo(db, store, photo_id=by_state["kept"].id, thumbnail=True) is None
    # Not before its time; then again, with a longer wait each time.
    assert (await keeper.keep_due()).failed == 0
    clock.advance(seconds=30)
    assert (await keeper.keep_due()).failed == 1
    [again] = [p for p in await reading.project_photos(db, project_id=world.p1) if p.state == "waiting"]
    assert again.next_attempt == clock.now() + timedelta(minutes=2)
    # After a week of failures it is given up, and the summary counts it.
    clock.advance(seconds=GIVE_UP_AFTER.total_seconds())
    assert (await keeper.keep_due()).given_up == 1
    async with db.session() as session:
        counts = await photo_repo.keeping_counts(session)
    assert (counts.kept, counts.waiting, counts.given_up) == (1, 0, 2)
    assert source.fetched.count("gone") == 1


def test_the_wait_between_attempts_grows_and_ends() -> None:
    from datetime import UTC, datetime

    reported = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    waits = [next_attempt(attempts_done=n, reported_at=reported, now=reported, permanent=False) - reported
             for n in range(1, 8)]
    assert waits[:5] == [timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=8), timedelta(minutes=32),
                         timedelta(minutes=128)]
    assert waits[5:] == [timedelta(hours=6)] * 2
    assert next_attempt(attempts_done=1, reported_at=reported, now=reported, permanent=True) is None
    assert next_attempt(attempts_done=9, reported_at=reported, now=reported + GIVE_UP_AFTER, permanent=False) is None


async def test_an_album_downloaded_out_of_order_counts_each_repeat_once(
        db: Database, clock: FrozenClock, store: LocalPhotoStore, fake_api: FakeBotAPI) -> None:
    """One report with the same picture three times (an album), fetched through the Bot API's getFile, the
    downloads finishing last photo first: the second and third photos are marked as repeating the first (the
    third was marked as repeating the second while the first was not kept yet), and the run counts 2
    duplicates, not a photo re-marked as two."""
    world = await build_world(db, clock.now())
    files = [fake_api.add_file(photo(4), file_id=f"AgAC-album-{n}") for n in range(3)]
    fake_api.file_delays.update({files[0]: 0.6, files[1]: 0.3})
    async with bot_on(fake_api) as bot:
        keeper = PhotoKeeper(db, clock, store, {"telegram": TelegramPhotoSource(bot)})
        await report(db, clock, world.p1, world.liaison, clock.now().date(), *files)
        stats = await keeper.keep_due()
    assert fake_api.downloads == files[::-1]
    assert (stats.kept, stats.duplicates) == (3, 2)
    [first, second, third] = sorted(await reading.project_photos(db, project_id=world.p1), key=lambda p: p.id)
    assert first.duplicate is None
    assert [p.duplicate.photo_id if p.duplicate else None for p in (second, third)] == [first.id, first.id]
