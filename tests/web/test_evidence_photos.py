"""Problem photos and node evidence photos on the web pages: a problem's page shows its kept photos as
thumbnails that open the photo, says which wait for their download and why one could not be kept; the
photos' routes answer by the same scope as the problem (or the node's project) itself, for every role."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from bot.services.photo_keeper import FetchFailed, PhotoKeeper
from bot.services.photo_reasons import GONE_TELEGRAM, UNREACHABLE
from bot.services.photo_store import open_photo_store
from bot.web.evidence_photos import NODE_PHOTOS, PROBLEM_PHOTOS
from storage import nodes as node_repo
from storage.models import NodePhoto, ProblemPhoto, Project
from tests.photos.pictures import photo
from tests.web.harness import ROLE_PEOPLE, WebHarness, page_as, raise_problem

ROLES = list(ROLE_PEOPLE)
ALL = {role: 200 for role in ROLES}
ONLY_TOP = {"liaison": 403, "unit": 403, "lead": 403, "top": 200, "admin": 200}


class Files:
    """A channel's files, as the photo keeper fetches them; a value that is an exception is raised."""

    def __init__(self, files: dict[str, bytes | Exception]) -> None:
        self.files = files

    async def fetch(self, file_id: str, *, max_bytes: int) -> bytes:
        answer = self.files[file_id]
        if isinstance(answer, Exception):
            raise answer
        return answer


def keeper(site: WebHarness, files: dict[str, bytes | Exception]) -> PhotoKeeper:
    return PhotoKeeper(site.core.db, site.core.clock, open_photo_store(site.state.settings),
                       {"telegram": Files(files)})


async def problem_photo_ids(site: WebHarness) -> list[int]:
    async with site.core.db.session() as session:
        return list((await session.scalars(select(ProblemPhoto.id).order_by(ProblemPhoto.id))).all())


async def node_photo(site: WebHarness, code: str, file_id: str) -> int:
    """A node of the project marked done with one evidence photo; the photo's id."""
    async with site.core.db.session() as session:
        project = await session.scalar(select(Project).where(Project.code == code))
        assert project is not None
        node = await node_repo.add_node(session, project=project, name="桩基完成", planned_on=date(2026, 11, 1),
                                        now=site.core.clock.now())
        await node_repo.mark_done(session, node, done_on=date(2026, 11, 1), note="", person_id=project.liaison_id,
                                  photos=[("telegram", file_id)], now=site.core.clock.now())
        return (await session.scalars(select(NodePhoto.id).where(NodePhoto.node_id == node.id))).one()


async def test_a_problem_page_shows_its_photos_which_open_and_says_what_could_not_be_kept(
        site: WebHarness) -> None:
    number = await raise_problem(site, "ZD2026-001", "郝芳", "区住建局", "还有12户未签约",
                                 photos=[("telegram", "AgACkept"), ("telegram", "AgACgone"),
                                         ("telegram", "AgACslow")])
    files: dict[str, bytes | Exception] = {
        "AgACkept": photo(61),
        "AgACgone": FetchFailed(GONE_TELEGRAM, "Telegram: Wrong file_id specified", permanent=True),
        "AgACslow": FetchFailed(UNREACHABLE, "Telegram: Timed out")}
    stats = await keeper(site, files).keep_due()
    assert (stats.kept, stats.given_up, stats.failed) == (1, 1, 1)
    kept, _gone, _slow = await problem_photo_ids(site)

    async with site.signed_in("郝芳") as hao:
        async with hao.get(f"/web/problem/{number}") as page:
            html = await page.text()
        assert page.status == 200
        assert f'<a href="{PROBLEM_PHOTOS}/{kept}"><img src="{PROBLEM_PHOTOS}/{kept}/thumb"' in html
        assert "问题照片 1 张正在保存到照片库" in html
        # The channel's own words stay in the log; the page says in Chinese what happened.
        assert "问题照片 1 张未能保存：Telegram 已无法提供这张照片（文件已失效）" in html
        assert "Wrong file_id" not in html
        async with hao.get(f"{PROBLEM_PHOTOS}/{kept}/thumb") as small:
            assert small.status == 200 and small.content_type == "image/jpeg"
            assert (await small.read())[:2] == b"\xff\xd8"
        async with hao.get(f"{PROBLEM_PHOTOS}/{kept}") as enlarged:
            shown = await enlarged.text()
            assert enlarged.status == 200 and f'src="{PROBLEM_PHOTOS}/{kept}/screen"' in shown
            assert f'href="/web/problem/{number}"' in shown and "问题照片" in shown
        async with hao.get(f"{PROBLEM_PHOTOS}/{kept}/file") as full:
            assert full.status == 200 and await full.read() == photo(61)
            assert "immutable" in full.headers["Cache-Control"]
        for missing in (f"{PROBLEM_PHOTOS}/{_gone}/file", f"{PROBLEM_PHOTOS}/99999", f"{PROBLEM_PHOTOS}/x1/thumb"):
            async with hao.get(missing) as response:
                assert response.status == 404, missing

    # The slow one is downloaded at its next attempt: the page shows it too.
    site.core.clock.advance(seconds=30)
    files["AgACslow"] = photo(62)
    assert (await keeper(site, files).keep_due()).kept == 1
    async with site.signed_in("郝芳") as hao:
        async with hao.get(f"/web/problem/{number}") as page:
            html = await page.text()
        assert html.count(f'src="{PROBLEM_PHOTOS}/') == 2 and "正在保存" not in html


async def test_a_problem_raised_with_the_same_photo_twice_flags_the_second(site: WebHarness) -> None:
    """The same picture twice among a problem's photos: the second is 疑似重复照片 of the one sent with it."""
    number = await raise_problem(site, "ZD2026-001", "郝芳", "区住建局", "还有12户未签约",
                                 photos=[("telegram", "AgACone"), ("telegram", "AgACtwo")])
    assert (await keeper(site, {"AgACone": photo(63), "AgACtwo": photo(63)}).keep_due()).kept == 2
    first, second = await problem_photo_ids(site)
    html = await page_as(site, "郝芳", f"/web/problem/{number}")
    assert html.count("疑似重复照片：与同时报送的另一张照片相同") == 1
    assert f'<a href="{PROBLEM_PHOTOS}/{second}" class="repeat">' in html
    assert f'<a href="{PROBLEM_PHOTOS}/{first}"><img' in html


@pytest.mark.parametrize("role", ROLES)
async def test_problem_and_node_photos_answer_by_scope(site: WebHarness, role: str) -> None:
    mine = await raise_problem(site, "ZD2026-001", "郝芳", "区住建局", "还有12户未签约",
                               photos=[("telegram", "AgACmine")])
    theirs = await raise_problem(site, "ZD2026-002", "武杰", "区城管局", "管线迁改未启动",
                                 photos=[("telegram", "AgACtheirs")])
    my_node = await node_photo(site, "ZD2026-001", "AgACnode1")
    their_node = await node_photo(site, "ZD2026-002", "AgACnode2")
    files: dict[str, bytes | Exception] = {"AgACmine": photo(71), "AgACtheirs": photo(72), "AgACnode1": photo(73),
                                           "AgACnode2": photo(74)}
    assert (await keeper(site, files).keep_due()).kept == 4
    mine_photo, theirs_photo = await problem_photo_ids(site)
    expected = {f"{PROBLEM_PHOTOS}/{mine_photo}": ALL, f"{PROBLEM_PHOTOS}/{theirs_photo}": ONLY_TOP,
                f"{NODE_PHOTOS}/{my_node}": ALL, f"{NODE_PHOTOS}/{their_node}": ONLY_TOP}
    async with site.signed_in(ROLE_PEOPLE[role]) as client:
        for page, statuses in expected.items():
            for path in (page, f"{page}/file", f"{page}/thumb", f"{page}/screen"):
                async with client.get(path, allow_redirects=False) as response:
                    body = await response.read()
                    assert response.status == statuses[role], (role, path, response.status)
                    if response.status == 403:
                        assert "无权查看" in body.decode()
        async with client.get(f"{NODE_PHOTOS}/{my_node}") as response:
            assert 'href="/web/project/ZD2026-001"' in await response.text()
        async with client.get(f"/web/problem/{mine}") as response:
            assert f'src="{PROBLEM_PHOTOS}/{mine_photo}/thumb"' in await response.text()
        if role in ("top", "admin"):
            async with client.get(f"/web/problem/{theirs}") as response:
                assert f'src="{PROBLEM_PHOTOS}/{theirs_photo}/thumb"' in await response.text()
    async with site.browser() as stranger:  # not signed in
        for path in (f"{PROBLEM_PHOTOS}/{mine_photo}/file", f"{NODE_PHOTOS}/{my_node}/thumb"):
            async with stranger.get(path, allow_redirects=False) as anonymous:
                assert anonymous.status == 302 and anonymous.headers["Location"].startswith("/web/signin?next=")


async def test_a_node_timeline_gets_its_evidence_photos(site: WebHarness) -> None:
    """What the project page's node timeline calls (bot.web.evidence_photos.of_nodes) and renders."""
    from bot.web.evidence_photos import of_nodes

    photo_id = await node_photo(site, "ZD2026-001", "AgACnode")
    async with site.core.db.session() as session:
        node_id = (await session.get(NodePhoto, photo_id)).node_id  # type: ignore[union-attr]
        before = await of_nodes(session, [node_id])
    assert before[node_id].waiting == 1 and before[node_id].shown == ()
    assert (await keeper(site, {"AgACnode": photo(75)}).keep_due()).kept == 1
    async with site.core.db.session() as session:
        after = await of_nodes(session, [node_id, node_id + 1000])
    assert list(after) == [node_id] and after[node_id].shown == (photo_id,) and after[node_id].count == 1
    template = site.state.renderer.env.from_string(
        '{% from "_photos.html.j2" import photo_strip %}{{ photo_strip(p, "节点照片") }}')
    html = template.render(p=after[node_id])
    assert f'<a href="{NODE_PHOTOS}/{photo_id}"><img src="{NODE_PHOTOS}/{photo_id}/thumb" alt="节点照片"' in html
    async with site.signed_in("郝芳") as hao:  # and the project page shows it under its node
        async with hao.get("/web/project/ZD2026-001") as response:
            page = await response.text()
    node_line = re.search(r'<li class="node[^"]*">(?:(?!</li>).)*桩基完成(?:(?!</li>).)*</li>', page, re.S)
    assert node_line is not None and f'src="{NODE_PHOTOS}/{photo_id}/thumb"' in node_line.group(0)
