"""A browser still signed in after the person's role changed (another tab, opened before): every page takes
the person as they are now. A liaison whose project went to someone else and who holds no role any more is
refused that project's page, still sees the problem she raised, and the header and the lists say so plainly:
no empty 「（）」 after her name, no bare 「暂无」 where the district has units she may not open."""

from __future__ import annotations

import re

from sqlalchemy import delete, update

from storage.models import PersonRole, Project
from tests.web.harness import WebHarness, raise_problem


def words(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_a_second_tab_after_the_role_was_taken_away(site: WebHarness) -> None:
    number = await raise_problem(site, "ZD2026-001", "郝芳", "区住建局", "还有12户未签约")
    async with site.signed_in("郝芳") as tab:
        async with tab.get("/web/project/ZD2026-001") as response:
            assert response.status == 200 and "郝芳（联络员）" in words(await response.text())
        hao = await site.person("郝芳")
        async with site.core.db.session() as session:  # her project handed over, and no role left
            await session.execute(update(Project).where(Project.liaison_id == hao.id).values(liaison_id=None))
            await session.execute(delete(PersonRole).where(PersonRole.person_id == hao.id))
        async with tab.get("/web/project/ZD2026-001") as response:
            assert response.status == 403
            assert "无权查看" in await response.text()
        async with tab.get(f"/web/problem/{number}") as response:
            assert response.status == 200  # she raised it: hers to follow still
            page = words(await response.text())
        assert " 郝芳 退出 " in page and "（）" not in page
        async with tab.get("/web/units") as response:
            units = words(await response.text())
        assert "您的查看范围内暂无牵头单位，全区排名见 总览 。" in units and "暂无。" not in units
