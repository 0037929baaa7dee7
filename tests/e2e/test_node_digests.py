"""Milestones (节点) in the weekly bulletins end to end, around the National Day break: the digest tick writes the
outbox, a sender delivers it through python-telegram-bot to the fake Bot API, and the tests read what the
leadership group and the lead officials received. The calendar, people and weeks are those of
tests/e2e/test_digests.py: 2026-W39 goes out on Monday 9/28, W40 on Thursday 10/8, W41 on Monday 10/12.

ZD2026-001 (区住建局, 刘文华) has 主体封顶 planned on the 调休 Saturday 10/10; ZD2026-003 (区房管局, 孙立新) has
桩基完成 planned 9/15 and never done, and 开工 planned 9/10 and done 9/22.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from bot.clock import FrozenClock
from storage.models import Project, ProjectNode
from tests.e2e.harness import build_core, e2e_settings
from tests.e2e.test_digests import GROUP, LIU, PEOPLE, SUN, Office, _harness, at, texts
from tests.fakes.bot_api import FakeBotAPI

CREATED = datetime(2026, 1, 5, 1, tzinfo=UTC)


@pytest.fixture
async def office(fake_api: FakeBotAPI, tmp_path: Path, ledger_template: Path) -> AsyncIterator[Office]:
    """The sample ledger from the shared template on Monday 2026-09-28 08:00, the people bound, weekly only."""
    settings = e2e_settings(fake_api, DATA_DIR=str(tmp_path / "data"))
    core = await build_core(settings, FrozenClock(at(9, 28, 8)), template=ledger_template)
    async for harness in _harness(fake_api, core, settings):
        office = Office(harness, settings)
        await office.setup(*PEOPLE, monthly=False)
        async with harness.session() as session:
            ids = dict((await session.execute(select(Project.code, Project.id))).all())
            # the ledger in since January (the shared template carries another day), with these nodes instead
            await session.execute(update(Project).values(created_at=CREATED))
            await session.execute(delete(ProjectNode))
            for code, name, planned, done in (("ZD2026-001", "主体封顶", date(2026, 10, 10), None),
                                              ("ZD2026-003", "桩基完成", date(2026, 9, 15), None),
                                              ("ZD2026-003", "开工", date(2026, 9, 10), date(2026, 9, 22))):
                session.add(ProjectNode(project_id=ids[code], name=name, planned_on=planned, done_on=done, note="",
                                        source="ledger", created_at=CREATED, updated_at=CREATED))
        yield office


async def bulletin_on(office: Office, day: date) -> list:
    office.travel(at(day.month, day.day, 9, 0))
    [produced] = await office.tick()
    assert produced.kind == "weekly"
    return await office.deliver()


async def test_nodes_due_over_the_holiday_missed_and_done_late(office: Office) -> None:
    w39 = await bulletin_on(office, date(2026, 9, 28))

    [group] = texts(GROUP, w39)
    assert "⚠️ 逾期未完成 1 个：\n· 区房管局：ZD2026-003" in group
    assert "「桩基完成」计划 2026-09-15，已逾期 13 天" in group
    assert "本周逾期完成 1 个：" in group and "「开工」计划 2026-09-10，2026-09-22 完成，逾期 12 天" in group
    assert "下周（2026-09-28 至 2026-10-11）到期 1 个：\n· 区住建局：ZD2026-001" in group  # over 国庆
    assert "「主体封顶」2026-10-10" in group
    liu = "\n".join(texts(LIU, w39))
    sun = "\n".join(texts(SUN, w39))
    assert "◇ 节点「主体封顶」计划 2026-10-10 完成（下周到期）" in liu and "桩基完成" not in liu
    assert "◇ 节点「桩基完成」计划 2026-09-15，已逾期 13 天未完成" in sun and "主体封顶" not in sun

    w40 = await bulletin_on(office, date(2026, 10, 8))  # the first working day after the holiday
    [group] = texts(GROUP, w40)
    assert "「桩基完成」计划 2026-09-15，已逾期 23 天" in group
    assert "本周逾期完成" not in group  # 开工 was done late in an earlier week
    assert "下周（2026-10-08 至 2026-10-18）到期 1 个" in group and "「主体封顶」2026-10-10" in group

    async with office.tg.session() as session:  # marked done two days late
        await session.execute(update(ProjectNode).where(ProjectNode.name == "主体封顶")
                              .values(done_on=date(2026, 10, 12)))
    w41 = await bulletin_on(office, date(2026, 10, 12))
    [group] = texts(GROUP, w41)
    assert "本周逾期完成 1 个：\n· 区住建局：ZD2026-001" in group
    assert "「主体封顶」计划 2026-10-10，2026-10-12 完成，逾期 2 天" in group
    assert "到期" not in group.split("📅", 1)[1]  # nothing due ahead any more
    assert "◆ 节点「主体封顶」计划 2026-10-10，2026-10-12 逾期完成（逾期 2 天）" in "\n".join(texts(LIU, w41))
