"""Photos sent with reports are kept for good, end to end: a liaison sends a photo through the real PTB
Application and the fake Bot API, the report is answered at once, and the photo keeper (as `diaodu run`'s
leader runs it) downloads it with getFile into the store under DATA_DIR, once, with a thumbnail. The same
photo sent again another day, or rescaled and re-encoded for another project, or twice in one report, is
flagged 疑似重复照片 and /project says so."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from bot.app import Core, photo_keeper
from bot.config import Settings
from bot.services.photo_store import LocalPhotoStore, original_key, thumbnail_key
from storage import projects as project_repo
from tests.e2e.harness import TelegramHarness, e2e_settings
from tests.e2e.test_albums import deliver, part_update
from tests.fakes.bot_api import FakeBotAPI
from tests.photos import reading
from tests.photos.pictures import photo, resent
from tests.polling import until

HAO, WU = 1001, 1002  # 郝芳 (liaison of ZD2026-001), 武杰 (ZD2026-002)


@pytest.fixture
def tg_settings(fake_api: FakeBotAPI, tmp_path: Path) -> Settings:
    return e2e_settings(fake_api, DATA_DIR=str(tmp_path / "data"))


async def project_id(core: Core, code: str) -> int:
    async with core.db.session() as session:
        project = await project_repo.get_project_by_code(session, code=code)
        assert project is not None
        return project.id


async def test_a_photo_is_kept_once_with_a_thumbnail_and_repeats_are_flagged(
        telegram: TelegramHarness, fake_api: FakeBotAPI, tmp_path: Path) -> None:
    await telegram.bind(HAO, "郝芳")
    await telegram.bind(WU, "武杰")
    keeper = photo_keeper(telegram.core, telegram=telegram.channel)
    store = keeper.store
    assert isinstance(store, LocalPhotoStore) and store.root == tmp_path / "data" / "photos"

    saved = await telegram.photo(HAO, "ZD2026-001 850万 桩基完成", file_id=fake_api.add_file(photo(11)))
    assert "850" in saved.text and "照片 1 张" in saved.text
    assert fake_api.calls_of("getFile") == []  # answered without waiting for the download
    stats = await keeper.keep_due()
    assert (stats.kept, stats.duplicates) == (1, 0)
    assert len(fake_api.calls_of("getFile")) == 1
    p1 = await project_id(telegram.core, "ZD2026-001")
    [first] = await reading.project_photos(telegram.core.db, project_id=p1)
    assert first.state == "kept" and first.sha256 is not None and first.duplicate is None
    assert store.path(original_key(first.sha256)).read_bytes() == photo(11)
    with Image.open(store.path(thumbnail_key(first.sha256))) as thumb:
        assert thumb.format == "JPEG" and max(thumb.size) == 320

    # The next day the same bytes again for ZD2026-001 (a new file id), and the picture rescaled and
    # re-encoded by 武杰 for ZD2026-002.
    telegram.clock.advance(days=1)
    await telegram.photo(HAO, "ZD2026-001 100万 桩基完成", file_id=fake_api.add_file(photo(11)))
    await telegram.photo(WU, "ZD2026-002 50 清表完成", file_id=fake_api.add_file(resent(11)))
    stats = await keeper.keep_due()
    assert (stats.kept, stats.duplicates) == (2, 2)
    assert len([p for p in (store.root / "originals").rglob("*") if p.is_file()]) == 2  # stored once
    [again, _first] = await reading.project_photos(telegram.core.db, project_id=p1)
    assert again.duplicate is not None and again.duplicate.photo_id == first.id and again.duplicate.identical
    [other] = await reading.project_photos(telegram.core.db, project_id=await project_id(telegram.core, "ZD2026-002"))
    assert other.duplicate is not None and other.duplicate.photo_id == first.id and not other.duplicate.identical

    shown = await telegram.send(HAO, "/project ZD2026-001")
    assert "现场照片：2 张，其中疑似重复照片 1 张" in shown.text
    assert "疑似重复照片：与 ZD2026-001 2026-11-20 的照片相同" in shown.text
    shown = await telegram.send(WU, "/project ZD2026-002")
    assert "疑似重复照片：与 ZD2026-001 2026-11-20 的照片相近" in shown.text
    # Nothing is downloaded twice.
    assert (await keeper.keep_due()).kept == 0 and len(fake_api.calls_of("getFile")) == 3


async def test_the_same_photo_sent_three_times_in_one_report_is_flagged_twice(
        telegram: TelegramHarness, fake_api: FakeBotAPI) -> None:
    """An album of three identical photos (padding a report): the second and third repeat the first, whichever
    is downloaded first."""
    await telegram.bind(HAO, "郝芳")
    keeper = photo_keeper(telegram.core, telegram=telegram.channel)
    parts = [part_update(fake_api, "701", "ZD2026-001 850万 桩基完成" if n == 2 else "") for n in range(3)]
    for update in parts:
        fake_api.files[update["message"]["photo"][0]["file_id"]] = photo(61)
        replies = await deliver(telegram, update)
    assert "照片 3 张" in replies.text
    assert (await keeper.keep_due()).kept == 3
    p1 = await project_id(telegram.core, "ZD2026-001")
    first, *others = sorted(await reading.project_photos(telegram.core.db, project_id=p1), key=lambda p: p.id)
    assert first.duplicate is None
    assert [(p.duplicate.photo_id, p.duplicate.identical) for p in others if p.duplicate] == [(first.id, True)] * 2

    shown = await telegram.send(HAO, "/project ZD2026-001")
    assert "现场照片：3 张，其中疑似重复照片 2 张" in shown.text
    assert shown.text.count("疑似重复照片：与同时报送的另一张照片相同") == 2


async def test_a_failed_download_is_retried_and_the_report_is_answered_meanwhile(
        telegram: TelegramHarness, fake_api: FakeBotAPI) -> None:
    await telegram.bind(HAO, "郝芳")
    keeper = photo_keeper(telegram.core, telegram=telegram.channel)
    fake_api.inject_fault("getFile", status=500, rate=1.0)
    saved = await telegram.photo(HAO, "ZD2026-001 850万 桩基完成", file_id=fake_api.add_file(photo(12)))
    assert "照片 1 张" in saved.text
    stats = await keeper.keep_due()
    assert (stats.kept, stats.failed) == (0, 1)
    p1 = await project_id(telegram.core, "ZD2026-001")
    [waiting] = await reading.project_photos(telegram.core.db, project_id=p1)
    assert waiting.state == "waiting" and waiting.problem and waiting.next_attempt is not None
    fake_api.clear_faults("getFile")
    assert (await keeper.keep_due()).kept == 0  # not before its time
    telegram.clock.advance(seconds=30)
    assert (await keeper.keep_due()).kept == 1
    [kept] = await reading.project_photos(telegram.core.db, project_id=p1)
    assert kept.state == "kept" and kept.problem is None


async def test_diaodu_run_keeps_photos_in_the_background(fake_api: FakeBotAPI, tmp_path: Path) -> None:
    """`diaodu run` (serve, polling the fake) answers the report and, as the leader, downloads its photo into
    DATA_DIR/photos a moment later. Bulletins and reminders are off: the ledger is imported on the real day, and
    on a Monday morning or the 1st a bulletin fell due at start-up, whose drawing held up the stop (30 s) on a
    busy machine."""
    import asyncio
    from datetime import UTC, datetime, timedelta

    from bot.clock import FrozenClock
    from bot.services.invites import create_invite
    from bot.services.ledger_import import import_ledger_files
    from storage import people
    from storage.db import Database
    from storage.migrate import upgrade
    from tests.e2e.harness import SAMPLE_LEDGER, TEST_ACTOR, serving, without_digests

    url = f"sqlite+aiosqlite:///{tmp_path / 'run.sqlite3'}"
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    try:
        now = datetime.now(UTC)
        assert not (await import_ledger_files(db, FrozenClock(now), [SAMPLE_LEDGER], actor=TEST_ACTOR)).issues
        async with db.session() as session:
            [hao] = await people.find_people_by_name(session, name="郝芳")
            invite = await create_invite(session, person=hao, role="liaison", now=now, ttl=timedelta(hours=1),
                                         actor=TEST_ACTOR, bot_username=fake_api.username)
            await without_digests(session, now=now)
    finally:
        await db.dispose()
    settings = e2e_settings(fake_api, DATABASE_URL=url, HTTP_HOST="127.0.0.1", HTTP_PORT=0,
                            DATA_DIR=str(tmp_path / "data"))
    task, stop, _port = await serving(settings)
    try:
        fake_api.user(HAO, first_name="郝芳")
        fake_api.enqueue_text(HAO, f"/start {invite.code}")
        await fake_api.wait_for("sendMessage", chat_id=HAO, timeout=15)
        mark = len(fake_api.calls)
        fake_api.enqueue_photo(HAO, caption="ZD2026-001 850万 桩基完成", file_id=fake_api.add_file(photo(51)))
        [answer] = await fake_api.wait_for("sendMessage", since=mark, chat_id=HAO, timeout=15)
        assert "照片 1 张" in answer["text"]
        originals = tmp_path / "data" / "photos" / "originals"
        def kept_files() -> list[Path]:  # not the store's temporary ".part-" file being written
            return [p for p in originals.rglob("*") if p.is_file() and not p.name.startswith(".part-")]

        await until(lambda: originals.is_dir() and kept_files(), "the photo kept", 15, every=0.05)
        [kept] = kept_files()
        assert kept.read_bytes() == photo(51)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)



async def test_photos_wait_for_the_telegram_bot_to_be_started(telegram: TelegramHarness, fake_api: FakeBotAPI) -> None:
    """While Telegram's application is not started (at start-up, until the Bot API answers) the keeper does not
    try its photos: they stay due, no try counted, and are kept once it is started."""
    await telegram.bind(HAO, "郝芳")
    keeper = photo_keeper(telegram.core, telegram=telegram.channel)
    await telegram.photo(HAO, "ZD2026-001 850万 桩基完成", file_id=fake_api.add_file(photo(12)))
    p1 = await project_id(telegram.core, "ZD2026-001")
    await telegram.stop()
    stats = await keeper.keep_due()
    assert (stats.kept, stats.failed, stats.given_up) == (0, 0, 0)
    [waiting] = await reading.project_photos(telegram.core.db, project_id=p1)
    assert waiting.state == "waiting" and waiting.problem is None and fake_api.calls_of("getFile") == []
    await telegram.start()
    assert (await keeper.keep_due()).kept == 1
    [kept] = await reading.project_photos(telegram.core.db, project_id=p1)
    assert kept.state == "kept"
