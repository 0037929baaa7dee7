"""/project shows the project's milestones (节点) as a timeline, on Telegram and on WeCom alike: ◇ planned, ◆ done,
overdue and late ones marked 逾期 in words (no colour needed). Friday 2026-11-20 on the sample ledger."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import delete, select

from storage.models import Project, ProjectNode
from tests.wecom.test_parity import CODE, Driver, TelegramDriver, WeComDriver, bind_hao

CREATED = datetime(2026, 1, 5, 1, tzinfo=UTC)


@pytest.fixture(params=["telegram", "wecom"])
def channel(request: pytest.FixtureRequest) -> Driver:
    if request.param == "telegram":
        return TelegramDriver(request.getfixturevalue("telegram"))
    return WeComDriver(request.getfixturevalue("wecom"))


def harness_of(channel: Driver) -> Any:
    return channel.harness  # type: ignore[attr-defined]


async def add_nodes(channel: Driver, *nodes: tuple[str, date, date | None]) -> None:
    """Nodes of ZD2026-001, as the ledger's sheet 项目节点计划 would give them (instead of the sample's)."""
    async with harness_of(channel).core.db.session() as session:
        project_id = await session.scalar(select(Project.id).where(Project.code == CODE))
        await session.execute(delete(ProjectNode).where(ProjectNode.project_id == project_id))
        for seq, (name, planned, done) in enumerate(nodes):
            session.add(ProjectNode(project_id=project_id, seq=seq, name=name, planned_on=planned, done_on=done,
                                    note="", source="ledger", created_at=CREATED, updated_at=CREATED))


async def test_project_shows_its_nodes_on_a_timeline(channel: Driver) -> None:
    await bind_hao(channel)
    await add_nodes(channel, ("开工", date(2026, 3, 1), date(2026, 2, 27)),
                    ("主体封顶", date(2026, 9, 30), date(2026, 10, 8)),
                    ("二次结构", date(2026, 11, 10), None),
                    ("竣工验收", date(2026, 12, 30), None))

    card = await channel.send("hao", f"/project {CODE}")

    assert "节点计划（◇ 计划，◆ 完成；2026 年到期 3 个，按期完成 1 个，按期率 33.3%）" in card
    lines = [line for line in card.lines if line[:1] in "◇◆"]
    assert lines == [
        "◆ 2026-03-01 开工：2026-02-27 完成",
        "◆ 2026-09-30 主体封顶：⚠️ 2026-10-08 完成，逾期 8 天",
        "◇ 2026-11-10 二次结构：⚠️ 逾期 10 天未完成",
        "◇ 2026-12-30 竣工验收",
    ]


async def test_a_project_without_nodes_says_nothing_of_them(channel: Driver) -> None:
    await bind_hao(channel)
    await add_nodes(channel)

    card = await channel.send("hao", f"/project {CODE}")

    assert "年度累计完成" in card and "节点计划" not in card
