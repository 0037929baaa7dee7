"""A photo of a report that no longer counts (replaced by a corrected report of the same day, or withdrawn with
/undo) says so on its page and links the day's version that counts; on the project's page its thumbnails are
marked as such, and the project's figures count the counting version only."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from storage.audit import Actor
from storage.backfills import backfill_report
from storage.models import Project, Report, ReportPhoto
from storage.reports import add_report
from tests.photos.pictures import photo
from tests.web.harness import WebHarness
from tests.web.test_evidence_photos import keeper

TODAY = date(2026, 11, 20)
YTD = re.compile(r'年度累计完成（万元）</span><span class="value">([^<]+)</span>')


async def _ids(site: WebHarness, table: type[Report] | type[ReportPhoto]) -> list[int]:
    async with site.core.db.session() as session:
        return list((await session.scalars(select(table.id).order_by(table.id))).all())


async def _ytd(site: WebHarness, browser: object) -> Decimal:
    async with browser.get("/web/project/ZD2026-001") as page:  # type: ignore[attr-defined]
        text = await page.text()
    [value] = YTD.findall(text)
    return Decimal(value.replace(",", ""))


async def test_a_replaced_reports_photo_says_it_does_not_count_and_links_the_version_that_does(
        site: WebHarness) -> None:
    async with site.signed_in("郝芳") as hao:
        before = await _ytd(site, hao)
        await site.report("ZD2026-001", TODAY, "100", "桩基", photos=["AgACold-1", "AgACold-2"])
        [first] = await _ids(site, Report)
        async with site.core.db.session() as session:  # the liaison corrects the day's report
            project = await session.scalar(select(Project).where(Project.code == "ZD2026-001"))
            assert project is not None and project.liaison_id is not None
            await add_report(session, project_id=project.id, person_id=project.liaison_id, local_day=TODAY,
                             amount=Decimal("30"), progress_text="桩基（更正）", photos=["AgACnew-1"],
                             channel="telegram", now=site.core.clock.now(), actor=Actor(label="test", channel="cli"),
                             project_code="ZD2026-001", replaces=first)
        store = keeper(site, {"AgACold-1": photo(70), "AgACold-2": photo(71), "AgACnew-1": photo(72)})
        assert (await store.keep_due()).kept == 3
        old_1, old_2, new_1 = await _ids(site, ReportPhoto)

        async with hao.get(f"/web/photo/{old_2}") as page:
            text = await page.text()
        assert page.status == 200
        assert "这张照片所属的填报已被更正" in text and "这一版本不计入统计" in text
        assert f'href="/web/photo/{new_1}">查看有效版本的现场照片</a>' in text
        assert "第 2 张，共 2 张" in text and f'href="/web/photo/{old_1}"' in text  # the rest of the page as before
        async with hao.get(f"/web/photo/{new_1}") as page:
            assert page.status == 200 and "不计入统计" not in await page.text()

        async with hao.get("/web/project/ZD2026-001") as page:
            project_page = await page.text()
        withdrawn = project_page.split(f'<li id="report-{first}" class="withdrawn">')[1].split("</li>")[0]
        assert withdrawn.count('alt="现场照片（不计入的版本）"') == 2
        counting = project_page.split(f'<li id="report-{first + 1}">')[1].split("</li>")[0]
        assert counting.count('alt="现场照片"') == 1
        assert await _ytd(site, hao) == before + 30  # the replaced 100 is not counted

        async with site.core.db.session() as session:  # /undo of the corrected report: none counts that day
            (await session.get(Report, first + 1)).withdrawn_at = site.core.clock.now()  # type: ignore[union-attr]
        async with hao.get(f"/web/photo/{new_1}") as page:
            text = await page.text()
        assert "这张照片所属的填报已撤回" in text and "2026-11-20 目前没有计入统计的填报" in text
        async with hao.get(f"/web/photo/{old_1}") as page:
            text = await page.text()
        assert "已被更正" in text and "目前没有计入统计的填报" in text
        assert await _ytd(site, hao) == before


async def test_an_admins_correction_sends_the_old_versions_photo_to_the_corrected_ones(site: WebHarness) -> None:
    from storage.corrections import correct_report, live_report

    await site.report("ZD2026-001", TODAY, "100", "桩基", photos=["AgACadmin-1"])
    assert (await keeper(site, {"AgACadmin-1": photo(73)}).keep_due()).kept == 1
    async with site.core.db.session() as session:
        project = await session.scalar(select(Project).where(Project.code == "ZD2026-001"))
        assert project is not None
        old = await live_report(session, project_id=project.id, local_day=TODAY)
        assert old is not None
        await correct_report(session, old=old, amount=Decimal("10"), progress_text="桩基", reason="金额填错",
                             channel="cli", now=site.core.clock.now(), actor=Actor(label="test", channel="cli"),
                             project_code="ZD2026-001")
    before, after = await _ids(site, ReportPhoto)  # the photo goes with the corrected version
    async with site.signed_in("管理员(区重大项目办)") as admin:
        async with admin.get(f"/web/photo/{before}") as page:
            text = await page.text()
        assert "这张照片所属的填报已被更正" in text and f'href="/web/photo/{after}">查看有效版本的现场照片</a>' in text
        async with admin.get(f"/web/photo/{after}") as page:
            assert "不计入统计" not in await page.text()


async def test_a_report_entered_afterwards_is_marked_on_the_projects_page(site: WebHarness) -> None:
    """补报 (storage.backfills): the timeline names it and who entered it; an ordinary report is not marked."""
    await site.report("ZD2026-001", TODAY, "100", "桩基")
    admin = await site.person("管理员(区重大项目办)")  # a 补报 is stored as the admin's who entered it
    async with site.core.db.session() as session:
        project = await session.scalar(select(Project).where(Project.code == "ZD2026-001"))
        assert project is not None
        await backfill_report(session, project_id=project.id, project_code=project.code,
                              person_id=admin.id, local_day=date(2026, 11, 18), amount=Decimal("40"),
                              progress_text="承台施工", reason="联络员出差", channel="telegram",
                              now=site.core.clock.now(), actor=Actor(admin.name, "telegram", admin.id))
        await session.commit()
    async with site.signed_in("郝芳") as hao, hao.get("/web/project/ZD2026-001") as page:
        text = await page.text()
    assert page.status == 200
    [entry] = re.findall(r'<li id="report-\d+">(.*?)</li>', text, re.DOTALL)[1:2]
    assert "2026-11-18" in entry and "（补报，管理员(区重大项目办) 事后录入）" in entry, entry
    assert text.count("补报") == 1, text
