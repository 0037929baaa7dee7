"""The web pages in the first days of 2027, before the 2027 plans are imported and before anyone has reported:
the sample ledger's plans are 2026's, so 2027 has none yet; the pages say so as /rank does, rank no project,
and show 2027's figures as empty, not 2026's."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from bot.clock import SHANGHAI, FrozenClock
from tests.web.harness import ROLE_PEOPLE, web_harness


def words(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_the_pages_before_the_2027_plans(ledger_template: Path, tmp_path: Path) -> None:
    clock = FrozenClock(datetime(2027, 1, 5, 10, tzinfo=SHANGHAI))  # Tuesday, the second working day
    async with web_harness(ledger_template, tmp_path, clock=clock) as site:
        async with site.signed_in(ROLE_PEOPLE["admin"]) as client:
            async with client.get("/web/") as response:
                overview = words(await response.text())
            async with client.get("/web/project/ZD2026-001") as response:
                project = words(await response.text())
    assert "截至 2027-01-05" in overview
    assert "年度计划投资（万元） 0.0 年度累计完成（万元） 0.0 完成率 / 序时进度 — / 1.4%" in overview, overview
    assert "暂无可排名项目（2027 年度计划尚未录入）" in overview and "无年度计划（不排名）：42 个项目" in overview
    assert "表扬 无 督促 无 预警 无" in overview, overview  # nobody is praised, urged or warned on no plan
    assert ("2027 年度计划（万元） — 尚未录入 年度累计完成（万元） 0.0 完成率 / 序时进度 — / 1.4% "
            "无年度计划，不计完成率、不参与排名") in project, project
    assert "26,051" not in project  # 2026's base is not 2027's figure
