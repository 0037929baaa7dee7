"""The project's page and the /project card of a project whose only reports are 补报 the 项目办 entered: 最近填报
says so (「暂无（仅有项目办补报）」), since the counted money beside it would make 「尚无填报」/「暂无」 read as
"nothing was ever reported"; the 补报 itself is still not its latest report."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from storage.audit import Actor
from storage.backfills import backfill_report
from storage.models import Project
from storage.projects import get_project_and_figures
from tests.web.harness import WebHarness
from tests.web.test_replaced_reports import TODAY

ONLY_BACKFILLED = "暂无（仅有项目办补报）"


async def test_a_project_with_only_backfills_says_so_on_its_page(site: WebHarness) -> None:
    async with site.signed_in("郝芳") as hao, hao.get("/web/project/ZD2026-001") as page:
        before = await page.text()
    assert "<dt>最近填报</dt><dd>尚无填报</dd>" in before
    admin = await site.person("管理员(区重大项目办)")
    async with site.core.db.session() as session:
        project = await session.scalar(select(Project).where(Project.code == "ZD2026-001"))
        assert project is not None
        await backfill_report(
            session, project_id=project.id, project_code=project.code, person_id=admin.id,
            local_day=date(2026, 11, 18), amount=Decimal("40"), progress_text="承台施工", reason="联络员出差",
            channel="telegram", now=site.core.clock.now(),
            actor=Actor(label=admin.name, channel="telegram", person_id=admin.id),
        )
        await session.commit()
    async with site.signed_in("郝芳") as hao, hao.get("/web/project/ZD2026-001") as page:
        text = await page.text()
    assert page.status == 200
    assert f"<dt>最近填报</dt><dd>{ONLY_BACKFILLED}</dd>" in text
    async with site.core.db.session() as session:  # the figures the page and the /project card read
        found = await get_project_and_figures(session, code="ZD2026-001", today=TODAY)
        assert found is not None
        _project, figures = found
        assert figures.last_report is None and figures.backfilled
        assert figures.ytd_done - figures.base == Decimal(40)
