"""WeCom images are kept for good: the MediaId a member's image carries is fetched with ``media/get`` from the
fake WeCom server (before WeCom deletes it after three days) into the photo store; one that is already gone
is given up at once, with WeCom's answer kept as the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import photo_keeper
from bot.config import Settings
from bot.services.photo_store import LocalPhotoStore, original_key
from storage import projects as project_repo
from tests.fakes.wecom_api import FakeWeCom
from tests.photos import reading
from tests.photos.pictures import photo
from tests.wecom.harness import HAO, WeComHarness, wecom_settings

CODE = "ZD2026-001"


@pytest.fixture
def wc_settings(fake_wecom: FakeWeCom, tmp_path: Path) -> Settings:
    return wecom_settings(fake_wecom, DATA_DIR=str(tmp_path / "data"))


async def guided_report_with(wecom: WeComHarness, *media_ids: str) -> None:
    await wecom.send(HAO, "/report")
    await wecom.press(HAO, f"{CODE} 城北高速连接线")
    await wecom.send(HAO, "3000万元")
    await wecom.send(HAO, "路基完成40%")
    for media_id in media_ids:
        assert "已收到" in (await wecom.photo(HAO, media_id)).text
    await wecom.press(HAO, "完成（不再上传照片）")
    saved = await wecom.press(HAO, "确认")
    assert f"照片 {len(media_ids)} 张" in saved.text


async def test_an_image_sent_in_wecom_is_fetched_with_media_get_and_kept(wecom: WeComHarness,
                                                                         fake_wecom: FakeWeCom) -> None:
    await wecom.bind(HAO, "郝芳", "liaison")
    kept_id, gone_id = fake_wecom.add_sent_image(photo(21)), fake_wecom.add_sent_image(photo(22))
    await guided_report_with(wecom, kept_id, gone_id)
    assert fake_wecom.calls_of("media/get") == []  # the report was answered without fetching anything
    fake_wecom.expire_sent_image(gone_id)  # e.g. the bot was down for three days

    keeper = photo_keeper(wecom.core, wecom=wecom.channel)
    stats = await keeper.keep_due()
    assert (stats.kept, stats.given_up) == (1, 1)
    async with wecom.session() as session:
        project = await project_repo.get_project_by_code(session, code=CODE)
        assert project is not None
    by_state = {p.state: p for p in await reading.project_photos(wecom.core.db, project_id=project.id)}
    kept, lost = by_state["kept"], by_state["lost"]
    assert kept.channel == "wecom" and kept.has_thumbnail and kept.sha256 is not None
    assert isinstance(keeper.store, LocalPhotoStore)
    assert keeper.store.path(original_key(kept.sha256)).read_bytes() == photo(21)
    assert lost.problem == "gone_wecom" and lost.next_attempt is None
    calls = fake_wecom.calls_of("media/get")
    assert sorted(c.query["media_id"] for c in calls) == sorted([kept_id, gone_id])
    # 40007 is the answer this test asked for, not something the bot sent wrong (the fixture checks that).
    fake_wecom.calls[:] = [c for c in fake_wecom.calls if c.path != "media/get"]
    assert (await keeper.keep_due()).kept == 0  # given up: not asked again
    shown = await wecom.send(HAO, f"/project {CODE}")
    assert "现场照片：2 张，1 张未能保存（渠道已无法下载）" in shown.text
