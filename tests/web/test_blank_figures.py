"""A figure a page cannot give (a project with no plan for the year, or a plan of 0; a unit with no problem or
node due) is shown as 「—」 and says why under it, as the chat's card and the bulletins do, never a bare dash
or 「较序时 — 个百分点」."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from urllib.parse import quote

from sqlalchemy import delete, select, update

from bot.clock import SHANGHAI
from storage.models import AnnualPlan, Project, ProjectNode
from tests.web.harness import ROLE_PEOPLE, WebHarness


def figure(page: str, label: str) -> str:
    """The text of the figure card with this label (its value and the line under it), tags stripped."""
    found = re.search(r'<div class="figure[^"]*"><span class="label">' + re.escape(label) + r"</span>(.*?)</div>",
                      page)
    assert found is not None, label
    return re.sub(r"<[^>]+>", " ", found.group(1)).split()


async def without_plan(site: WebHarness, code: str, *, amount: Decimal | None) -> None:
    """The project's plan for the year taken away (None), or set to ``amount``."""
    async with site.core.db.session() as session:
        project_id = await session.scalar(select(Project.id).where(Project.code == code))
        if amount is None:
            await session.execute(delete(AnnualPlan).where(AnnualPlan.project_id == project_id))
            await session.execute(update(Project).where(Project.id == project_id).values(baseline_year=2025))
        else:
            await session.execute(update(AnnualPlan).where(AnnualPlan.project_id == project_id).values(amount=amount))
    await site.state.standings.compute()


async def on_tuesday(site: WebHarness) -> None:
    """The clock at 10:00 on Tuesday 11-24, the week after the ledger's import (Friday 11-20, the projects entered
    that day): Monday is over and owed, so every project still reporting has a 本周填报; the standings recomputed.
    On the import day itself no day of the week is over for them (the day under way counts once it is over)."""
    site.core.clock.set(datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI))
    await site.state.standings.compute()


async def test_a_project_without_a_plan_says_why_it_has_no_completion(site: WebHarness) -> None:
    await without_plan(site, "ZD2026-006", amount=None)
    await without_plan(site, "ZD2026-003", amount=Decimal(0))
    async with site.signed_in(ROLE_PEOPLE["admin"]) as client:
        async with client.get("/web/project/ZD2026-006") as response:
            none = await response.text()
        async with client.get("/web/project/ZD2026-003") as response:
            zero = await response.text()
        async with client.get("/web/project/ZD2026-001") as response:
            planned = await response.text()
    assert figure(none, "2026 年度计划（万元）") == ["—", "尚未录入"]
    assert figure(zero, "2026 年度计划（万元）") == ["0.0"]
    for page in (none, zero):
        assert figure(page, "完成率 / 序时进度")[-1] == "无年度计划，不计完成率、不参与排名"
        assert "较序时 — 个百分点" not in page
    said = figure(planned, "完成率 / 序时进度")
    assert said[-3] == "较序时" and re.fullmatch(r"[+-]\d+\.\d", said[-2]) and said[-1] == "个百分点"


async def test_a_towns_blank_figures_say_why(site: WebHarness) -> None:
    """A town whose one project has no node and no problem: both figures blank, each saying why; its
    investment and reporting, given, have nothing under them."""
    async with site.core.db.session() as session:
        project_id = await session.scalar(select(Project.id).where(Project.code == "ZD2026-004"))
        await session.execute(delete(ProjectNode).where(ProjectNode.project_id == project_id))
        await session.execute(update(Project).where(Project.id == project_id).values(location="新城镇"))
    await site.state.standings.compute()
    async with site.signed_in(ROLE_PEOPLE["admin"]) as client:
        async with client.get(f"/web/town/{quote('新城镇')}") as response:
            assert response.status == 200
            entered_today = await response.text()
    # the import day: the project was entered today, and today counts once it is over: blank, and says why
    # (it read 0.0 % or 100.0 % as the first report came in, the morning's reports moving the town)
    assert figure(entered_today, "填报及时率（本周）") == ["—",
                                                       "本周尚无已过完的应填报日，不计（当天的填报次日起计入）"]
    await on_tuesday(site)
    async with site.signed_in(ROLE_PEOPLE["admin"]) as client:
        async with client.get(f"/web/town/{quote('新城镇')}") as response:
            assert response.status == 200
            page = await response.text()
    assert figure(page, "问题按期办结") == ["—", "本期无到期问题，综合得分按其余各项折算"]
    assert figure(page, "节点按期") == ["—", "本期无到期节点，综合得分按其余各项折算"]
    assert figure(page, "填报及时率（本周）") == ["0.0%"]  # Monday owed, not reported: given, nothing under it
    # the score's investment part is an index against 序时进度, not the completion rate the projects' totals give
    assert figure(page, "投资完成指数")[1:] == ["各项目完成率对照序时进度折算，超序时", "20%", "计满分；不是投资完成率"]


def row_of(page: str, code: str) -> list[str]:
    """The words of the project list's row of this project."""
    row = r"(?:(?!</tr>).)*"
    found = re.search(r'<tr><td data-label="名次">(' + row + re.escape(code) + row + ")</tr>", page)
    assert found is not None, code
    return re.sub(r"<[^>]+>", " ", found.group(1)).split()


async def test_a_unit_pages_dashes_are_explained_under_its_projects(site: WebHarness) -> None:
    """区工信局's projects: ZD2026-021 is finished (竣工), no report due; ZD2026-006 has no plan, no place. Their
    dashes are said under the list; a unit whose projects all have both says nothing."""
    # on Tuesday, Monday over: a project still reporting owes it (on the import day none owed a day yet)
    await on_tuesday(site)
    await without_plan(site, "ZD2026-006", amount=None)
    async with site.signed_in(ROLE_PEOPLE["admin"]) as client:
        async with client.get(f"/web/unit/{quote('区工信局')}") as response:
            page = await response.text()
        async with client.get(f"/web/unit/{quote('区水务局')}") as response:
            plain = await response.text()
    finished, unplanned = row_of(page, "ZD2026-021"), row_of(page, "ZD2026-006")
    assert finished[-1] == "—" and finished[0].isdigit()
    assert unplanned[0] == "—" and unplanned[-1] == "0/1"
    assert ('<p class="muted">名次「—」：无年度计划，不参与排名。本周填报「—」：本周尚无已过完的应填报日'
            "（当天的填报次日起计入；已竣工或投产、逢节假日或请假的日子不计）。</p>") in page
    assert "名次「—」" not in plain and "本周填报「—」" not in plain


async def test_the_unit_list_explains_its_dashes(site: WebHarness) -> None:
    """No problem is due anywhere in the sample ledger (every unit's 问题按期办结 is 「—」), every unit has a node
    due and projects with a plan: the note under the list says the one, not the others."""
    async with site.signed_in(ROLE_PEOPLE["admin"]) as client:
        async with client.get("/web/units") as response:
            entered_today = await response.text()
    # the import day: no day of the week is over for projects entered today, and the note says so too
    assert ('<p class="muted">填报及时率「—」：本周尚无已过完的应填报日（当天的填报次日起计入）；'
            "问题按期办结「—」：本期无到期问题；综合得分按其余各项折算。</p>") in entered_today
    await on_tuesday(site)  # Monday over: every unit has a 填报及时率, and the note says the one blank figure
    async with site.signed_in(ROLE_PEOPLE["admin"]) as client:
        async with client.get("/web/units") as response:
            page = await response.text()
    assert 'data-label="问题按期办结">—</td>' in page
    assert '<p class="muted">问题按期办结「—」：本期无到期问题；综合得分按其余各项折算。</p>' in page


async def test_a_project_never_reported_says_so(site: WebHarness) -> None:
    """最近填报 of a project with no report yet says 尚无填报, not a bare 「—」; one reported gives the moment."""
    await site.report("ZD2026-002", site.core.clock.now().date(), "100")
    async with site.signed_in(ROLE_PEOPLE["admin"]) as client:
        async with client.get("/web/project/ZD2026-001") as response:
            never = await response.text()
        async with client.get("/web/project/ZD2026-002") as response:
            reported = await response.text()
    assert "<dt>最近填报</dt><dd>尚无填报</dd>" in never
    assert "<dt>最近填报</dt><dd>2026-11-20 10:00</dd>" in reported
