"""An image a WeCom member sends with a problem is kept for good like a report's: the MediaId is fetched with
``media/get`` from the fake WeCom server (WeCom deletes media after three days) into the photo store, with a
thumbnail; an image already gone is given up at once with WeCom's answer as the reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import photo_keeper
from bot.config import Settings
from bot.services.photo_store import LocalPhotoStore, original_key, thumbnail_key
from storage import evidence_photos as evidence_repo
from storage.models import Problem
from tests.fakes.wecom_api import FakeWeCom
from tests.photos.pictures import photo
from tests.wecom.harness import HAO, WeComHarness, wecom_settings

CODE = "ZD2026-001"


@pytest.fixture
def wc_settings(fake_wecom: FakeWeCom, tmp_path: Path) -> Settings:
    return wecom_settings(fake_wecom, DATA_DIR=str(tmp_path / "data"))


async def test_the_images_of_a_problem_raised_in_wecom_are_fetched_and_kept(wecom: WeComHarness,
                                                                          fake_wecom: FakeWeCom) -> None:
    await wecom.bind(HAO, "郝芳", "liaison")
    kept_id, gone_id = fake_wecom.add_sent_image(photo(81)), fake_wecom.add_sent_image(photo(82))
    await wecom.send(HAO, "/issue")
    await wecom.press(HAO, f"{CODE} 城北高速连接线")
    await wecom.press(HAO, "用地")
    await wecom.send(HAO, "还有12户未签约")
    for media_id in (kept_id, gone_id):
        assert "已收到" in (await wecom.photo(HAO, media_id)).text
    await wecom.press(HAO, "完成（不再上传照片）")
    await wecom.press(HAO, "牵头单位：区住建局")
    raised = await wecom.press(HAO, "确认")
    assert "W0001" in raised.text
    assert fake_wecom.calls_of("media/get") == []  # raised without fetching anything
    fake_wecom.expire_sent_image(gone_id)  # e.g. the bot was down for three days

    keeper = photo_keeper(wecom.core, wecom=wecom.channel)
    stats = await keeper.keep_due()
    assert (stats.kept, stats.given_up) == (1, 1)
    async with wecom.session() as session:
        problem_id = (await session.scalars(select(Problem.id))).one()
        kept, lost = await evidence_repo.photos_of_problem(session, problem_id=problem_id)
    assert (kept.channel, kept.state, kept.has_thumbnail) == ("wecom", "kept", True)
    assert isinstance(keeper.store, LocalPhotoStore) and kept.sha256 is not None
    assert keeper.store.path(original_key(kept.sha256)).read_bytes() == photo(81)
    assert keeper.store.path(thumbnail_key(kept.sha256)).is_file()
    assert lost.state == "lost" and lost.fetch_reason == "gone_wecom"
    calls = fake_wecom.calls_of("media/get")
    assert sorted(c.query["media_id"] for c in calls) == sorted([kept_id, gone_id])
    # 40007 is the answer this test asked for, not something the bot sent wrong (the fixture checks that).
    fake_wecom.calls[:] = [c for c in fake_wecom.calls if c.path != "media/get"]
    assert (await keeper.keep_due()).kept == 0 and fake_wecom.calls_of("media/get") == []  # not asked again
