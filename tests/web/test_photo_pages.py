"""Photos on the web pages: a report's kept photos show as thumbnails on its project page, open full size,
and answer 403 to someone whose scope does not hold the project, like the page itself."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.clock import to_local
from tests.photos.pictures import photo
from tests.web.harness import WebHarness, page_as
from tests.web.test_evidence_photos import keeper


async def test_a_kept_photo_shows_on_its_project_page_and_opens(site: WebHarness) -> None:
    day = site.core.clock.now().date() - timedelta(days=1)
    await site.report("ZD2026-001", day, "120", "桩基完成", photos=["AgACsite1"])
    assert (await keeper(site, {"AgACsite1": photo(21)}).keep_due()).kept == 1

    async with site.signed_in("郝芳") as hao:
        async with hao.get("/web/project/ZD2026-001") as page:
            html = await page.text()
        assert page.status == 200
        [thumb] = [part.split('"')[0] for part in html.split('src="/web/photo/')[1:]]
        photo_id = thumb.removesuffix("/thumb")
        async with hao.get(f"/web/photo/{photo_id}/thumb") as small:
            assert small.status == 200 and small.content_type == "image/jpeg"
            assert (await small.read())[:2] == b"\xff\xd8"
        async with hao.get(f"/web/photo/{photo_id}") as enlarged:
            assert enlarged.status == 200 and f'src="/web/photo/{photo_id}/screen"' in await enlarged.text()
        async with hao.get(f"/web/photo/{photo_id}/file") as full:
            assert full.status == 200 and await full.read() == photo(21)
            assert "immutable" in full.headers["Cache-Control"]
        async with hao.get("/web/photo/99999") as missing:
            assert missing.status == 404
    async with site.signed_in("武杰") as wu:  # ZD2026-002's liaison: not his project
        for path in ("", "/file", "/thumb", "/screen"):
            async with wu.get(f"/web/photo/{photo_id}{path}") as refused:
                assert refused.status == 403
    async with site.browser() as stranger:  # not signed in
        async with stranger.get(f"/web/photo/{photo_id}/file", allow_redirects=False) as anonymous:
            assert anonymous.status in (302, 303, 401, 403)


async def test_the_timeline_pages_its_thumbnails(site: WebHarness) -> None:
    """One page of the timeline loads at most THUMBNAILS_SHOWN thumbnails (the page stays under 1 MB); the
    older reports are a link away, and the newest a link back."""
    from bot.web.pages.project import THUMBNAILS_SHOWN

    today = site.core.clock.now().date()
    reports = THUMBNAILS_SHOWN // 3 + 1
    files = {}
    for back in range(reports):
        ids = [f"AgACpage{back}-{i}" for i in range(3)]
        files.update({file_id: photo(100 + 3 * back + i) for i, file_id in enumerate(ids)})
        await site.report("ZD2026-001", today - timedelta(days=back + 1), "10", f"第{back + 1}天施工", photos=ids)
    keeping = keeper(site, files)
    while (await keeping.keep_due()).kept:
        pass
    async with site.signed_in("郝芳") as hao:
        async with hao.get("/web/project/ZD2026-001") as response:
            first = await response.text()
        assert first.count("/thumb\"") == THUMBNAILS_SHOWN
        assert "第1天施工" in first and f"第{reports}天施工" not in first
        assert f'href="/web/project/ZD2026-001?skip={reports - 1}">更早的填报' in first
        async with hao.get(f"/web/project/ZD2026-001?skip={reports - 1}") as response:
            second = await response.text()
        assert second.count("/thumb\"") == 3 and f"第{reports}天施工" in second and "第1天施工" not in second
        assert "更早的填报" not in second and 'href="/web/project/ZD2026-001">最新的填报' in second
        async with hao.get("/web/project/ZD2026-001?skip=99999999999999999999999") as response:
            assert response.status == 200 and "暂无更早的填报" in await response.text()


async def test_a_repeated_photo_is_flagged_on_the_page(site: WebHarness) -> None:
    today = site.core.clock.now().date()
    await site.report("ZD2026-001", today - timedelta(days=2), "100", "桩基施工", photos=["AgACfirst"])
    await site.report("ZD2026-001", today - timedelta(days=1), "100", "桩基施工", photos=["AgACagain", "AgACnew"])
    assert (await keeper(site, {"AgACfirst": photo(41), "AgACagain": photo(41),
                                "AgACnew": photo(42)}).keep_due()).kept == 3
    page = await page_as(site, "郝芳", "/web/project/ZD2026-001")
    earlier = (today - timedelta(days=2)).isoformat()
    assert page.count(f"疑似重复照片：与 ZD2026-001 {earlier} 的照片相同") == 1
    assert page.count('class="repeat"') == 1


async def test_the_same_photo_three_times_in_one_report_is_flagged_on_the_page(site: WebHarness) -> None:
    """Three identical photos sent with one report: the second and third are flagged as repeating the first."""
    day = site.core.clock.now().date() - timedelta(days=1)
    await site.report("ZD2026-001", day, "100", "桩基施工", photos=["AgACone", "AgACtwo", "AgACthree"])
    assert (await keeper(site, {"AgACone": photo(43), "AgACtwo": photo(43),
                                "AgACthree": photo(43)}).keep_due()).kept == 3
    page = await page_as(site, "郝芳", "/web/project/ZD2026-001")
    assert page.count("疑似重复照片：与同时报送的另一张照片相同") == 2
    assert page.count('class="repeat"') == 2
    first = page.split('<a href="/web/photo/')[1].split('"')[0]
    assert not page.split(f'<a href="/web/photo/{first}"')[1].startswith(' class="repeat"')  # the first is not


async def test_a_photos_page_says_its_day_its_sender_and_its_place_among_the_photos_sent_with_it(
        site: WebHarness) -> None:
    """Opened from a thumbnail, a photo says which report it came with (its day), who sent it and when, and
    which of the report's photos it is, with the previous and next ones a tap away; a problem's and a node's
    photo say who sent them too."""
    from tests.web.harness import raise_problem
    from tests.web.test_evidence_photos import node_photo, problem_photo_ids

    day = site.core.clock.now().date() - timedelta(days=1)
    await site.report("ZD2026-001", day, "120", "桩基完成", photos=["AgACa", "AgACb", "AgACc"])
    number = await raise_problem(site, "ZD2026-001", "郝芳", "区住建局", "还有12户未签约",
                                 photos=[("telegram", "AgACp")])
    node = await node_photo(site, "ZD2026-001", "AgACn")
    keeping = keeper(site, {"AgACa": photo(51), "AgACb": photo(52), "AgACc": photo(53),
                            "AgACp": photo(54), "AgACn": photo(55)})
    assert (await keeping.keep_due()).kept == 5
    [problem_photo] = await problem_photo_ids(site)
    sent = to_local(site.core.clock.now()).strftime("%Y-%m-%d %H:%M")
    async with site.signed_in("刘文华") as lead:  # ZD2026-001's 包抓领导
        async with lead.get("/web/project/ZD2026-001") as response:
            html = await response.text()
        first, middle, last = [part.split('"')[0] for part in html.split('<a href="/web/photo/')[1:4]]
        async with lead.get(f"/web/photo/{middle}") as response:
            page = await response.text()
        assert f"{day.isoformat()} 的填报 · 郝芳 · {sent} 发送 · 第 2 张，共 3 张" in page
        assert f'href="/web/photo/{first}" rel="prev">‹ 上一张' in page
        assert f'href="/web/photo/{last}" rel="next">下一张 ›' in page
        async with lead.get(f"/web/photo/{first}") as response:
            page = await response.text()
        assert "第 1 张，共 3 张" in page and 'rel="prev"' not in page and f'href="/web/photo/{middle}"' in page
        async with lead.get(f"/web/problem-photo/{problem_photo}") as response:
            page = await response.text()
        assert f"提出问题时所附 · 郝芳 · {sent} 发送" in page and "共" not in page and number in page
        async with lead.get(f"/web/node-photo/{node}") as response:
            page = await response.text()
        assert f"节点 2026-11-01 完成 · 郝芳 · {sent} 发送" in page


async def test_a_big_album_shows_its_first_thumbnails_and_a_way_through_the_rest(site: WebHarness) -> None:
    """A report sent with more photos than ALBUM_SHOWN loads only that many thumbnails (the page stays light on
    a phone); a link opens the next photo, from which 下一张 goes through the rest, and 上一张 back."""
    from bot.web.pictures import ALBUM_SHOWN

    day = site.core.clock.now().date() - timedelta(days=1)
    sent = ALBUM_SHOWN + 3
    ids = [f"AgACalbum{i}" for i in range(sent)]
    await site.report("ZD2026-001", day, "300", "主体封顶", photos=ids)
    keeping = keeper(site, {file_id: photo(140 + i) for i, file_id in enumerate(ids)})
    while (await keeping.keep_due()).kept:
        pass
    async with site.signed_in("郝芳") as hao:
        async with hao.get("/web/project/ZD2026-001") as response:
            page = await response.text()
        thumbs = re.findall(r'<img src="/web/photo/(\d+)/thumb"', page)
        assert len(thumbs) == ALBUM_SHOWN
        more = re.search(r'<a class="more" href="/web/photo/(\d+)">另有 3 张现场照片，逐张查看</a>', page)
        assert more is not None and int(more.group(1)) > max(map(int, thumbs))
        async with hao.get(f"/web/photo/{more.group(1)}") as response:
            shown = await response.text()
        assert f"第 {ALBUM_SHOWN + 1} 张，共 {sent} 张" in shown
        assert f'href="/web/photo/{thumbs[-1]}" rel="prev"' in shown and 'rel="next"' in shown
