"""The photo store's disk full, end to end: the photo store is a tmpfs of 2 MB filled up (the test mounts it, as
root; skipped otherwise), liaisons send photo reports through the real PTB Application and the fake Bot API, and
the photo keeper (as `diaodu run`'s leader runs it) cannot write them. The reports are saved and answered as
usual; each sender is told once that the photos of the report are not kept yet (not once per photo nor per try),
the admins once that the store is full; the keeper tries again, and once there is room it keeps every photo and
the admins hear once that the store works again."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app import photo_keeper
from bot.channels.telegram_transport import TelegramTransport
from bot.config import Settings
from bot.services.outbox import OutboxSender
from storage import projects as project_repo
from tests.e2e.harness import REPO, TelegramHarness, e2e_settings
from tests.e2e.test_albums import deliver as deliver_update
from tests.e2e.test_albums import part_update
from tests.fakes.bot_api import FakeBotAPI
from tests.photos import reading
from tests.photos.pictures import photo

HAO, WU, ADMIN = 1001, 1002, 9009  # 郝芳 (ZD2026-001), 武杰 (ZD2026-002), the 项目办
ADMIN_NAME = "管理员(区重大项目办)"
NOT_KEPT = "现场照片暂未能保存"
STORE_FULL = "照片库的存储空间已满"
STORE_BACK = "照片库已恢复保存"


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """DATA_DIR whose photos/ folder is a tmpfs of 2 MB (under build/, unmounted and removed afterwards)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs takes root")
    root = REPO / "build" / f"photo-store-full-{uuid.uuid4().hex[:8]}"
    photos = root / "data" / "photos"
    photos.mkdir(parents=True)
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(photos)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
        try:
            yield root / "data"
        finally:
            subprocess.run(["umount", str(photos)], check=True)
    finally:
        shutil.rmtree(root)


@pytest.fixture
def tg_settings(fake_api: FakeBotAPI, data_dir: Path) -> Settings:
    return e2e_settings(fake_api, DATA_DIR=str(data_dir))


def fill(folder: Path) -> Path:
    """Write a file into ``folder`` until its file system has no room left; the file."""
    filler = folder / "filler"
    with filler.open("wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    return filler


async def deliver(telegram: TelegramHarness) -> None:
    sender = OutboxSender(telegram.core.db, telegram.clock, {"telegram": TelegramTransport(telegram.application.bot)})
    stats = await sender.drain(30)
    assert not stats.failed, stats


def told(fake: FakeBotAPI, chat: int, words: str) -> int:
    return sum(words in text for text in fake.texts(chat))


async def test_a_full_photo_store_is_told_once_and_the_photos_are_kept_when_there_is_room(
        telegram: TelegramHarness, fake_api: FakeBotAPI, data_dir: Path) -> None:
    await telegram.bind(HAO, "郝芳")
    await telegram.bind(WU, "武杰")
    await telegram.bind(ADMIN, ADMIN_NAME, "admin")
    keeper = photo_keeper(telegram.core, telegram=telegram.channel)
    filler = fill(data_dir / "photos")

    album = [part_update(fake_api, "801", "ZD2026-001 850万 桩基完成" if n == 0 else "") for n in range(3)]
    replies = []
    for n, update in enumerate(album):  # 郝芳's report with three photos
        fake_api.files[update["message"]["photo"][0]["file_id"]] = photo(71 + n)
        replies.append(await deliver_update(telegram, update))
    assert "已记录填报" in replies[0].text, replies
    saved = await telegram.photo(WU, "ZD2026-002 50 清表完成", file_id=fake_api.add_file(photo(75)))
    assert "已记录填报" in saved.text
    assert [await telegram.report_count()] == [2]  # the reports are saved whatever becomes of their photos
    stats = await keeper.keep_due()
    assert (stats.kept, stats.failed, stats.given_up) == (0, 4, 0)
    await deliver(telegram)
    assert told(fake_api, ADMIN, NOT_KEPT) == 1 and told(fake_api, ADMIN, STORE_FULL) == 1
    assert told(fake_api, HAO, NOT_KEPT) == 1 and told(fake_api, WU, NOT_KEPT) == 1
    assert "ZD2026-001" in [t for t in fake_api.texts(HAO) if NOT_KEPT in t][0]

    # Tried again later, still full: nobody is told again.
    telegram.clock.advance(seconds=31)
    assert (await keeper.keep_due()).failed == 4
    await deliver(telegram)
    assert told(fake_api, ADMIN, NOT_KEPT) == 1 and told(fake_api, HAO, NOT_KEPT) == 1

    filler.unlink()  # the operator makes room
    telegram.clock.advance(minutes=3)
    assert (await keeper.keep_due()).kept == 4
    await deliver(telegram)
    assert told(fake_api, ADMIN, STORE_BACK) == 1
    for code in ("ZD2026-001", "ZD2026-002"):
        async with telegram.session() as session:
            project = await project_repo.get_project_by_code(session, code=code)
            assert project is not None
        photos = await reading.project_photos(telegram.core.db, project_id=project.id)
        assert {p.state for p in photos} == {"kept"} and len(photos) == (3 if code == "ZD2026-001" else 1)
    assert (await keeper.keep_due()).kept == 0
    await deliver(telegram)
    assert told(fake_api, ADMIN, STORE_BACK) == 1
