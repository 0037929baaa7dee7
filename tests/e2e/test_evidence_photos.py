"""A node's evidence photo sent in Telegram is kept for good, end to end: the liaison marks the node done with
a photo through the real PTB Application and the fake Bot API, and the photo keeper downloads it with
getFile into the store under DATA_DIR, with a thumbnail; the same bytes a report brought before are not
stored again. A photo captioned with /issue stays with the problem it raises."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import photo_keeper
from bot.clock import SHANGHAI
from bot.config import Settings
from bot.services.photo_store import LocalPhotoStore, original_key, thumbnail_key
from storage import evidence_photos as evidence_repo
from storage.models import NodePhoto, ProblemPhoto, Project, ProjectNode
from tests.e2e.harness import TelegramHarness, e2e_settings
from tests.fakes.bot_api import FakeBotAPI
from tests.photos.pictures import photo

HAO = 1001  # 郝芳, the liaison of ZD2026-001
CODE = "ZD2026-001"


@pytest.fixture
def tg_settings(fake_api: FakeBotAPI, tmp_path: Path) -> Settings:
    return e2e_settings(fake_api, DATA_DIR=str(tmp_path / "data"))


async def test_a_node_photo_sent_in_telegram_is_kept(telegram: TelegramHarness, fake_api: FakeBotAPI) -> None:
    await telegram.bind(HAO, "郝芳")
    keeper = photo_keeper(telegram.core, telegram=telegram.channel)
    assert isinstance(keeper.store, LocalPhotoStore)
    # A report brought the very bytes before (another file id): they are in the store already.
    await telegram.photo(HAO, f"{CODE} 850万 路基完成", file_id=fake_api.add_file(photo(91)))
    assert (await keeper.keep_due()).kept == 1

    today = telegram.clock.now().astimezone(SHANGHAI).date()
    await telegram.send(HAO, "/node")
    await telegram.press(HAO, f"{CODE} 路基完成")
    asked = await telegram.press(HAO, f"今天完成（{today.isoformat()}）")
    assert "现场照片" in asked.text
    got = await telegram.photo(HAO, file_id=fake_api.add_file(photo(91)))
    assert "照片 1 张" in got.text
    done = await telegram.press(HAO, "完成")
    assert "按期完成" in done.text
    assert len(fake_api.calls_of("getFile")) == 1  # answered without waiting for the download

    stats = await keeper.keep_due()
    assert (stats.kept, stats.failed, stats.duplicates) == (1, 0, 0)
    assert len(fake_api.calls_of("getFile")) == 2
    async with telegram.session() as session:
        node_id = (await session.scalars(
            select(ProjectNode.id).join(Project, Project.id == ProjectNode.project_id)
            .where(Project.code == CODE, ProjectNode.name == "路基完成"))).one()
        [kept] = (await evidence_repo.photos_of_nodes(session, node_ids=[node_id]))[node_id]
        row = await session.get(NodePhoto, kept.id)
    assert kept.state == "kept" and kept.channel == "telegram" and kept.has_thumbnail and kept.sha256 is not None
    assert row is not None and row.kept_at == telegram.clock.now() and row.fetch_after is None
    assert keeper.store.path(original_key(kept.sha256)).read_bytes() == photo(91)
    assert keeper.store.path(thumbnail_key(kept.sha256)).is_file()
    originals = [p for p in (keeper.store.root / "originals").rglob("*") if p.is_file()]
    assert len(originals) == 1  # the report's photo and the node's: the same bytes, stored once
    assert (await keeper.keep_due()).kept == 0 and len(fake_api.calls_of("getFile")) == 2


async def _problem_photo_files(telegram: TelegramHarness) -> list[str]:
    async with telegram.session() as session:
        return list((await session.scalars(select(ProblemPhoto.file_id).order_by(ProblemPhoto.id))).all())


async def test_a_photo_captioned_with_a_whole_issue_is_kept_with_the_problem(
        telegram: TelegramHarness, fake_api: FakeBotAPI) -> None:
    await telegram.bind(HAO, "郝芳")
    file_id = fake_api.add_file(photo(92))
    raised = await telegram.photo(HAO, f"/issue {CODE} 用地 征地红线内还有两户未签约", file_id=file_id)
    assert "W0001" in raised.text
    assert await _problem_photo_files(telegram) == [file_id]


async def test_a_photo_captioned_with_the_issues_code_is_kept_through_the_guided_steps(
        telegram: TelegramHarness, fake_api: FakeBotAPI) -> None:
    await telegram.bind(HAO, "郝芳")
    first, second = fake_api.add_file(photo(93)), fake_api.add_file(photo(94))
    await telegram.photo(HAO, f"/issue {CODE}", file_id=first)
    await telegram.press(HAO, "用地")
    await telegram.send(HAO, "征地红线内还有两户未签约")
    assert "已收到 2 张" in (await telegram.photo(HAO, file_id=second)).text
    units = await telegram.press(HAO, "完成（不再上传照片）")
    check = await telegram.press(HAO, units.buttons[0])
    assert "照片：2 张" in check.text
    assert "W0001" in (await telegram.press(HAO, check.buttons[0])).text
    assert await _problem_photo_files(telegram) == [first, second]
