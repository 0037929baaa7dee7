"""Photos on the pages in every state, and 疑似重复照片 for every kind of photo.

- A problem's photos and a node's evidence photos are flagged when they repeat an earlier photo of any kind
  (a report's, a problem's, a node's) of another project or day, by the report photos' rule.
- A photo given up shows a Chinese reason, never the channel's own words (those stay in the log); a photo
  still being downloaded says so; a photo whose bytes left the store says so too, and its thumbnail is a
  stand-in, not a broken image.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.services import photo_reasons
from bot.services.photo_keeper import FetchFailed
from bot.services.photo_store import original_key, thumbnail_key
from bot.web.rendering import WebRenderer
from storage.models import ProblemPhoto, ReportPhoto
from tests.photos.pictures import photo
from tests.web.harness import WebHarness, page_as, raise_problem
from tests.web.test_evidence_photos import keeper, node_photo

TODAY = date(2026, 11, 20)


async def report_photo_ids(site: WebHarness) -> list[int]:
    async with site.core.db.session() as session:
        return list((await session.scalars(select(ReportPhoto.id).order_by(ReportPhoto.id))).all())


async def test_a_problem_photo_repeating_an_earlier_photo_is_flagged(site: WebHarness) -> None:
    await site.report("ZD2026-001", TODAY - timedelta(days=3), "100", "桩基", photos=["AgACold"])
    await site.report("ZD2026-001", TODAY, "100", "桩基", photos=["AgACtoday"])
    site.core.clock.advance(seconds=600)  # the problem is raised after the reports
    number = await raise_problem(site, "ZD2026-001", "郝芳", "区住建局", "还有12户未签约",
                                 photos=[("telegram", "AgACagain"), ("telegram", "AgACsameday"),
                                         ("telegram", "AgACnew")])
    files: dict[str, bytes | Exception] = {"AgACold": photo(81), "AgACtoday": photo(82), "AgACagain": photo(81),
                                           "AgACsameday": photo(82), "AgACnew": photo(83)}
    assert (await keeper(site, files).keep_due()).kept == 5
    async with site.core.db.session() as session:
        again, same_day, new = (await session.scalars(select(ProblemPhoto.id).order_by(ProblemPhoto.id))).all()
    html = await page_as(site, "郝芳", f"/web/problem/{number}")
    # The photo of a report three days before: flagged. That day's report photo again, same project: not.
    assert html.count("疑似重复照片") == 1
    assert f"疑似重复照片：与 ZD2026-001 {TODAY - timedelta(days=3)} 的照片相同" in html
    assert f'<a href="/web/problem-photo/{again}" class="repeat">' in html
    assert f'<a href="/web/problem-photo/{same_day}">' in html and f'<a href="/web/problem-photo/{new}">' in html


async def test_a_node_photo_repeating_another_projects_photo_is_flagged(site: WebHarness) -> None:
    await site.report("ZD2026-016", TODAY - timedelta(days=1), "100", "主体", photos=["AgACother"])
    site.core.clock.advance(seconds=600)
    node_photo_id = await node_photo(site, "ZD2026-001", "AgACnodecopy")
    assert (await keeper(site, {"AgACother": photo(84), "AgACnodecopy": photo(84)}).keep_due()).kept == 2
    html = await page_as(site, "郝芳", "/web/project/ZD2026-001")
    assert f"疑似重复照片：与 ZD2026-016 {TODAY - timedelta(days=1)} 的照片相同" in html
    assert f'<a href="/web/node-photo/{node_photo_id}" class="repeat">' in html


async def test_report_photos_waiting_and_given_up_say_so_in_chinese(site: WebHarness,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    await site.report("ZD2026-001", TODAY, "100", "桩基", photos=["AgACkept", "AgACslow", "AgACgone"])
    files: dict[str, bytes | Exception] = {
        "AgACkept": photo(85), "AgACslow": FetchFailed(photo_reasons.UNREACHABLE, "Telegram: Timed out"),
        "AgACgone": FetchFailed(photo_reasons.GONE_TELEGRAM, "Telegram: Wrong file_id specified", permanent=True)}
    with caplog.at_level(logging.WARNING):
        assert (await keeper(site, files).keep_due()).given_up == 1
    assert "Wrong file_id specified" in caplog.text  # the channel's words are in the log
    _kept, slow, gone = await report_photo_ids(site)
    async with site.signed_in("郝芳") as hao:
        async with hao.get("/web/project/ZD2026-001") as page:
            html = await page.text()
        assert "现场照片 1 张正在保存到照片库" in html
        assert "现场照片 1 张未能保存：Telegram 已无法提供这张照片（文件已失效）" in html
        assert "尚未保存" not in html and "Wrong file_id" not in html
        async with hao.get(f"/web/photo/{slow}") as waiting:
            assert waiting.status == 200 and "这张照片正在保存到照片库，请稍后刷新本页。" in await waiting.text()
        async with hao.get(f"/web/photo/{gone}") as lost:
            text = await lost.text()
            assert lost.status == 200 and "这张照片未能保存：Telegram 已无法提供这张照片（文件已失效）。" in text
            assert "<img class=\"photo\"" not in text and "Wrong file_id" not in text


async def test_a_photo_gone_from_the_store_says_so(site: WebHarness, caplog: pytest.LogCaptureFixture) -> None:
    await site.report("ZD2026-001", TODAY, "100", "桩基", photos=["AgACdeleted"])
    store = keeper(site, {"AgACdeleted": photo(86)})
    assert (await store.keep_due()).kept == 1
    [photo_id] = await report_photo_ids(site)
    async with site.core.db.session() as session:
        sha256 = (await session.get(ReportPhoto, photo_id)).sha256  # type: ignore[union-attr]
    for key in (original_key(sha256), thumbnail_key(sha256)):
        store.store.path(key).unlink()  # type: ignore[attr-defined]  # the folder store
    async with site.signed_in("郝芳") as hao:
        with caplog.at_level(logging.WARNING):
            async with hao.get(f"/web/photo/{photo_id}") as page:
                text = await page.text()
        assert page.status == 200 and "这张照片的文件已不在照片库中，请联系项目办。" in text
        assert "not in the photo store" in caplog.text
        async with hao.get(f"/web/photo/{photo_id}/thumb") as thumb:
            assert thumb.status == 404 and thumb.content_type == "image/svg+xml"
            assert "照片不可用" in (await thumb.read()).decode()
        async with hao.get(f"/web/photo/{photo_id}/file") as full:
            assert full.status == 404 and "未找到该照片" in await full.text()
    async with site.signed_in("管理员(区重大项目办)") as admin:  # the 项目办 itself is not sent to itself
        async with admin.get(f"/web/photo/{photo_id}") as page:
            text = await page.text()
        assert "请系统运维人员从备份恢复照片库" in text and "请联系项目办" not in text


@pytest.mark.parametrize("broken", ["a-file", "a-link-to-nowhere", "a-link-loop"])
async def test_a_photo_folder_that_cannot_be_read_leaves_the_pages_working(
        site: WebHarness, tmp_path: Path, caplog: pytest.LogCaptureFixture, broken: str) -> None:
    """The folder store's folder can no longer be read (its disk or mount gone: here, as the tests run as root whom
    no permission stops, its path is a regular file, a link to a folder that is gone, or a link to itself): the
    photo's page still says whose report it is and that the photo is kept but cannot be shown now, never that it
    is gone from the store; its bytes answer 503 with a page saying so, its thumbnail a grey stand-in; the log
    says it once. The folder back, the photo shows."""
    await site.report("ZD2026-001", TODAY, "100", "桩基", photos=["AgACfolder"])
    assert (await keeper(site, {"AgACfolder": photo(87)}).keep_due()).kept == 1
    [photo_id] = await report_photo_ids(site)
    folder = site.state.settings.data_dir / "photos"  # the default store: DATA_DIR/photos
    assert folder.is_dir()
    moved = folder.rename(tmp_path / "photos-elsewhere")
    if broken == "a-file":
        folder.write_bytes(b"not a folder")
    else:
        folder.symlink_to(tmp_path / "gone" if broken == "a-link-to-nowhere" else folder)
    async with site.signed_in("管理员(区重大项目办)") as admin:
        with caplog.at_level(logging.WARNING):
            async with admin.get(f"/web/photo/{photo_id}") as page:
                text = await page.text()
            assert page.status == 200 and "照片库暂时无法访问，这张照片现在无法显示。照片本身已保存" in text, text
            assert "ZD2026-001" in text and "不在照片库中" not in text and "从备份恢复照片库" not in text
            async with admin.get(f"/web/photo/{photo_id}/file") as full:
                body = await full.text()
            assert full.status == 503 and full.headers["Retry-After"] == "60"
            assert "照片暂时无法显示" in body and "照片本身已保存，不会丢失" in body, body
            async with admin.get(f"/web/photo/{photo_id}/thumb") as thumb:
                assert thumb.status == 503 and "暂时无法显示" in (await thumb.read()).decode()
        said = [r for r in caplog.records if "cannot be read" in r.getMessage()]
        assert len(said) == 1 and said[0].exc_info is None
        assert "not in the photo store" not in caplog.text
        folder.unlink()
        moved.rename(folder)
        async with admin.get(f"/web/photo/{photo_id}/file") as full:
            assert full.status == 200 and (await full.read())[:2] == b"\xff\xd8"


@pytest.mark.parametrize(("code", "shown"), [
    (photo_reasons.GONE_TELEGRAM, "Telegram 已无法提供这张照片（文件已失效）"),
    (photo_reasons.TOO_BIG, "照片超过 20 MB，无法保存"),
    (photo_reasons.GONE_WECOM, "企业微信已不再保存这张图片（图片只保留 3 天）"),
    (photo_reasons.REFUSED, "聊天渠道拒绝下载这张照片"),
    (photo_reasons.NO_CHANNEL, "该聊天渠道未接入，无法下载"),
    (photo_reasons.UNREACHABLE, "多次连接聊天渠道均未成功，已停止尝试"),
    (photo_reasons.STORE, "多次写入照片库均未成功，已停止尝试"),
    (photo_reasons.FAILED, "多次下载均未成功，已停止尝试"),
    ("", "原因不明"),
    (None, "原因不明"),
    ("Telegram: Timed out", "原因不明"),  # no code: nothing of the channel's words is shown
])
def test_the_reason_shown_is_chinese(code: str | None, shown: str) -> None:
    words = WebRenderer().env.from_string('{% from "_photo_reason.html.j2" import lost_reason %}{{ lost_reason(k) }}')
    assert words.render(k=photo_reasons.shown_reason(code)) == shown
    assert {photo_reasons.shown_reason(c) for c in photo_reasons.REASONS} == photo_reasons.REASONS


async def test_a_problem_photo_page_says_why_it_was_not_kept(site: WebHarness) -> None:
    number = await raise_problem(site, "ZD2026-001", "郝芳", "区住建局", "还有12户未签约",
                                 photos=[("telegram", "AgACwecomgone")])
    files: dict[str, bytes | Exception] = {
        "AgACwecomgone": FetchFailed(photo_reasons.GONE_WECOM, "WeCom: media/get: errcode 40007: invalid media_id",
                                      permanent=True)}
    assert (await keeper(site, files).keep_due()).given_up == 1
    async with site.core.db.session() as session:
        [photo_id] = (await session.scalars(select(ProblemPhoto.id))).all()
    async with site.signed_in("郝芳") as hao:
        async with hao.get(f"/web/problem-photo/{photo_id}") as page:
            text = await page.text()
        async with hao.get(f"/web/problem/{number}") as problem:
            listed = await problem.text()
    assert "这张照片未能保存：企业微信已不再保存这张图片（图片只保留 3 天）。" in text and "40007" not in text
    assert "问题照片 1 张未能保存：企业微信已不再保存这张图片（图片只保留 3 天）" in listed and "40007" not in listed
