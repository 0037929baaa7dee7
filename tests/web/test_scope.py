"""Every page, chart and download × every role: what is out of a person's scope is refused (403), with the
chat's scope rules (bot.domain.scope, through bot.web.access); lists show only what is in scope."""

from __future__ import annotations

import pytest

from tests.web.harness import ROLE_PEOPLE, WebHarness, raise_problem

ROLES = list(ROLE_PEOPLE)
ALL = {role: 200 for role in ROLES}
ONLY_TOP = {"liaison": 403, "unit": 403, "lead": 403, "top": 200, "admin": 200}

# path → expected status per role. 郝芳 (liaison) reports on ZD2026-001; 赵芳 handles 区住建局, which leads
# ZD2026-001 and supports ZD2026-013; 刘文华 holds ZD2026-001 (not -002 or -013, nothing of 区城管局 or 金川镇).
PAGES: dict[str, dict[str, int]] = {
    "/web/": ALL,
    "/web/problems": ALL,
    "/web/units": ALL,
    "/web/towns": ALL,
    "/web/reporting": ALL,
    "/web/downloads": ALL,
    "/web/chart/trend.svg": ALL,
    "/web/project/ZD2026-001": ALL,
    "/web/chart/project/ZD2026-001.svg": ALL,
    "/web/project/ZD2026-002": ONLY_TOP,
    "/web/chart/project/ZD2026-002.svg": ONLY_TOP,
    "/web/project/ZD2026-013": {**ONLY_TOP, "unit": 200},
    "/web/unit/区住建局": ALL,
    "/web/unit/区城管局": ONLY_TOP,
    "/web/town/龙首新区": ALL,
    "/web/town/金川镇": ONLY_TOP,
    "/web/download/ledger.xlsx": {"liaison": 403, "unit": 403, "lead": 403, "top": 403, "admin": 200},
}


@pytest.mark.parametrize("role", ROLES)
async def test_every_page_answers_by_scope(site: WebHarness, role: str) -> None:
    mine = await raise_problem(site, "ZD2026-001", "郝芳", "区住建局", "还有12户未签约")
    theirs = await raise_problem(site, "ZD2026-002", "武杰", "区城管局", "管线迁改未启动")
    # On a project 区住建局 supports, assigned to another unit: 赵芳 sees the project, not the problem.
    supported = await raise_problem(site, "ZD2026-013", "秦娟", "区工信局", "供电线路未接入")
    pages = {**PAGES, f"/web/problem/{mine}": ALL, f"/web/problem/{theirs}": ONLY_TOP,
             f"/web/problem/{supported}": ONLY_TOP}
    async with site.signed_in(ROLE_PEOPLE[role]) as client:
        for path, expected in pages.items():
            async with client.get(path, allow_redirects=False) as response:
                body = await response.read()
                assert response.status == expected[role], (role, path, response.status)
                if response.status == 403:
                    assert "无权查看" in body.decode() and "ZD2026-002 滨江四期" not in body.decode()
        async with client.get("/web/problems") as response:
            listed = await response.text()
        assert mine in listed
        assert (theirs in listed) == (role in ("top", "admin"))
        if role == "unit":
            async with client.get("/web/project/ZD2026-013") as response:
                assert "供电线路未接入" not in await response.text()
        async with client.get("/web/reporting") as response:
            reporting = await response.text()
        assert "郝芳" in reporting  # ZD2026-001's liaison is in every one of these people's scope
        assert ("武杰" in reporting) == (role in ("top", "admin"))


async def test_pages_need_a_session(site: WebHarness) -> None:
    async with site.browser() as client:
        for path in PAGES:
            async with client.get(path, allow_redirects=False) as response:
                assert response.status == 302, path
                assert response.headers["Location"].startswith("/web/signin?next=")


async def test_unknown_things_are_not_found(site: WebHarness) -> None:
    async with site.signed_in(ROLE_PEOPLE["admin"]) as client:
        for path in ("/web/project/ZD1999-999", "/web/problem/W9999", "/web/unit/不存在的单位"):
            async with client.get(path) as response:
                assert response.status == 404, path
                assert "未找到" in await response.text()


@pytest.mark.parametrize(("path", "said"), [
    ("/web/project/ZD1999-999", "未找到该项目"), ("/web/problem/W9999", "未找到该问题"),
    ("/web/unit/不存在的单位", "未找到该牵头单位"), ("/web/town/不存在的乡镇", "未找到该乡镇（街道）"),
    ("/web/download/bulletin/weekly/2026-W01/x.xlsx", "未找到该文件"),
])
async def test_a_page_not_found_names_what_was_looked_for(site: WebHarness, path: str, said: str) -> None:
    async with site.signed_in(ROLE_PEOPLE["admin"]) as client:
        async with client.get(path) as response:
            assert response.status == 404, path
            assert said in await response.text()
        async with client.get("/web/towns") as response:
            assert "<h1>乡镇（街道）排名" in await response.text()


async def test_pages_link_only_what_the_person_may_open(site: WebHarness) -> None:
    """A link that answers 无权查看 is not offered: the overview's units and towns a liaison has no project in
    are named, not linked; a problem on a project its unit's handler does not follow names the project."""
    number = await raise_problem(site, "ZD2026-002", "武杰", "区住建局", "管线迁改需住建局配合")
    async with site.signed_in(ROLE_PEOPLE["liaison"]) as client:
        async with client.get("/web/") as response:
            overview = await response.text()
    assert '<a href="/web/town/%E9%BE%99%E9%A6%96%E6%96%B0%E5%8C%BA">龙首新区</a>' in overview  # ZD2026-001's town
    assert "<td>金川镇</td>" in overview and "/web/town/%E9%87%91%E5%B7%9D%E9%95%87" not in overview
    assert "<td>区城管局</td>" in overview and "/web/unit/%E5%8C%BA%E5%9F%8E%E7%AE%A1%E5%B1%80" not in overview
    async with site.signed_in(ROLE_PEOPLE["unit"]) as client:
        async with client.get(f"/web/problem/{number}") as response:
            page = await response.text()
            assert response.status == 200
        async with client.get("/web/project/ZD2026-002") as response:
            assert response.status == 403
    assert "ZD2026-002 滨江四期" in page and 'href="/web/project/ZD2026-002"' not in page
    async with site.signed_in(ROLE_PEOPLE["admin"]) as client:
        async with client.get(f"/web/problem/{number}") as response:
            assert 'href="/web/project/ZD2026-002"' in await response.text()
