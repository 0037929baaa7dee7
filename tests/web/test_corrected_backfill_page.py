"""A 补报 corrected afterwards is still a 补报 (``reports.backfill``, kept by the correction): the project's page
marks the version that counts as entered afterwards, as it marked the 补报 before the correction."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from storage.audit import Actor
from storage.backfills import backfill_report
from storage.corrections import correct_report, live_report
from storage.models import Project
from tests.web.harness import WebHarness
from tests.web.test_replaced_reports import TODAY


async def test_a_corrected_backfill_is_still_marked_on_the_projects_page(site: WebHarness) -> None:
    await site.report("ZD2026-001", TODAY, "100", "桩基")
    admin = await site.person("管理员(区重大项目办)")  # a 补报 is stored as the admin's who entered it
    office = Actor(label=admin.name, channel="telegram", person_id=admin.id)
    day = date(2026, 11, 18)
    async with site.core.db.session() as session:
        project = await session.scalar(select(Project).where(Project.code == "ZD2026-001"))
        assert project is not None and project.liaison_id is not None
        await backfill_report(
            session,
            project_id=project.id,
            project_code=project.code,
            person_id=admin.id,
            local_day=day,
            amount=Decimal("40"),
            progress_text="承台施工",
            reason="联络员出差",
            channel="telegram",
            now=site.core.clock.now(),
            actor=office,
        )
        await session.commit()
    async with site.core.db.session() as session:
        old = await live_report(session, project_id=project.id, local_day=day)
        assert old is not None
        await correct_report(
            session,
            old=old,
            amount=Decimal("45"),
            progress_text="承台施工",
            reason="金额有误",
            channel="telegram",
            now=site.core.clock.now(),
            actor=office,
            project_code=project.code,
        )
        await session.commit()
    async with site.signed_in("郝芳") as hao, hao.get("/web/project/ZD2026-001") as page:
        text = await page.text()
    assert page.status == 200
    entries = re.findall(r'<li id="report-\d+">(.*?)</li>', text, re.DOTALL)
    [counted] = [e for e in entries if "2026-11-18" in e and "不计入" not in e]
    assert "（补报，管理员(区重大项目办) 事后录入）" in counted, counted
