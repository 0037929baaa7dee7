"""A real browser: Debian's chromium driven by Playwright signs in through a link, sees the overview, opens
a project and a photo of its timeline, the problems and the reporting page, with no console error (nothing
blocked by the Content Security Policy, no broken image), and saves screenshots at 375 px and 1920 px wide
into ``SCREENSHOTS`` (``build/screenshots`` unless WEB_SCREENSHOTS names another folder).

Playwright never downloads a browser here: it launches /usr/bin/chromium (``apt-get install chromium``;
``.ci/run`` does it). Without that browser or Playwright the test is skipped, saying so.
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.photos.pictures import photo
from tests.web.harness import ROLE_PEOPLE, WebHarness, raise_problem
from tests.web.test_evidence_photos import keeper

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(os.environ.get("WEB_SCREENSHOTS") or Path(__file__).resolve().parents[2] / "build" / "screenshots")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


async def test_a_browser_signs_in_and_reads_the_pages(sqlite_site: WebHarness) -> None:
    site = sqlite_site
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    playwright_api = pytest.importorskip("playwright.async_api")
    day = date(2026, 11, 20)
    for back, code in enumerate(["ZD2026-001", "ZD2026-016", "ZD2026-031"] * 3):
        await site.report(code, day - timedelta(days=back + 1), str(300 + 50 * back), f"主体施工第{back + 1}层")
    await raise_problem(site, "ZD2026-001", "郝芳", "区住建局", "还有12户未签约,影响红线内施工")
    await site.report("ZD2026-001", day - timedelta(days=12), "200", "桩基完成", photos=["AgACbrowser"])
    assert (await keeper(site, {"AgACbrowser": photo(31)}).keep_due()).kept == 1
    await site.state.standings.compute()  # the overview shows these reports (the refresher would, within a minute)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            for width, height, who in ((375, 812, "郝芳"), (1920, 1080, ROLE_PEOPLE["top"])):
                context = await browser.new_context(viewport={"width": width, "height": height})
                page = await context.new_page()
                page.on("console", lambda m: errors.append(f"{m.type}: {m.text}") if m.type == "error" else None)
                page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
                page.on("requestfailed", lambda r: errors.append(f"failed: {r.url}"))
                await page.goto(await site.link(who))
                await page.wait_for_load_state("networkidle")
                assert await page.title() == "重点项目驾驶舱"
                assert await page.locator("h1").first.inner_text() == f"重点项目总览 截至 {day}，数据截至 10:00"
                assert await page.evaluate("document.querySelector('.chart img').naturalWidth") > 0
                await page.screenshot(path=str(SCREENSHOTS / f"overview-{width}.png"), full_page=width < 1000)
                chips = page.locator(".figure.lights .light")
                assert [t.split()[0] for t in await chips.all_inner_texts()] == ["红灯", "黄灯", "绿灯", "无计划"]
                for box in [await chip.bounding_box() for chip in await chips.all()]:
                    assert box is not None and 0 <= box["x"] and box["x"] + box["width"] <= width  # none cut off
                if width == 1920:
                    await page.goto(f"{site.base}/web/?screen=1")
                    await page.wait_for_load_state("networkidle")
                    await page.screenshot(path=str(SCREENSHOTS / "screen-1920.png"))
                    # The wall screen does not scroll: the ranking starts on it, under a chart of modest height.
                    top = await page.evaluate("[...document.querySelectorAll('h2')].find(h => "
                                              "h.textContent.startsWith('项目排名')).getBoundingClientRect().top")
                    assert top < 700
                    await page.goto(f"{site.base}/web/")
                await page.click("text=ZD2026-001")
                await page.wait_for_load_state("networkidle")
                assert "城北高速连接线" in await page.locator("h1").inner_text()
                assert await page.locator("ol.timeline li").count() >= 3
                assert await page.evaluate("document.querySelector('.chart img').naturalWidth") > 0
                thumb = page.locator(".photos img").first
                assert await thumb.evaluate("img => img.naturalWidth") > 0  # the thumbnail loaded
                await page.screenshot(path=str(SCREENSHOTS / f"project-{width}.png"), full_page=width < 1000)
                await thumb.click()  # the photo opens full size
                await page.wait_for_load_state("networkidle")
                assert "/web/photo/" in page.url
                assert await page.locator("img.photo").evaluate("img => img.naturalWidth") > 0
                for path in ("/web/problems", "/web/reporting", "/web/units"):
                    await page.goto(f"{site.base}{path}")
                    await page.wait_for_load_state("networkidle")
                await context.close()
        finally:
            await browser.close()
    assert errors == []
    assert (SCREENSHOTS / "overview-375.png").stat().st_size > 10_000
