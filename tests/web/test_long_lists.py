"""Long lists a page at a time: a town with a hundred and more projects, and the open problems, are listed a
page at a time (a town's projects and the 问题 page's problems fifty, a town's problems twenty) under the
figures of all of them, the light, the order and the filters chosen kept from page to page
(bot.web.listing on the rule of bot.domain.paging)."""

from __future__ import annotations

import re
from datetime import date
from html import unescape

from bot.domain.standings import ProjectStanding, totals
from bot.render import format_pct, wan_or_dash
from bot.services.standings import current_standings
from bot.web.listing import page_address, paged
from bot.web.pages.groups import arranged
from tests.web.harness import ROLE_PEOPLE, WebHarness, add_projects, page_as, pages_as, raise_problem

ADMIN = ROLE_PEOPLE["admin"]
TOWN = "河西镇"
LISTED = re.compile(r'<a href="/web/project/([^"]+)">')


def listed(page: str, section: str) -> list[str]:
    """The project codes linked in the page's section with this id."""
    part = re.search(rf'<section class="card" id="{section}">(.*?)</section>', page, re.S)
    assert part is not None, section
    return LISTED.findall(part.group(1))


def links(page: str, rel: str) -> list[str]:
    return [unescape(href) for href in re.findall(rf'<a rel="{rel}" href="([^"]+)">', page)]


async def town_standings(site: WebHarness) -> list[ProjectStanding]:
    await site.state.standings.compute()
    async with site.core.db.session() as session:
        s = await current_standings(session, today=date(2026, 11, 20))
    return [p for p in s.projects if p.town == TOWN]


async def test_a_crowded_towns_projects_come_fifty_to_a_page_under_the_whole_towns_figures(site: WebHarness) -> None:
    await add_projects(site, like="ZD2026-001", count=112, location=TOWN)
    town = await town_standings(site)
    assert len(town) == 120
    first, third = await pages_as(site, ADMIN, f"/web/town/{TOWN}", f"/web/town/{TOWN}?page=3")
    assert listed(first, "projects") == [p.code for p in town[:50]]  # the standings' order
    assert listed(third, "projects") == [p.code for p in town[100:]]
    whole = totals(town)
    for page in (first, third):  # the town's figures, not the page's
        assert "项目 <small>共 120 个</small>" in page
        assert (f"年度计划投资 {wan_or_dash(whole.plan)} 万元，年度累计完成 {wan_or_dash(whole.done)} 万元，"
                f"完成率 {format_pct(whole.rate)}") in page
        for light in ("red", "yellow", "green"):
            count = sum(1 for p in town if p.light == light)
            assert re.search(rf'<a class="light {light}[^"]*" href="[^"]*">\w+ {count}</a>', page), light
    assert "第 1 / 3 页，共 120 个" in first and links(first, "next") == ["?page=2#projects"]
    assert '<select name="order">' in first  # another order offered: it fits no page
    small = await page_as(site, ADMIN, "/web/town/城北街道")
    assert "项目 <small>共 5 个</small>" in small and '<select name="order">' not in small
    assert links(first, "prev") == [] and links(third, "next") == [] and links(third, "prev") == ["?page=2#projects"]


async def test_the_light_and_the_order_chosen_stay_from_page_to_page(site: WebHarness) -> None:
    await add_projects(site, like="ZD2026-001", count=160, location=TOWN)
    town = await town_standings(site)
    red = [p for p in town if p.light == "red" and p.rank is not None][::-1]  # the worst first
    assert len(red) > 50, len(red)
    path = f"/web/town/{TOWN}?light=red&order=behind"
    first = await page_as(site, ADMIN, path)
    assert listed(first, "projects") == [p.code for p in red[:50]]
    [following] = links(first, "next")
    assert following == "?light=red&order=behind&page=2#projects"
    second = await page_as(site, ADMIN, f"/web/town/{TOWN}{following.split('#')[0]}")
    assert listed(second, "projects") == [p.code for p in red[50:100]]
    assert '<option value="behind" selected>' in second and '<input type="hidden" name="light" value="red">' in second
    assert f"项目 <small>共 {len(town)} 个</small>" in second  # the whole town still counted above the list


async def test_a_towns_problems_page_apart_from_its_projects(site: WebHarness) -> None:
    codes = await add_projects(site, like="ZD2026-001", count=60, location=TOWN)
    await town_standings(site)
    for code in codes[:23]:
        await raise_problem(site, code, "郝芳", "区住建局", f"{code}还有户未签约")
    first = await page_as(site, ADMIN, f"/web/town/{TOWN}?page=2")
    assert "未办结问题 <small>共 23 个，超期的在前</small>" in first
    assert first.count('<td><a href="/web/problem/') == 20
    assert links(first, "next") == ["?page=2&problems=2#problems"]  # the projects' last page: no further
    assert links(first, "prev") == ["?#projects"]
    second = await page_as(site, ADMIN, f"/web/town/{TOWN}?page=2&problems=2")
    assert second.count('<td><a href="/web/problem/') == 3
    assert listed(second, "projects") == listed(first, "projects")  # the projects' page stays where it was


async def test_the_problem_list_pages_with_its_filters(site: WebHarness) -> None:
    """Every open problem can be reached (no longer only the most urgent 200), a page at a time."""
    codes = await add_projects(site, like="ZD2026-001", count=60, location=TOWN)
    for code in codes[:52]:
        await raise_problem(site, code, "郝芳", "区住建局", f"{code}用地未报批", category="用地")
    await raise_problem(site, codes[59], "郝芳", "区住建局", "资金未到位", category="资金")
    first = await page_as(site, ADMIN, "/web/problems?category=用地")
    assert "未办结问题 <small>52 个，超期的在前</small>" in first and "第 1 / 2 页，共 52 个" in first
    [following] = links(first, "next")
    assert following == "?category=%E7%94%A8%E5%9C%B0&page=2"
    second = await page_as(site, ADMIN, "/web/problems" + following)
    assert second.count('<td><a href="/web/problem/') == 2 and "资金未到位" not in second
    assert "<option selected>用地</option>" in second


def test_a_page_address_keeps_the_other_choices_and_drops_the_first_pages_number() -> None:
    query = {"light": "red", "order": "behind", "page": "3", "problems": "2", "unit": ""}
    assert page_address(query, "page", 4, "projects") == "?light=red&order=behind&problems=2&page=4#projects"
    assert page_address(query, "page", 1) == "?light=red&order=behind&problems=2"
    assert page_address(query, "problems", 1, "problems") == "?light=red&order=behind&page=3#problems"
    # a page number past either end, or none at all, gives the first or the last page
    assert paged(list(range(120)), {"page": "99"}, size=50).items == list(range(100, 120))
    assert paged(list(range(120)), {"page": "x"}, size=50).page.number == 1
    assert paged([], {}, size=50).page.pages == 1


def test_the_orders_of_a_groups_projects() -> None:
    def standing(code: str, rank: int | None, light: str, reported: int, due: int) -> ProjectStanding:
        from decimal import Decimal

        return ProjectStanding(code=code, name=code, category=None, stage="在建", town=TOWN, lead_unit="区住建局",
                               lead_official=None, lead_official_id=None, liaison=None, liaison_id=None,
                               annual_plan=Decimal(100), ytd_done=Decimal(0), rate=None, schedule=0.9, gap=None,
                               light=light, last_report_at=None, reported_days=reported, working_days=due,  # type: ignore[arg-type]
                               open_problems=0, rank=rank)

    a, b, c, d = (standing("A", 1, "green", 5, 5), standing("B", 2, "red", 2, 5), standing("C", 3, "red", 5, 5),
                  standing("D", None, "none", 0, 5))
    projects = [a, b, c, d]
    assert arranged(projects, light=None, order="rank") == projects
    assert arranged(projects, light=None, order="behind") == [c, b, a, d]  # the unranked stay last
    assert arranged(projects, light=None, order="unreported") == [d, b, a, c]
    assert arranged(projects, light="red", order="behind") == [c, b]


async def test_a_unit_with_many_projects_pages_them_too(site: WebHarness) -> None:
    await add_projects(site, like="ZD2026-001", count=70)  # the unit of ZD2026-001 leads them
    await site.state.standings.compute()
    async with site.core.db.session() as session:
        s = await current_standings(session, today=date(2026, 11, 20))
    unit = next(p.lead_unit for p in s.projects if p.code == "ZD2026-001")
    theirs = [p.code for p in s.projects if p.lead_unit == unit]
    assert len(theirs) > 70
    first, second = await pages_as(site, ADMIN, f"/web/unit/{unit}", f"/web/unit/{unit}?page=2")
    assert listed(first, "projects") == theirs[:50] and listed(second, "projects") == theirs[50:100]
    assert f"第 1 / 2 页，共 {len(theirs)} 个" in first


async def test_a_leads_own_projects_on_the_overview_come_twenty_at_a_time(site: WebHarness) -> None:
    """A 包抓领导 may hold hundreds of projects: 我的项目 listed them all on the overview (834 of them, 378 KB and
    73,000 px on a phone in the large district); now twenty at a time, counted in full."""
    lead = ROLE_PEOPLE["lead"]
    async with site.core.db.session() as session:
        s = await current_standings(session, today=date(2026, 11, 20))
    one = next(p.code for p in s.projects if p.lead_official == lead)
    await add_projects(site, like=one, count=25)
    await site.state.standings.compute()
    async with site.core.db.session() as session:
        s = await current_standings(session, today=date(2026, 11, 20))
    his = [p.code for p in s.projects if p.lead_official == lead]
    assert len(his) == 34
    first, second = await pages_as(site, lead, "/web/", "/web/?mine=2")
    for page, codes in ((first, his[:20]), (second, his[20:])):
        mine = re.search(r'<section class="card mine" id="mine">(.*?)</section>', page, re.S)
        assert mine is not None and "我的项目 <small>共 34 个</small>" in mine.group(1)
        assert LISTED.findall(mine.group(1)) == codes
    assert links(first, "next") == ["?mine=2#mine"] and links(second, "prev") == ["?#mine"]


async def test_the_reporting_heat_map_comes_fifty_liaisons_at_a_time(site: WebHarness) -> None:
    """2,000 liaisons made 填报情况 a 200 KB page on a phone, and those past the 200th could not be seen at all."""
    from sqlalchemy import update

    from storage.models import Person, Project

    codes = await add_projects(site, like="ZD2026-001", count=60)
    async with site.core.db.session() as session:
        for i, code in enumerate(codes, start=1):
            person = Person(name=f"新联络员{i:02d}", active=True, created_at=site.core.clock.now())
            session.add(person)
            await session.flush()
            await session.execute(update(Project).where(Project.code == code).values(liaison_id=person.id))
    first = await page_as(site, ROLE_PEOPLE["top"], "/web/reporting")
    heat = re.search(r'<section class="card" id="heat">.*?</section>', first, re.S)
    assert heat is not None
    total = int(re.findall(r"共 (\d+) 位，填报率低的在前", heat.group(0))[0])
    assert total > 60
    assert len(re.findall(r"<tr><th title=", heat.group(0))) == 50
    assert f"第 1 / 2 页，共 {total} 位" in heat.group(0) and links(first, "next") == ["?page=2#heat"]
    second = await page_as(site, ROLE_PEOPLE["top"], "/web/reporting?page=2")
    assert len(re.findall(r"<tr><th title=", second)) == total - 50


async def test_todays_units_on_the_reporting_page_come_twenty_at_a_time(site: WebHarness) -> None:
    """80 lead units, each naming ten unreported projects, made 今日各单位填报 some 20,000 px on a phone above the
    heat map; twenty at a time now, the heat map's page kept."""
    from sqlalchemy import update

    from storage.models import Project, Unit

    codes = await add_projects(site, like="ZD2026-001", count=25)
    async with site.core.db.session() as session:
        for i, code in enumerate(codes, start=1):
            unit = Unit(name=f"新单位{i:02d}", created_at=site.core.clock.now())
            session.add(unit)
            await session.flush()
            await session.execute(update(Project).where(Project.code == code).values(lead_unit_id=unit.id))
    first = await page_as(site, ROLE_PEOPLE["top"], "/web/reporting?page=1")
    today = re.search(r'<section class="card" id="today">.*?</section>', first, re.S)
    assert today is not None
    total = int(re.findall(r"共 (\d+) 个单位，未报多的在前", today.group(0))[0])
    assert total > 25
    assert len(re.findall(r'<td class="unit">', today.group(0))) == 20
    assert links(first, "next")[0] == "?page=1&units=2#today"
    second = await page_as(site, ROLE_PEOPLE["top"], "/web/reporting?units=2")
    assert len(re.findall(r'<td class="unit">', second)) == total - 20
    assert '<td class="unit"><div>新单位' in first  # those missing a report today first
