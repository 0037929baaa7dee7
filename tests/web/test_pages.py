"""What the pages show: the standings' own figures (one definition with /rank and the bulletins), escaped
user text, the 大屏 mode, the problem filters, the report timeline, charts and downloads."""

from __future__ import annotations

import io
import re
from datetime import date, datetime, timedelta
from html.parser import HTMLParser

from bot.clock import SHANGHAI
from bot.domain.standings import totals as investment_totals
from bot.render import format_pct
from bot.services.standings import current_standings
from tests.web.harness import ROLE_PEOPLE, WebHarness, page_as, pages_as, raise_problem

ADMIN = ROLE_PEOPLE["admin"]


class Scripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.inline_styles = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts.append(dict(attrs))
        if any(name == "style" for name, _ in attrs) or tag == "style":
            self.inline_styles += 1


async def test_the_overview_shows_the_standings_figures(site: WebHarness) -> None:
    await site.report("ZD2026-001", date(2026, 11, 19), "1200", "桩基完成")
    await site.state.standings.compute()  # as the refresher does once it sees the report
    async with site.core.db.session() as session:
        s = await current_standings(session, today=date(2026, 11, 20))
    totals = investment_totals(s.projects)
    page = await page_as(site, ADMIN, "/web/")
    assert f"{format_pct(totals.rate)} / {format_pct(s.schedule)}" in page
    assert f"<span class=\"value\">{len(s.projects)}</span>" in page
    first = s.ranked[0]
    assert f'<a href="/web/project/{first.code}">{first.code}</a> {first.name}' in page
    assert "表扬" in page and "督促" in page and "预警" in page
    assert '<img src="/web/chart/trend.svg"' in page
    # the light counts say which light they count in words, not by colour alone
    chips = re.findall(r'<span class="light (\w+)">([^<]*)</span>', page.split('class="figure lights"')[1])[:4]
    words = {"red": "红灯", "yellow": "黄灯", "green": "绿灯", "none": "无计划"}
    assert chips == [(light, f"{words[light]} {sum(1 for p in s.projects if p.light == light)}")
                     for light in ("red", "yellow", "green", "none")], chips


async def test_the_overview_shows_each_lines_change_since_last_sunday(site: WebHarness) -> None:
    """The ledger entered a month ago (its baseline dated the day before 11/20); ZD2026-001 reports 1,200 today:
    +2.9 points, still 11th. The changes are bot.domain.changes' (the definition /rank and the bulletins use)."""
    from sqlalchemy import update

    from storage.models import Project

    async with site.core.db.session() as session:
        await session.execute(update(Project).values(created_at=site.core.clock.now() - timedelta(days=30)))
    await site.report("ZD2026-001", date(2026, 11, 20), "1200", "桩基完成")
    await site.state.standings.compute()  # the overview shows these (the refresher would, within a minute)
    page = await page_as(site, ADMIN, "/web/")
    assert "<th>名次变化</th><th class=\"wide\">完成率变化（个百分点）</th>" in page
    row = re.search(r'<a href="/web/project/ZD2026-001">ZD2026-001</a>.*?</tr>', page, re.S)
    assert row is not None and "<td class=\"num\">持平</td>" in row.group(0) and ">+2.9</td>" in row.group(0)


async def test_the_overview_lists_the_viewers_own_projects_first(site: WebHarness) -> None:
    """A 包抓领导 opening the pages from his digest finds his projects together, wherever each stands in the
    ranking (which shows only its best and worst 20); those who see every project get no such list."""
    lead = ROLE_PEOPLE["lead"]
    async with site.core.db.session() as session:
        s = await current_standings(session, today=date(2026, 11, 20))
    his = [p.code for p in s.projects if p.lead_official == lead]
    assert len(his) == 9
    page = await page_as(site, lead, "/web/")
    mine = re.search(r'<section class="card mine"[^>]*>(.*?)</section>', page, re.S)
    assert mine is not None and "我的项目 <small>共 9 个</small>" in mine.group(1)
    assert re.findall(r'<a href="/web/project/([^"]+)">', mine.group(1)) == his
    assert page.index('class="card mine"') < page.index("项目排名")
    for who in (ROLE_PEOPLE["top"], ADMIN):
        async with site.signed_in(who) as client:
            async with client.get("/web/") as response:
                assert "我的项目" not in await response.text(), who


async def test_a_project_page_says_its_people_are_deactivated(site: WebHarness) -> None:
    from sqlalchemy import update

    from storage.models import Person

    async with site.core.db.session() as session:
        await session.execute(update(Person).where(Person.name.in_(["刘文华", "郝芳"])).values(active=False))
    page = await page_as(site, ADMIN, "/web/project/ZD2026-001")
    assert "<dd>刘文华（副区长(城建)）（已停用，待项目办移交）</dd>" in page
    assert "<dd>郝芳（已停用，待项目办移交）</dd>" in page


async def test_no_script_without_a_nonce_and_no_inline_style(site: WebHarness) -> None:
    async with site.signed_in(ADMIN) as client:
        for path in ("/web/", "/web/?screen=1", "/web/project/ZD2026-001", "/web/reporting", "/web/tg"):
            async with client.get(path) as response:
                csp = response.headers["Content-Security-Policy"]
                parser = Scripts()
                parser.feed(await response.text())
            nonce = re.search(r"'nonce-([^']+)'", csp)
            assert nonce is not None
            assert all(s.get("nonce") == nonce.group(1) and s.get("src", "").startswith("/web/static/")
                       for s in parser.scripts), path
            assert parser.inline_styles == 0, path


async def test_what_users_wrote_is_escaped(site: WebHarness) -> None:
    await site.report("ZD2026-001", date(2026, 11, 19), "800", "<script>alert(1)</script>主体&封顶")
    number = await raise_problem(site, "ZD2026-001", "郝芳", "区住建局", "<img src=x onerror=alert(2)>拆迁")
    page, problem = await pages_as(site, "郝芳", "/web/project/ZD2026-001", f"/web/problem/{number}")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;主体&amp;封顶" in page and "<script>alert" not in page
    assert "&lt;img src=x onerror=alert(2)&gt;拆迁" in problem and "<img src=x" not in problem


async def test_a_problems_page_says_where_it_went_up_and_why(site: WebHarness) -> None:
    """The timeline names the level a problem went up to and why, as the chat's card does (a leader reading
    the page should not see a bare 上报), and the 受理时限 while the unit has not taken it up."""
    from datetime import datetime

    from bot.clock import SHANGHAI
    from jobs import escalation

    number = await raise_problem(site, "ZD2026-001", "郝芳", "区住建局", "还有12户未签约")
    page = await page_as(site, "刘文华", f"/web/problem/{number}")
    assert "<dt>受理时限</dt><dd>2026-11-23 17:30</dd>" in page
    site.core.clock.set(datetime(2026, 11, 23, 18, 0, tzinfo=SHANGHAI))
    assert (await escalation.run(site.core.db, site.core.clock, site.core.deps.renderer)).actions
    async with site.signed_in("刘文华") as client:  # days later: a new sign-in link
        async with client.get(f"/web/problem/{number}") as response:
            page = await response.text()
    assert "上报至包抓领导（未按时受理）" in page
    assert "受理时限" not in page  # now it is his, against the 办结时限


async def test_the_project_page_has_the_timeline_problems_and_people(site: WebHarness) -> None:
    await site.report("ZD2026-001", date(2026, 11, 18), "500", "桩基完成40%")
    await site.report("ZD2026-001", date(2026, 11, 19), "700", "桩基完成60%")
    number = await raise_problem(site, "ZD2026-001", "郝芳", "区住建局", "还有12户未签约")
    async with site.signed_in("刘文华") as client:
        async with client.get("/web/project/ZD2026-001") as response:
            page = await response.text()
        async with client.get("/web/chart/project/ZD2026-001.svg") as response:
            assert response.content_type == "image/svg+xml"
            assert (await response.read()).lstrip().startswith(b"<?xml")
    assert page.index("2026-11-19") < page.index("2026-11-18")  # newest first
    assert "桩基完成60%" in page and "700.0 万元" in page
    assert number in page and "还有12户未签约" in page
    assert "刘文华" in page and "赵芳" in page and "郝芳" in page  # lead official, unit handler, liaison
    assert "区工信局、区发改局、城北街道" in page


async def test_problem_filters(site: WebHarness) -> None:
    first = await raise_problem(site, "ZD2026-001", "郝芳", "区住建局", "用地未落实", category="用地")
    second = await raise_problem(site, "ZD2026-002", "武杰", "区城管局", "资金未到位", category="资金")
    async with site.signed_in(ADMIN) as client:
        async with client.get("/web/problems", params={"category": "资金"}) as response:
            page = await response.text()
        assert second in page and first not in page
        # The unit filter still offers every unit with open problems, not only those of the 资金 ones.
        assert "<option>区住建局</option>" in page
        async with client.get("/web/problems", params={"unit": "区住建局"}) as response:
            page = await response.text()
        assert first in page and second not in page
        async with client.get("/web/problems", params={"overdue": "1"}) as response:
            assert first not in await response.text()  # nothing is overdue yet
        async with client.get("/web/problems", params={"level": "3"}) as response:
            assert first not in await response.text()
    site.core.clock.advance(days=30)  # type: ignore[attr-defined]
    async with site.signed_in(ADMIN) as client:
        async with client.get("/web/problems", params={"overdue": "1"}) as response:
            page = await response.text()
        assert first in page and second in page and "已超期" in page


async def test_the_problem_lists_say_what_each_problem_is(site: WebHarness) -> None:
    """A leader scanning the lists reads each problem's words (its start, as the chat's notices give it), and
    an empty list says whether nothing is open or nothing matches the filters."""
    long_text = "征地拆迁：" + "红线内还有12户未签约，" * 8
    number = await raise_problem(site, "ZD2026-001", "郝芳", "区住建局", long_text, category="征地拆迁")
    async with site.signed_in(ROLE_PEOPLE["lead"]) as client:
        for path in ("/web/problems", "/web/", "/web/unit/区住建局"):
            async with client.get(path) as response:
                page = await response.text()
            row = re.search(rf"<tr[^>]*>\s*<td><a href=\"/web/problem/{number}\">(?:(?!</tr>).)*</tr>", page, re.S)
            assert row is not None and long_text[:59] + "…" in row.group(0), path
        async with client.get("/web/problems", params={"category": "资金"}) as response:
            assert "没有符合筛选条件的未办结问题。" in await response.text()
    async with site.signed_in("武杰") as other:  # ZD2026-002's liaison: nothing open he may see
        async with other.get("/web/problems") as response:
            page = await response.text()
        assert "暂无未办结的问题。" in page and number not in page and "红线内" not in page


async def test_the_big_screen_refreshes_itself(site: WebHarness) -> None:
    async with site.signed_in(ROLE_PEOPLE["top"]) as client:
        async with client.get("/web/", params={"screen": "1"}) as response:
            page = await response.text()
        assert '<meta http-equiv="refresh" content="60">' in page and 'class="page overview screen"' in page
        async with client.get("/web/") as response:
            assert 'http-equiv="refresh"' not in await response.text()


async def test_reporting_today_and_the_heat_map(site: WebHarness) -> None:
    await site.report("ZD2026-001", date(2026, 11, 20), "100", "今日")
    page = await page_as(site, ADMIN, "/web/reporting")
    assert "近四周填报热力图" in page
    row = re.search(r"<tr[^>]*><td class=\"unit\"><div>区住建局</div></td>"
                    r"<td class=\"num\">(\d+)</td><td class=\"num\">(\d+)</td>", page)
    assert row is not None and int(row.group(2)) >= 1  # ZD2026-001 reported today
    assert "<th>逐周填报率</th>" not in page and ">逐周填报率</th><th>填报率</th>" in page  # bot.domain.participation
    # 10:00 on the district's first day (the ledger imported this morning): today is not over, so nobody has
    # missed it yet: 待填报, not red, and no 填报率 yet (not 0.0 %); ZD2026-001's report shows as sent
    assert '<td class="cell ok"' in page and '<td class="cell wait" title="待填报"' in page
    assert '<td class="cell miss"' not in page and ">0.0%<" not in page
    assert "ZD2026-002</span>（" in page  # today's missing projects are still listed: who has not reported yet

    site.core.clock.set(datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI))  # Monday: Friday is over
    page = await page_as(site, ADMIN, "/web/reporting")
    assert '<td class="cell ok"' in page and '<td class="cell miss"' in page and ">0.0%<" in page


def heat_rows(page: str) -> dict[str, list[str]]:
    """The heat map's rows: liaison → the class of each day's cell, oldest first."""
    heat = re.search(r'<section class="card" id="heat">.*?</section>', page, re.S)
    assert heat is not None
    return {name: re.findall(r'<td class="cell (\w+)"', cells)
            for name, cells in re.findall(r'<tr><th title="[^"]*">([^<]+)</th>(.*?)</tr>', heat.group(0))}


async def test_the_days_before_the_ledger_came_in_are_marked_so_not_as_rest_days(site: WebHarness) -> None:
    """The sample ledger was imported this morning (Friday 11-20): the four weeks before owed nothing, yet they were
    no holidays nor leave either. Their cells say 录入台账前 rather than the grey of 无需填报 (节假日、请假、已竣工),
    the legend says what they are, and 填报率 still counts none of them; the weekend after the import is rest."""
    page = await page_as(site, ADMIN, "/web/reporting")
    assert '<span class="cell before"></span> 录入台账前' in page
    rows = heat_rows(page)
    assert len(rows) > 10
    for name, cells in rows.items():
        assert len(cells) == 26 and cells[:-1] == ["before"] * 25 and cells[-1] == "wait", (name, cells)
    assert '<td class="cell before" title="录入台账前">' in page and ">0.0%<" not in page

    site.core.clock.set(datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI))  # Tuesday: Friday and Monday are over
    rows = heat_rows(await page_as(site, ADMIN, "/web/reporting"))
    for name, cells in rows.items():  # weeks from Monday 11-02: 11-20 is day 18, the weekend 19-20, today 22
        assert cells[:18] == ["before"] * 18 and cells[18:] == ["miss", "off", "off", "miss", "wait"], (name, cells)


async def test_the_ledger_download_is_the_export(site: WebHarness) -> None:
    async with site.signed_in(ADMIN) as client:
        async with client.get("/web/download/ledger.xlsx") as response:
            assert response.status == 200
            assert "attachment" in response.headers["Content-Disposition"]
            data = await response.read()
    assert data[:2] == b"PK"  # an xlsx (zip)
    from openpyxl import load_workbook

    sheets = load_workbook(io.BytesIO(data), read_only=True).sheetnames
    assert sheets == ["项目台账", "单位排名", "乡镇排名", "问题清单", "重点项目包抓责任分解表", "人员名单",
                      "项目节点计划", "阶段记录"]  # the sheets /export has


async def test_the_latest_bulletins_download_for_leaders_only(site: WebHarness) -> None:
    from storage.models import Bulletin

    folder = site.state.settings.data_dir / "bulletins" / "weekly" / "2026-W46"
    folder.mkdir(parents=True)
    (folder / "ranking.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 100)
    async with site.core.db.session() as session:
        session.add(Bulletin(kind="weekly", period="2026-W46", produced_at=site.core.clock.now(), summary={}))
    url = "/web/download/bulletin/weekly/2026-W46/ranking.png"
    async with site.signed_in("刘文华") as client:
        async with client.get("/web/downloads") as response:
            assert url in await response.text()
        async with client.get(url) as response:
            assert response.status == 200 and (await response.read()).startswith(b"\x89PNG")
        for bad in ("/web/download/bulletin/weekly/2026-W46/..%2F..%2F..%2Fetc%2Fpasswd",
                    "/web/download/bulletin/weekly/2026-W45/ranking.png"):
            async with client.get(bad) as response:
                assert response.status == 404, bad
    async with site.signed_in("郝芳") as client:
        async with client.get(url) as response:
            assert response.status == 403


async def test_a_unit_page_shows_a_dash_for_a_project_that_owes_no_report(site: WebHarness) -> None:
    """A 竣工 project owes no reports (bot.domain.duties.report_due): its 本周填报 reads as a dash, as in the
    half-monthly document, not 0/0; a project still being built shows the days reported of those due."""
    from sqlalchemy import update

    from storage.models import Project

    async with site.core.db.session() as session:
        await session.execute(update(Project).values(created_at=site.core.clock.now() - timedelta(days=30)))
        await session.execute(update(Project).where(Project.code == "ZD2026-001").values(stage="竣工"))
    await site.state.standings.compute()
    async with site.core.db.session() as session:
        s = await current_standings(session, today=date(2026, 11, 20))
    done = next(p for p in s.projects if p.code == "ZD2026-001")
    building = next(p for p in s.projects if p.lead_unit == done.lead_unit and p.stage == "在建")
    assert done.working_days == 0 and building.working_days > 0
    page = await page_as(site, ADMIN, f"/web/unit/{done.lead_unit}")

    def cell(code: str) -> str:
        row = re.search(rf'<a href="/web/project/{code}">{code}</a>.*?</tr>', page, re.S)
        assert row is not None, code
        found = re.search(r'data-label="本周填报">([^<]*)</td>', row.group(0))
        assert found is not None
        return found.group(1)

    assert cell("ZD2026-001") == "—"
    assert cell(building.code) == f"{building.reported_days}/{building.working_days}"
    assert "0/0" not in page


async def test_a_unit_page_says_a_unit_with_nothing_to_score_is_not_ranked(site: WebHarness) -> None:
    """As /rank says it in the chat (本期无可计分数据，不参与…排名), not 第 — 名."""
    from sqlalchemy import delete, func, select, update

    from storage.models import AnnualPlan, Project, ProjectNode, Unit

    async with site.core.db.session() as session:
        unit_id, name = (await session.execute(
            select(Unit.id, Unit.name).join(Project, Project.lead_unit_id == Unit.id).group_by(Unit.id, Unit.name)
            .order_by(func.count(Project.id), Unit.name).limit(1))).one()
        projects = select(Project.id).where(Project.lead_unit_id == unit_id)
        await session.execute(delete(AnnualPlan).where(AnnualPlan.project_id.in_(projects)))
        await session.execute(delete(ProjectNode).where(ProjectNode.project_id.in_(projects)))
        await session.execute(update(Project).where(Project.lead_unit_id == unit_id)
                              .values(stage="竣工", baseline_year=2025))
    await site.state.standings.compute()
    async with site.core.db.session() as session:
        s = await current_standings(session, today=date(2026, 11, 20))
    assert next(g for g in s.units if g.name == name).rank is None
    ranked = next(g for g in s.units if g.rank is not None)
    idle, scored = await pages_as(site, ADMIN, f"/web/unit/{name}", f"/web/unit/{ranked.name}")

    header = re.search(r"<h1>.*?</h1>", idle, re.S)
    assert header is not None and "本期无可计分数据，不参与排名" in header.group(0), header
    assert "第 — 名" not in idle and "第 None 名" not in idle
    assert f"第 {ranked.rank} 名" in scored


async def test_what_users_wrote_on_several_lines_is_shown_on_them(site: WebHarness) -> None:
    """A report's paragraph of 下步计划 and a problem in paragraphs keep their lines on the pages (pre-line)."""
    await site.report("ZD2026-001", date(2026, 11, 19), "800", "主体封顶\n下步计划：\n1. 幕墙招标")
    number = await raise_problem(site, "ZD2026-001", "郝芳", "区住建局", "一、还有12户未签约；\n二、坟墓未迁移。")
    page, problem, css = await pages_as(site, "郝芳", "/web/project/ZD2026-001", f"/web/problem/{number}",
                                        "/web/static/app.css")
    assert '<span class="typed">主体封顶\n下步计划：\n1. 幕墙招标</span>' in page
    assert '<p class="typed">一、还有12户未签约；\n二、坟墓未迁移。</p>' in problem
    assert re.search(r"\.typed \{ white-space: pre-line; \}", css)
