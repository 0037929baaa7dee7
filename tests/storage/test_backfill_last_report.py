"""The time of a project's latest report (最近填报 in the lead official's bulletin, the ledger export's last report
column, the /project card and web page) is the time its liaison last reported: a 补报 the 项目办 enters afterwards
for a missed day is not the liaison's report (``storage.reports.reported_by_liaison``) and does not make a silent
project look fresh."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from bot.clock import FrozenClock
from storage.audit import Actor
from storage.backfills import backfill_report
from storage.db import Database
from storage.models import Project
from storage.projects import project_figures
from storage.report_figures import report_aggregate
from storage.reports import add_report
from tests.storage.factories import build_world

MONDAY, TUESDAY, SUNDAY = date(2026, 11, 16), date(2026, 11, 17), date(2026, 11, 22)


async def test_a_backfill_is_not_the_projects_latest_report(db: Database, clock: FrozenClock) -> None:
    now = clock.now()
    world = await build_world(db, datetime(2026, 11, 2, 9, 0, tzinfo=now.tzinfo))
    office = Actor(label="管理员", channel="telegram", person_id=world.admin)
    reported_at = now - timedelta(days=7)
    async with db.session() as session:
        await add_report(
            session,
            project_id=world.p1,
            person_id=world.liaison,
            local_day=MONDAY,
            amount=Decimal(100),
            progress_text="桩基",
            photos=(),
            channel="telegram",
            now=reported_at,
            actor=Actor("郝芳", "telegram", world.liaison),
            project_code="ZD2026-001",
        )
        await backfill_report(
            session,
            project_id=world.p1,
            project_code="ZD2026-001",
            person_id=world.admin,
            local_day=TUESDAY,
            amount=Decimal(50),
            progress_text="承台",
            reason="联络员出差",
            channel="telegram",
            now=now,
            actor=office,
        )
    async with db.session() as session:
        figures = await report_aggregate(
            session, cutoff=SUNDAY, window_start=MONDAY, due={"在建": [MONDAY, TUESDAY]}, stages={world.p1: "在建"}
        )
    assert figures[world.p1].year_sum == Decimal(150)  # the 补报 counts in the money
    assert figures[world.p1].last_report_at == reported_at  # not the time the 项目办 entered the 补报
    async with db.session() as session:
        project = await session.get(Project, world.p1)
        assert project is not None
        card = await project_figures(session, project=project, today=SUNDAY)
    assert card.ytd_done - card.base == Decimal(150)
    assert card.last_report is not None and card.last_report.created_at == reported_at  # /project's 最近填报
    assert card.last_report.progress_text == "桩基"
