"""The web project page and its chart show the project's milestones (节点): a list (◇ planned, ◆ done, overdue and
late in red words) and diamonds on a timeline under the months, red when behind; both keep the page's scope and
its CSP (no inline style or script). Friday 2026-11-20 on the sample ledger."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from xml.etree import ElementTree

from sqlalchemy import delete, select

from storage.models import Project, ProjectNode
from tests.web.harness import WebHarness
from tests.web.test_pages import Scripts

CREATED = datetime(2026, 1, 5, 1, tzinfo=UTC)
SVG = "{http://www.w3.org/2000/svg}"
RED = "#d62728"


async def add_nodes(site: WebHarness, code: str, *nodes: tuple[str, date, date | None]) -> None:
    """The project's nodes are these (the sample ledger's own set aside)."""
    async with site.core.db.session() as session:
        project_id = await session.scalar(select(Project.id).where(Project.code == code))
        await session.execute(delete(ProjectNode).where(ProjectNode.project_id == project_id))
        for seq, (name, planned, done) in enumerate(nodes):
            session.add(ProjectNode(project_id=project_id, seq=seq, name=name, planned_on=planned, done_on=done,
                                    note="", source="ledger", created_at=CREATED, updated_at=CREATED))


NODES = (("开工", date(2026, 3, 1), date(2026, 2, 27)), ("主体封顶", date(2026, 9, 30), date(2026, 10, 8)),
         ("二次结构", date(2026, 11, 10), None), ("竣工验收", date(2026, 12, 30), None),
         ("去年的节点", date(2025, 12, 1), date(2025, 12, 1)))


async def test_the_project_page_lists_the_nodes(site: WebHarness) -> None:
    await add_nodes(site, "ZD2026-001", *NODES)
    async with site.signed_in("刘文华") as client:
        async with client.get("/web/project/ZD2026-001") as response:
            assert response.status == 200
            page = await response.text()
    section = page.split("<h2>节点计划", 1)[1].split("</section>", 1)[0]
    assert "2026 年到期 3 个，按期完成 1 个，按期率 33.3%" in section
    items = re.findall(r'<li class="node (\w+)"><span class="mark">(.)</span> (\S+) ([^<\s]+)', section)
    assert items == [("done", "◆", "2025-12-01", "去年的节点"), ("done", "◆", "2026-03-01", "开工"),
                     ("late", "◆", "2026-09-30", "主体封顶"), ("overdue", "◇", "2026-11-10", "二次结构"),
                     ("open", "◇", "2026-12-30", "竣工验收")]
    assert '<b class="bad">2026-10-08 完成，逾期 8 天</b>' in section
    assert '<b class="bad">逾期 10 天未完成</b>' in section
    assert 'height="420"' in page  # the chart grew a node strip
    parser = Scripts()
    parser.feed(page)
    assert parser.inline_styles == 0


async def test_the_chart_draws_the_nodes_planned_done_and_red_when_behind(site: WebHarness) -> None:
    await add_nodes(site, "ZD2026-001", *NODES)
    async with site.signed_in("刘文华") as client:
        async with client.get("/web/chart/project/ZD2026-001.svg") as response:
            assert response.content_type == "image/svg+xml"
            body = await response.read()
    svg = ElementTree.fromstring(body)

    groups = {g.get("id"): g for g in svg.iter(f"{SVG}g") if (g.get("id") or "").startswith("node-")}
    assert sorted(groups) == ["node-done-0", "node-late-1", "node-open-3", "node-overdue-2"]  # this year's

    def marker_style(gid: str) -> str:
        return " ".join(u.get("style", "") for u in groups[gid].iter(f"{SVG}use"))

    assert f"stroke: {RED}" in marker_style("node-overdue-2") and f"stroke: {RED}" in marker_style("node-late-1")
    assert f"fill: {RED}" in marker_style("node-late-1")  # done: filled ◆
    assert "fill: #ffffff" in marker_style("node-overdue-2")  # not done: hollow ◇
    assert "fill: #ffffff" in marker_style("node-open-3") and RED not in marker_style("node-open-3")
    assert RED not in marker_style("node-done-0")
    text = body.decode()  # the texts are drawn as paths, each after a comment giving it
    assert "<!-- 二次结构（逾期） -->" in text and "<!-- 竣工验收 -->" in text and "去年的节点" not in text


async def test_a_finished_projects_nodes_not_done_are_closed_not_overdue(site: WebHarness) -> None:
    """A project finished (竣工 on the ledger) with nodes not marked done: the page says so, in no red, the
    chart draws them as planned, and the year's punctuality leaves them out."""
    await add_nodes(site, "ZD2026-001", *NODES)
    async with site.core.db.session() as session:
        project = await session.scalar(select(Project).where(Project.code == "ZD2026-001"))
        assert project is not None
        project.stage = "竣工"
    async with site.signed_in("刘文华") as client:
        async with client.get("/web/project/ZD2026-001") as response:
            page = await response.text()
        async with client.get("/web/chart/project/ZD2026-001.svg") as response:
            body = await response.read()
    section = page.split("<h2>节点计划", 1)[1].split("</section>", 1)[0]
    assert "2026 年到期 2 个，按期完成 1 个，按期率 50.0%" in section
    items = re.findall(r'<li class="node (\w+)"><span class="mark">(.)</span> (\S+) ([^<\s]+)', section)
    assert items[3:] == [("closed", "◇", "2026-11-10", "二次结构"), ("closed", "◇", "2026-12-30", "竣工验收")]
    assert section.count("项目已竣工，未登记完成日期") == 2 and "未完成</b>" not in section
    svg = ElementTree.fromstring(body)
    gids = sorted(g.get("id") for g in svg.iter(f"{SVG}g") if (g.get("id") or "").startswith("node-"))
    assert gids == ["node-closed-2", "node-closed-3", "node-done-0", "node-late-1"]
    assert "（逾期）" not in body.decode()


async def test_the_nodes_keep_the_pages_scope(site: WebHarness) -> None:
    await add_nodes(site, "ZD2026-002", ("桩基完成", date(2026, 11, 10), None))
    async with site.signed_in("刘文华") as client:  # he holds ZD2026-001, not -002
        for path in ("/web/project/ZD2026-002", "/web/chart/project/ZD2026-002.svg"):
            async with client.get(path) as response:
                assert response.status == 403, path
                assert "桩基完成" not in await response.text()


async def test_a_project_without_nodes_has_the_plain_chart(site: WebHarness) -> None:
    await add_nodes(site, "ZD2026-001")
    async with site.signed_in("刘文华") as client:
        async with client.get("/web/project/ZD2026-001") as response:
            page = await response.text()
        async with client.get("/web/chart/project/ZD2026-001.svg") as response:
            svg = await response.read()
    assert "节点计划" not in page and 'height="320"' in page
    assert b'id="node-' not in svg
