"""Photos kept in an S3-compatible bucket (PHOTO_STORE=s3://…), end to end: a liaison's photo through the real
Telegram Application and the fake Bot API, the keeper putting it and its thumbnail into a bucket of a real
S3 server (moto's server mode), and the read API reading them back from there."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.app import photo_keeper
from bot.config import Settings
from bot.services.photo_store import S3PhotoStore
from storage import projects as project_repo
from tests.e2e.harness import TelegramHarness, e2e_settings
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.s3 import S3Server, s3_server
from tests.photos import reading
from tests.photos.pictures import photo

HAO = 1001
BUCKET = "district-photos"


@pytest.fixture
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        server.create_bucket(BUCKET)
        yield server


@pytest.fixture
def tg_settings(fake_api: FakeBotAPI, s3: S3Server) -> Settings:
    return e2e_settings(fake_api, **s3.settings(BUCKET, "prod"))


async def test_a_photo_goes_to_the_bucket_with_its_thumbnail(telegram: TelegramHarness, fake_api: FakeBotAPI,
                                                              s3: S3Server) -> None:
    await telegram.bind(HAO, "郝芳")
    keeper = photo_keeper(telegram.core, telegram=telegram.channel)
    assert isinstance(keeper.store, S3PhotoStore)
    await telegram.photo(HAO, "ZD2026-001 850万 桩基完成", file_id=fake_api.add_file(photo(31)))
    await telegram.photo(HAO, "ZD2026-001 850万 桩基完成", file_id=fake_api.add_file(photo(31)))  # 确认替换 asked
    await telegram.press(HAO, "确认替换")
    assert (await keeper.keep_due()).kept == 2
    async with telegram.session() as session:
        project = await project_repo.get_project_by_code(session, code="ZD2026-001")
        assert project is not None
    [shown] = await reading.project_photos(telegram.core.db, project_id=project.id)
    assert shown.sha256 is not None and shown.duplicate is None  # the same day and project: no repeat
    assert s3.keys(BUCKET) == [f"prod/originals/{shown.sha256[:2]}/{shown.sha256}",
                               f"prod/thumbs/{shown.sha256[:2]}/{shown.sha256}.jpg"]  # the same bytes once
    original = await reading.read_photo(telegram.core.db, keeper.store, photo_id=shown.id)
    thumb = await reading.read_photo(telegram.core.db, keeper.store, photo_id=shown.id, thumbnail=True)
    assert original is not None and original.data == photo(31) and original.content_type == "image/jpeg"
    assert thumb is not None and thumb.data.startswith(b"\xff\xd8") and len(thumb.data) < len(original.data)
