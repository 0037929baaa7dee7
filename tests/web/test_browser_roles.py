"""Every page, for every role, in a real browser at a phone's width (375 px): each person signs in from a
chat link and follows every link the navigation and the pages offer. On every page: no server error, no
console error, nothing wider than the screen, only projects, problems and photos in the person's scope
linked, and what users wrote (names, notes, problem texts with markup, ampersands and quotes, long pasted
addresses) shown as written, never as markup. Screenshots of each page go to ``SCREENSHOTS``/roles.

Debian's chromium, as tests/web/test_browser.py launches it (never a downloaded browser).
"""

from __future__ import annotations

from collections import deque
from datetime import date, timedelta
from urllib.parse import unquote, urlsplit

import pytest
from sqlalchemy import select, update

from bot.clock import local_today
from bot.services.photo_keeper import FetchFailed
from bot.services.photo_reasons import GONE_TELEGRAM, UNREACHABLE
from bot.web import access
from storage import nodes as node_repo
from storage import people as people_repo
from storage.models import Project, Unit
from tests.photos.pictures import photo
from tests.web.harness import ROLE_PEOPLE, WebHarness, raise_problem
from tests.web.test_browser import ARGS, CHROMIUM, SCREENSHOTS
from tests.web.test_evidence_photos import keeper

TODAY = date(2026, 11, 20)
HOSTILE_NAME = "城北高速连接线<script>alert(\"名\")</script>&'引号'工程"
LONG_NAME = "龙首新区智能制造产业园配套基础设施及道路管网综合提升改造工程" * 3
HOSTILE_UNIT = "区住建局(城建&\"规划\")"
PASTED = "https://example.gov.cn/a/very/long/address/without/any/space/" + "x" * 120
PROBLEM_TEXT = "<img src=x onerror=alert(2)>拆迁&补偿\"未到位\" " + PASTED
NOTE = "验收<b>通过</b>&'签字'"
MAX_PAGES = 70  # per person: every kind of page first, then as many of the other projects' pages


async def hostile_district(site: WebHarness) -> dict[str, str]:
    """The sample ledger with what users might write in it, reports with photos in every state, a problem, a
    node with evidence; the problem's number."""
    async with site.core.db.session() as session:
        await session.execute(update(Project).where(Project.code == "ZD2026-001")
                              .values(name=HOSTILE_NAME, owner="某某&公司\"集团\"", location="龙首新区"))
        await session.execute(update(Project).where(Project.code == "ZD2026-013").values(name=LONG_NAME))
        await session.execute(update(Unit).where(Unit.name == "区住建局").values(name=HOSTILE_UNIT))
        project = await session.scalar(select(Project).where(Project.code == "ZD2026-001"))
        assert project is not None
        node = await node_repo.add_node(session, project=project, name="桩基<完成>",
                                        planned_on=TODAY - timedelta(days=9), now=site.core.clock.now())
        await node_repo.mark_done(session, node, done_on=TODAY - timedelta(days=2), note=NOTE,
                                  person_id=project.liaison_id, photos=[("telegram", "AgACnode")],
                                  now=site.core.clock.now())
    for back in range(1, 8):
        await site.report("ZD2026-001", TODAY - timedelta(days=back), str(100 * back),
                          f"主体&施工\"第{back}层\" {PASTED}", photos=[f"AgAC{back}"])
        await site.report("ZD2026-013", TODAY - timedelta(days=back), "50", "设备安装")
    await site.report("ZD2026-001", TODAY, "80", "<script>alert(3)</script>今日", photos=["AgACslow", "AgACgone"])
    site.core.clock.advance(seconds=60)
    number = await raise_problem(site, "ZD2026-001", "郝芳", HOSTILE_UNIT, PROBLEM_TEXT,
                                 photos=[("telegram", "AgAC1")])
    files: dict[str, bytes | Exception] = {f"AgAC{back}": photo(90 + back) for back in range(1, 8)}
    files.update({"AgACnode": photo(91), "AgACslow": FetchFailed(UNREACHABLE, "Telegram: Timed out"),
                  "AgACgone": FetchFailed(GONE_TELEGRAM, "Telegram: Wrong file_id specified", permanent=True)})
    await keeper(site, files).keep_due()
    await site.state.standings.compute()
    return {"problem": number}


async def followed(site: WebHarness, name: str) -> frozenset[str] | None:
    """The codes of the projects this person follows (None: all), by the pages' own rule."""
    person = await site.person(name)
    async with site.core.db.session() as session:
        found = await people_repo.get_person(session, person_id=person.id)
        assert found is not None
        viewer = await access.viewer_on(session, found, day=local_today(site.core.clock))
        return await access.visible_codes(session, viewer)


@pytest.mark.parametrize("role", list(ROLE_PEOPLE))
async def test_every_page_every_link_at_a_phones_width(sqlite_site: WebHarness, role: str) -> None:
    site = sqlite_site
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    playwright_api = pytest.importorskip("playwright.async_api")
    made = await hostile_district(site)
    codes = await followed(site, ROLE_PEOPLE[role])
    folder = SCREENSHOTS / "roles"
    folder.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    visited: dict[str, int] = {}
    pictured: set[str] = set()
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = await browser.new_context(viewport={"width": 375, "height": 812})
            page = await context.new_page()
            page.on("console", lambda m: problems.append(f"{page.url} console {m.type}: {m.text}")
                    if m.type == "error" and not m.location.get("url", "").endswith("/favicon.ico") else None)
            page.on("pageerror", lambda e: problems.append(f"{page.url} page error: {e}"))
            page.on("dialog", lambda d: problems.append(f"{page.url} a script ran: {d.message}"))
            response = await page.goto(await site.link(ROLE_PEOPLE[role]))
            assert response is not None and response.status == 200
            queue: deque[str] = deque([urlsplit(page.url).path])
            later: deque[str] = deque()  # the other projects' pages: after every other kind of page
            seen = set(queue)
            while (queue or later) and len(visited) < MAX_PAGES:
                path = (queue or later).popleft()
                response = await page.goto(site.base + path)  # waits for "load": every image has come or failed
                status = response.status if response is not None else 0
                visited[path] = status
                if status >= 400 or status == 0:
                    problems.append(f"{path}: {status}")
                    continue
                if "html" not in (response.headers.get("content-type", "") if response else ""):
                    continue
                wide = await page.evaluate("document.documentElement.scrollWidth")
                if wide > 375:
                    problems.append(f"{path}: {wide} px wide at 375")
                # Only the four weeks' heat map scrolls sideways (by design); anything else wider than its card is cut.
                cut = await page.evaluate(
                    "[...document.querySelectorAll('.card')].filter(c => c.scrollWidth > c.clientWidth + 1)"
                    ".flatMap(c => [...c.children].filter(e => e.scrollWidth > c.clientWidth + 1"
                    " && !e.matches('.heat-wrap')).map(e => e.tagName + ': ' + e.textContent.slice(0, 40)))")
                problems.extend(f"{path}: cut at 375 px: {what}" for what in cut)
                broken = await page.evaluate(
                    "[...document.images].filter(i => i.complete && i.naturalWidth === 0).map(i => i.src)")
                problems.extend(f"{path}: broken image {src}" for src in broken)
                html = await page.content()
                for raw in ("<script>alert", "<img src=x", "<b>通过</b>"):
                    if raw in html:
                        problems.append(f"{path}: unescaped {raw}")
                kind = urlsplit(path).path.split("/")[2] if path.count("/") > 1 else "home"
                if kind not in pictured:  # one picture of each kind of page, to look at
                    pictured.add(kind)
                    name = path.strip("/").replace("/", "_") or "home"
                    await page.screenshot(path=str(folder / f"{role}-{name[:60]}.png"), full_page=True)
                links = await page.eval_on_selector_all("a[href]", "as => as.map(a => a.getAttribute('href'))")
                for href in links:
                    target = urlsplit(href)
                    if target.netloc or not target.path.startswith("/web/") or target.path.startswith("/web/download/"):
                        continue
                    full = target.path + (f"?{target.query}" if target.query else "")
                    code = unquote(target.path.removeprefix("/web/project/"))
                    if target.path.startswith("/web/project/") and codes is not None and code not in codes:
                        problems.append(f"{path}: links {full}, outside {role}'s scope")
                    if full not in seen:
                        seen.add(full)
                        other = target.path.startswith("/web/project/") and code not in ("ZD2026-001", "ZD2026-013")
                        (later if other else queue).append(full)
            await context.close()
        finally:
            await browser.close()
    assert problems == [], "\n".join(problems)
    assert "/web/problems" in visited and "/web/reporting" in visited and "/web/downloads" in visited
    assert f"/web/problem/{made['problem']}" in visited
    assert any(path.startswith("/web/photo/") for path in visited)
    assert any(path.startswith("/web/unit/") for path in visited)
