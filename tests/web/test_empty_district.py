"""A new district: nothing imported yet, no project, no report, no problem. Every page opens and says there is
nothing yet, in Chinese; no page fails on the empty figures (no plan, no ranking, no due day), and none shows a
blank figure without saying why."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from storage.db import Database
from storage.migrate import upgrade
from storage.models import Person, PersonRole
from tests.databases import BACKENDS, fresh_database
from tests.e2e.harness import START
from tests.web.harness import WebHarness, web_harness
from tests.web.test_blank_figures import figure

PAGES = ("/web/", "/web/problems", "/web/units", "/web/towns", "/web/reporting", "/web/downloads",
         "/web/chart/trend.svg", "/web/download/ledger.xlsx", "/web/?screen=1")


@asynccontextmanager
async def empty_database(backend: str, folder: Path) -> AsyncIterator[str]:
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{folder / 'empty.sqlite3'}"
        await asyncio.to_thread(upgrade, url)
        yield url
        return
    async with fresh_database(backend) as db:
        yield db.url


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("role", ["admin", "top"])
async def test_every_page_of_an_empty_district(backend: str, role: str, ledger_template: Path,
                                               tmp_path: Path) -> None:
    async with empty_database(backend, tmp_path) as url:
        db = Database(url)
        try:
            async with db.session() as session:
                session.add(Person(name="王主任", active=True, created_at=START, roles=[PersonRole(role=role)]))
        finally:
            await db.dispose()
        async with web_harness(ledger_template, tmp_path, url=url) as site:
            await check_pages(site)


async def check_pages(site: WebHarness) -> None:
    async with site.signed_in("王主任") as client:
        for path in PAGES:
            async with client.get(path) as response:
                body = await response.read()
                assert response.status in (200, 403), (path, response.status)
                if response.content_type == "text/html":
                    assert "暂无" in body.decode() or "无权查看" in body.decode() or path == "/web/downloads", path
        async with client.get("/web/") as response:
            overview = await response.text()
        assert "暂无可排名项目" in overview and "<td colspan=\"8\">暂无未办结的问题。</td>" in overview
        # no blank figure without its reason, no empty table without a word
        assert figure(overview, "完成率 / 序时进度")[-1] == "尚无项目，台账导入后显示"
        assert figure(overview, "开工率") == ["—", "2026", "年无计划开工的项目，不计"]
        assert figure(overview, "竣工率") == ["—", "2026", "年无计划竣工的项目，不计"]
        assert overview.count('<tr><td colspan="4">暂无。</td></tr>') == 2  # the units' and the towns' rankings
        async with client.get("/web/reporting") as response:
            assert "暂无需要填报的项目。" in await response.text()
