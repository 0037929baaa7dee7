"""On a phone (390 × 844, as leaders open the pages in WeCom or Telegram) the charts come in their phone's
variant, half as wide, so that their words are not shrunk to a third; a desktop gets the wide ones. Debian's
chromium, as tests/web/test_browser.py launches it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from tests.web.harness import ROLE_PEOPLE, WebHarness
from tests.web.test_browser import ARGS, CHROMIUM, SCREENSHOTS


@asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    """Debian's chromium, launched headless (the test skipped where it is not installed)."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    playwright_api = pytest.importorskip("playwright.async_api")
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@asynccontextmanager
async def phone_page() -> AsyncIterator[Any]:
    """A page in chromium as wide and tall as a phone's screen (390 × 844)."""
    async with chromium() as browser:
        context = await browser.new_context(viewport={"width": 390, "height": 844})
        yield await context.new_page()
        await context.close()


async def test_a_phone_gets_the_narrow_charts_and_a_desktop_the_wide_ones(sqlite_site: WebHarness) -> None:
    site = sqlite_site
    folder = SCREENSHOTS / "phone"
    folder.mkdir(parents=True, exist_ok=True)
    async with chromium() as browser:
        for width, height, narrow in ((390, 844, True), (1280, 800, False)):
            context = await browser.new_context(viewport={"width": width, "height": height})
            page = await context.new_page()
            await page.goto(await site.link(ROLE_PEOPLE["lead"]))
            for path in ("/web/", "/web/project/ZD2026-001"):
                await page.goto(site.base + path)
                await page.wait_for_load_state("networkidle")
                chart = page.locator(".chart img")
                await chart.scroll_into_view_if_needed()
                source = await chart.evaluate("img => img.currentSrc")
                drawn = await chart.evaluate("img => img.naturalWidth")
                assert source.endswith("?narrow=1") == narrow, (width, path, source)
                assert (drawn < 400) == narrow and drawn > 300, (width, path, drawn)  # 4 or 8 inches of SVG
                assert await page.evaluate("document.documentElement.scrollWidth") <= width
                await page.screenshot(path=str(folder / f"{path.strip('/').replace('/', '_')}-{width}.png"),
                                      full_page=True)
            await context.close()


async def test_the_heat_maps_names_stay_in_view_while_it_scrolls_on_a_phone(sqlite_site: WebHarness) -> None:
    """填报情况's four weeks are wider than a phone: they scroll sideways, to 填报率 at the end, and each row's
    liaison stays in view meanwhile (else the figures at the end belong to nobody one can see)."""
    site = sqlite_site
    async with phone_page() as page:
        await page.goto(await site.link(ROLE_PEOPLE["top"], "/web/reporting"))
        wrap = page.locator(".heat-wrap")
        assert await wrap.evaluate("w => w.scrollWidth > w.clientWidth")  # it does scroll on a phone
        await wrap.evaluate("w => { w.scrollLeft = w.scrollWidth; }")
        box = await wrap.bounding_box()
        name = await page.locator("table.heat tbody tr th").first.bounding_box()
        rate = await page.locator("table.heat tbody tr td.num").last.bounding_box()
        assert box is not None and name is not None and rate is not None
        assert box["x"] - 1 <= name["x"] and name["x"] + name["width"] <= rate["x"]  # the name, then 填报率
        assert rate["x"] + rate["width"] <= box["x"] + box["width"] + 1


async def test_the_heat_map_opens_on_todays_column_on_a_phone(sqlite_site: WebHarness) -> None:
    """The four weeks are wider than a phone: the heat map opens scrolled to its latest days, today's column in
    view beside the liaisons' names (not under them), rather than at the first week with today off to the right.
    A desktop, where it all fits, does not scroll at all."""
    site = sqlite_site
    async with chromium() as browser:
        for width, height in ((390, 844), (360, 640), (1280, 800)):
            context = await browser.new_context(viewport={"width": width, "height": height})
            page = await context.new_page()
            await page.goto(await site.link(ROLE_PEOPLE["top"], "/web/reporting"))
            await page.wait_for_load_state("load")
            wrap = page.locator(".heat-wrap")
            today = page.locator("table.heat thead th.today")
            assert await today.get_attribute("title") == "2026-11-20"
            assert await today.inner_text() == "20"
            box, day = await wrap.bounding_box(), await today.bounding_box()
            name = await page.locator("table.heat thead th").first.bounding_box()
            assert box is not None and day is not None and name is not None
            scrolled = await wrap.evaluate("w => w.scrollLeft")
            if width < 800:
                assert await wrap.evaluate("w => w.scrollWidth > w.clientWidth") and scrolled > 0, width
            else:
                assert scrolled == 0
            assert name["x"] + name["width"] <= day["x"] + 1, (width, name, day)  # not under the sticky names
            assert day["x"] + day["width"] <= box["x"] + box["width"] + 1, (width, box, day)
            await context.close()


async def test_the_problem_filters_fit_a_phone_with_a_long_unit_name(sqlite_site: WebHarness) -> None:
    """A unit named at length (60 characters, as a 管委会's full name may be) in the 责任单位 filter: the list
    of problems still fits a phone's width, the filter cut to it rather than the page made wider."""
    from sqlalchemy import update

    from storage.models import Unit
    from tests.web.harness import raise_problem

    site = sqlite_site
    long_name = ("龙首新区管理委员会" + "经济发展和重点项目建设服务保障中心" * 3)[:60]
    async with site.core.db.session() as session:
        await session.execute(update(Unit).where(Unit.name == "区住建局").values(name=long_name))
    await raise_problem(site, "ZD2026-001", "郝芳", long_name, "还有12户未签约")
    async with phone_page() as page:
        await page.goto(await site.link(ROLE_PEOPLE["admin"], "/web/problems"))
        assert await page.locator("select[name=unit] option").all_inner_texts() == ["全部", long_name]
        assert await page.evaluate("document.documentElement.scrollWidth") <= 390
        box = await page.locator("select[name=unit]").bounding_box()
        assert box is not None and box["x"] + box["width"] <= 390
        await page.screenshot(path=str(SCREENSHOTS / "problems-long-unit-390.png"), full_page=True)


async def test_a_problem_whose_words_start_with_a_link_fits_a_phone_in_every_list(sqlite_site: WebHarness) -> None:
    """A liaison pastes a link (网盘, a document's address) at the head of a problem: its 60 characters have no
    place to break, yet on a phone every list of problems (总览, 问题, a unit's page) shows them whole in its card
    rather than widen the table and cut them (and the project's name) at the card's edge."""
    from tests.web.harness import raise_problem

    site = sqlite_site
    link = "https://pan.example.gov.cn/s/" + "a1B2c3D4" * 8 + " 征地协议扫描件"
    await raise_problem(site, "ZD2026-001", "郝芳", "区住建局", link)
    async with phone_page() as page:
        await page.goto(await site.link(ROLE_PEOPLE["admin"], "/web/problems"))
        for path in ("/web/problems", "/web/", "/web/unit/%E5%8C%BA%E4%BD%8F%E5%BB%BA%E5%B1%80"):
            await page.goto(site.base + path)
            words = page.locator("td.problem-text", has_text="https://pan.example.gov.cn").first
            card = page.locator("section.card", has=words)
            assert await card.evaluate("c => c.scrollWidth <= c.clientWidth + 1"), path
            box, frame = await words.bounding_box(), await card.bounding_box()
            assert box is not None and frame is not None
            assert box["x"] + box["width"] <= frame["x"] + frame["width"], path
        await page.screenshot(path=str(SCREENSHOTS / "unit-problem-link-390.png"), full_page=True)


async def test_the_ranking_fits_a_phone_with_the_longest_project_code(sqlite_site: WebHarness) -> None:
    """A project code as long as the ledger allows (40 characters, few places to break): the overview's ranking
    still fits its card on a phone, every row's 完成率 in view (the code breaks rather than widen the table)."""
    from sqlalchemy import update

    from storage.models import Project

    site = sqlite_site
    code = "ZD2026-001-ABCDEFGHIJKLMNOPQRSTUVWXYZ012"
    assert len(code) == 40
    async with site.core.db.session() as session:
        await session.execute(update(Project).where(Project.code == "ZD2026-001").values(code=code))
    await site.state.standings.compute()
    async with phone_page() as page:
        await page.goto(await site.link(ROLE_PEOPLE["top"]))
        ranking = page.locator("section.card", has=page.locator("h2", has_text="项目排名"))
        assert await ranking.evaluate("c => c.scrollWidth <= c.clientWidth + 1")
        row = ranking.locator("tr", has=page.locator(f"text={code}"))
        rate = await row.locator("td.num").first.bounding_box()
        assert rate is not None and rate["x"] + rate["width"] <= 390
        await page.screenshot(path=str(SCREENSHOTS / "overview-long-code-390.png"), full_page=True)


# Per row of 今日各单位填报: the width of its 未报项目 cell, and the project codes in it cut across two lines.
REPORTING_ROWS = """() => [...document.querySelectorAll('table.list tbody tr')].map(tr => {
  const [unit, , , missing] = tr.children;
  const cut = [];
  const walker = document.createTreeWalker(missing, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const m of node.textContent.matchAll(/ZD2026-[0-9A-Z-]+/g)) {
      const range = document.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      if (new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top))).size > 1) {
        cut.push(m[0]);
      }
    }
  }
  return {unit: unit.textContent, unitHeight: unit.getBoundingClientRect().height,
          width: missing.getBoundingClientRect().width, cut};
})"""


async def test_reporting_keeps_codes_whole_and_a_long_unit_name_wraps_beside_them_on_a_phone(
        sqlite_site: WebHarness) -> None:
    """填报情况 on a phone: a project code in 未报项目 is never cut at its hyphen ("ZD2026-" on one line, "037"
    on the next), and a unit named at length (60 characters) wraps in a column as wide as a usual name's, the
    未报项目 beside it as wide as when every name is short."""
    from sqlalchemy import update

    from storage.models import Unit

    site = sqlite_site
    long_name = ("龙首新区管理委员会" + "经济发展和重点项目建设服务保障中心" * 3)[:60]
    async with phone_page() as page:
        await page.goto(await site.link(ROLE_PEOPLE["top"], "/web/reporting"))
        usual = await page.evaluate(REPORTING_ROWS)
        assert any(row["unit"] == "区住建局" for row in usual)
        assert all(row["cut"] == [] for row in usual), usual
        async with site.core.db.session() as session:
            await session.execute(update(Unit).where(Unit.name == "区住建局").values(name=long_name))
        await page.reload()
        rows = await page.evaluate(REPORTING_ROWS)
        [named] = [row for row in rows if row["unit"] == long_name]
        assert named["unitHeight"] > 5 * 20  # it wraps, over several lines
        assert all(row["cut"] == [] for row in rows), rows
        assert rows[0]["width"] >= usual[0]["width"] - 2, (usual[0], rows[0])  # the codes keep their room
        assert await page.evaluate("document.documentElement.scrollWidth") <= 390
        await page.screenshot(path=str(SCREENSHOTS / "reporting-long-unit-390.png"), full_page=True)


# Per table cell naming the project: how many lines it takes, whether its code is shown whole and in view, the
# cell's title and the words it shows.
NAMED_CELLS = """code => [...document.querySelectorAll('td')].filter(td => td.textContent.trim().startsWith(code))
  .map(td => {
    const style = getComputedStyle(td), box = td.getBoundingClientRect();
    const height = box.height - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
    const range = document.createRange();
    const walker = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
    const first = walker.nextNode();
    const at = first.textContent.indexOf(code);
    range.setStart(first, at);
    range.setEnd(first, at + code.length);
    const rects = [...range.getClientRects()].filter(r => r.width > 0);
    const named = td.querySelector('[title]');
    return {lines: Math.round(height / parseFloat(getComputedStyle(td.firstElementChild || td).lineHeight)),
            codeLines: new Set(rects.map(r => Math.round(r.top))).size,
            codeShown: rects.length > 0 && rects.every(r => r.bottom <= box.bottom + 1 && r.right <= box.right + 1),
            title: named ? named.title : null};
  })"""


async def test_a_long_project_name_takes_two_lines_on_a_phone_its_code_in_view(sqlite_site: WebHarness) -> None:
    """A project named at length (60 characters, as ledgers name them) reads in two lines wherever a list names
    it on a phone (the ranking, a unit's projects, 我的项目, the problems), its code first and whole; the full
    name is its title and heads the project's page."""
    from sqlalchemy import update

    from storage.models import Project
    from tests.web.harness import raise_problem

    site = sqlite_site
    name = ("城北高速连接线及配套市政道路管网综合提升改造工程" * 3)[:60]
    assert len(name) == 60
    async with site.core.db.session() as session:
        await session.execute(update(Project).where(Project.code == "ZD2026-001").values(name=name))
    await raise_problem(site, "ZD2026-001", "郝芳", "区住建局", "还有12户未签约")
    await site.state.standings.compute()
    unit = "区住建局"
    async with phone_page() as page:
        await page.goto(await site.link(ROLE_PEOPLE["lead"]))
        for path in ("/web/", f"/web/unit/{unit}", "/web/problems"):
            await page.goto(site.base + path)
            await page.wait_for_load_state("networkidle")
            cells = await page.evaluate(NAMED_CELLS, "ZD2026-001")
            assert len(cells) >= (2 if path == "/web/" else 1), (path, cells)  # the ranking and 我的项目
            print(path, cells)
            for cell in cells:
                assert cell["lines"] <= 2 and cell["codeLines"] == 1 and cell["codeShown"], (path, cell)
                assert cell["title"] == f"ZD2026-001 {name}", (path, cell)
            await page.screenshot(path=str(SCREENSHOTS / f"long-name-{path.strip('/').replace('/', '_')}-390.png"),
                                  full_page=True)
        await page.goto(site.base + "/web/project/ZD2026-001")
        assert name in await page.locator("h1").inner_text()


async def test_an_overdue_problem_is_shaded_whole_on_a_phone(sqlite_site: WebHarness) -> None:
    """On a phone a problem's row reads as a short paragraph: an overdue one is shaded as one block, not in
    patches behind each of its words (the cells, laid out as inline boxes, left gaps between them unshaded)."""
    from tests.web.harness import raise_problem

    site = sqlite_site
    await raise_problem(site, "ZD2026-001", "郝芳", "区住建局", "还有12户未签约")
    site.core.clock.advance(days=30)
    async with phone_page() as page:
        await page.goto(await site.link(ROLE_PEOPLE["admin"], "/web/problems"))
        row = page.locator("tr.overdue").first
        shades = await row.evaluate("tr => [getComputedStyle(tr).backgroundColor, "
                                    "...[...tr.children].map(td => getComputedStyle(td).backgroundColor)]")
        assert shades[0] == "rgb(255, 244, 242)", shades  # the row's own block
        assert set(shades[1:]) == {"rgba(0, 0, 0, 0)"}, shades  # not its cells' patches
        await page.screenshot(path=str(SCREENSHOTS / "problems-overdue-390.png"), full_page=True)


# The overview's open problems: the rows shown, the page's height, and the link to all of them (if shown).
PROBLEM_ROWS = """() => {
  const card = document.querySelector('section.problems');
  const rows = [...card.querySelectorAll('tbody tr')];
  const link = card.querySelector('p.more a');
  return {shown: rows.filter(tr => tr.getClientRects().length > 0).map(tr => tr.querySelector('a').textContent),
          height: document.documentElement.scrollHeight,
          link: link && link.getClientRects().length > 0 ? [link.textContent, link.getAttribute('href')] : null};
}"""


async def test_the_overview_names_the_five_most_urgent_problems_on_a_phone(sqlite_site: WebHarness) -> None:
    """32 open problems: a phone's overview lists the five most urgent (the first five of 问题) and links to all
    of them, rather than thirty rows some 4,500 px long; a desktop still lists thirty, and links to all 32."""
    from tests.web.harness import raise_problem

    site = sqlite_site
    for n in range(32):
        await raise_problem(site, "ZD2026-001", "郝芳", "区住建局", f"第{n + 1}个问题：还有12户未签约")
        if n == 20:
            site.core.clock.advance(days=20)  # the first 21 are overdue by then
    async with chromium() as browser:
        for width, height in ((390, 844), (1280, 800)):
            context = await browser.new_context(viewport={"width": width, "height": height})
            page = await context.new_page()
            await page.goto(await site.link(ROLE_PEOPLE["admin"], "/web/problems"))
            urgent = await page.locator("table.stack tbody tr td:first-child a").all_inner_texts()
            await page.goto(site.base + "/web/")
            await page.wait_for_load_state("networkidle")
            shown = await page.evaluate(PROBLEM_ROWS)
            # every row shown, as before: the page's height then
            await page.evaluate("() => document.querySelectorAll('section.problems tbody tr')"
                                ".forEach(tr => { tr.style.display = getComputedStyle(tr).display === 'none' "
                                "? 'block' : tr.style.display; })")
            uncut = await page.evaluate(PROBLEM_ROWS)
            print(f"{width}×{height}: overview {shown['height']} px with {len(shown['shown'])} problems, "
                  f"{uncut['height']} px with {len(uncut['shown'])}")
            assert shown["link"] == ["全部 32 个未办结问题", "/web/problems"]
            if width == 390:
                assert shown["shown"] == urgent[:5], (shown, urgent)
                assert len(uncut["shown"]) == 30
                assert uncut["height"] - shown["height"] > 2500, (shown["height"], uncut["height"])
                assert await page.evaluate("document.documentElement.scrollWidth") <= width
            else:
                assert shown["shown"] == urgent[:30] and shown["height"] == uncut["height"]
            await page.reload()
            await page.screenshot(path=str(SCREENSHOTS / f"overview-32-problems-{width}.png"), full_page=True)
            await context.close()


async def test_the_big_screen_sends_a_phone_to_the_overview_saying_why(sqlite_site: WebHarness) -> None:
    """The 大屏 (?screen=1, made for the office's 1920×1080 wall screen) opened on a phone: 17 px type, the
    ranking cut at the card's edge, the wide chart and a reload every minute. A phone (a touch screen narrower
    than 800 px) is sent to the overview, which says why; a desktop window or a wall display keeps the 大屏,
    however narrow (a browser window beside another, a display mounted upright)."""
    site = sqlite_site
    async with chromium() as browser:
        for width, height, phone, kept in ((390, 844, True, False), (700, 800, False, True), (390, 844, False, True),
                                           (800, 600, False, True), (1920, 1080, False, True)):
            context = await browser.new_context(viewport={"width": width, "height": height}, has_touch=phone,
                                                is_mobile=phone)
            page = await context.new_page()
            await page.goto(await site.link(ROLE_PEOPLE["lead"], "/web/?screen=1"))
            await page.wait_for_load_state("networkidle")
            assert page.url.endswith("/web/?screen=1" if kept else "/web/?from=screen"), (width, phone, page.url)
            body = await page.locator("body").get_attribute("class")
            refresh = await page.locator("meta[http-equiv=refresh]").count()
            note = page.locator("p.note")
            if kept:
                assert body == "page overview screen" and refresh == 1 and await note.count() == 0
            else:
                assert body == "page overview" and refresh == 0
                assert "在手机上为您改为显示总览" in await note.inner_text()
                assert await page.locator("#mine").count() == 1  # his own projects, which the 大屏 leaves out
                chart = page.locator(".chart img")
                assert (await chart.evaluate("img => img.currentSrc")).endswith("?narrow=1")
                assert await page.evaluate("document.documentElement.scrollWidth") <= width
                await page.screenshot(path=str(SCREENSHOTS / "screen-on-a-phone-390.png"))
            await context.close()
