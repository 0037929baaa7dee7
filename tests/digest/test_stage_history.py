"""Bulletins made again read each project in the stage it was in on their day, from its recorded 开工, 竣工 and
reopenings (bot.domain.stage_history): 应开工未开工 and 已竣工 as they stood then (SQLite, and PostgreSQL when
configured)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from bot.domain.periods import parse_period
from bot.domain.stage_events import DAY_TYPED, START, StageMove
from storage import stage_events
from storage.db import Database

from .conftest import District, local
from .test_node_bulletin import render

NOT_STARTED = "预警·应开工未开工"


async def test_a_project_started_after_a_bulletin_is_still_late_to_start_in_it(
    db: Database, district: District, tmp_path: Path
) -> None:
    """ZD2026-002, planned to start on 1 September, is set to 在建 with its 开工 on 5 October: W39's bulletin (28
    September) made again lists it as 应开工未开工, W41's (12 October) does not."""
    await district.project("ZD2026-001")
    code = await district.project("ZD2026-002", stage="在建", planned_start=date(2026, 9, 1))
    async with db.session() as session:
        await stage_events.record_moves(
            session,
            [StageMove(code, START, date(2026, 10, 5), DAY_TYPED)],
            person_id=None,
            now=local(date(2026, 10, 5)),
        )

    then = (await render(db, tmp_path)).text
    assert NOT_STARTED in then and "ZD2026-002 项目ZD2026-002（计划 2026-09-01）" in then.split(NOT_STARTED)[1]
    assert NOT_STARTED not in (await render(db, tmp_path, period=parse_period("weekly", "2026-W41"))).text
