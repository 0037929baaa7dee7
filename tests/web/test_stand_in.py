"""A 包抓领导's stand-in (代理人) on the web pages: while the absent lead's leave runs he sees that lead's projects
and their problems as the chat shows them to him (/issues, /issue), each page saying 「代 X 查看（X 请假至…）」;
from the day after the leave's last day (the clock's today) they are out of his scope again.

周海燕 holds ZD2026-002 (金川镇, led by 区城管局) and is away Wednesday 18 to Friday 20 November with 刘文华 (who holds
ZD2026-001) standing in; it is Friday 20 November, 10:00.
"""

from __future__ import annotations

from datetime import date

import aiohttp

from storage.leaves import add_leave
from tests.web.harness import ROLE_PEOPLE, WebHarness, raise_problem

ABSENT, STAND_IN = "周海燕", ROLE_PEOPLE["lead"]  # 刘文华
LINE = "代 周海燕 查看（周海燕 请假至11月20日）"
HIS_PAGES = ("/web/project/ZD2026-002", "/web/chart/project/ZD2026-002.svg", "/web/unit/区城管局", "/web/town/金川镇")


async def _away(site: WebHarness) -> str:
    """周海燕's leave with 刘文华 standing in, and a problem on her project (its number)."""
    absent, stand_in = await site.person(ABSENT), await site.person(STAND_IN)
    async with site.core.db.session() as session:
        await add_leave(session, person_id=absent.id, substitute_id=stand_in.id, start=date(2026, 11, 18),
                        end=date(2026, 11, 20), now=site.core.clock.now(), actor="test")
    return await raise_problem(site, "ZD2026-002", "武杰", "区城管局", "管线迁改未启动")


async def _page(client: aiohttp.ClientSession, path: str) -> tuple[int, str]:
    async with client.get(path, allow_redirects=False) as response:
        return response.status, await response.text()


async def test_a_stand_in_sees_the_absent_leads_projects_until_the_leave_ends(site: WebHarness) -> None:
    number = await _away(site)
    async with site.signed_in(STAND_IN) as client:
        for path in (*HIS_PAGES, f"/web/problem/{number}"):
            status, _body = await _page(client, path)
            assert status == 200, (path, status)
        for path in ("/web/project/ZD2026-002", f"/web/problem/{number}", "/web/problems", "/web/",
                     "/web/unit/区城管局", "/web/town/金川镇"):
            assert LINE in (await _page(client, path))[1], path
        _status, unit = await _page(client, "/web/unit/区住建局")  # his own ZD2026-001's unit: none of hers
        assert "ZD2026-001" in unit and "代 " not in unit, unit
        _status, listed = await _page(client, "/web/problems")
        assert number in listed and "管线迁改未启动" in listed
        _status, overview = await _page(client, "/web/")
        assert 'href="/web/project/ZD2026-002"' in overview  # among 我的项目, with his own
        _status, own = await _page(client, "/web/project/ZD2026-001")
        assert "代 " not in own  # his own project: he sees it as its 包抓领导
        _status, problem = await _page(client, f"/web/problem/{number}")
        assert 'href="/web/project/ZD2026-002"' in problem
        # The absent lead still sees her own projects, an admin every one: neither is told 代 ….
        for name in (ABSENT, ROLE_PEOPLE["admin"]):
            async with site.signed_in(name) as other:
                for path in ("/web/project/ZD2026-002", f"/web/problem/{number}", "/web/problems", "/web/",
                             "/web/unit/区城管局", "/web/town/金川镇"):
                    status, body = await _page(other, path)
                    assert status == 200 and "代 " not in body, (name, path, status)

        # Friday evening the leave still runs; Saturday morning (the same browser, signed in) it has ended.
        site.core.clock.advance(hours=11)
        assert (await _page(client, "/web/project/ZD2026-002"))[0] == 200
        site.core.clock.advance(hours=11)
        for path in (*HIS_PAGES, f"/web/problem/{number}"):
            status, body = await _page(client, path)
            assert status == 403 and "无权查看" in body, (path, status)
        _status, listed = await _page(client, "/web/problems")
        assert number not in listed and "代 " not in listed
        assert "代 " not in (await _page(client, "/web/project/ZD2026-001"))[1]
