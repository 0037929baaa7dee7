"""A 补报 (the 项目办 entering a missed day afterwards) counts in the money like any report, but not as the
liaison's report: not in 填报率, not in 按时填报, and it does not end a 连续未填报 streak; a correction of it is
still a 补报 (``storage.reports.reported_by_liaison``, the one rule)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from bot.clock import FrozenClock
from bot.services.participation import load_participation
from storage.audit import Actor
from storage.backfills import backfill_report
from storage.corrections import correct_report, live_report
from storage.db import Database
from storage.digest_queries import reporting_duties
from storage.report_figures import report_aggregate
from storage.reports import add_report
from tests.storage.factories import build_world

MONDAY, TUESDAY, SUNDAY = date(2026, 11, 16), date(2026, 11, 17), date(2026, 11, 22)


async def test_a_backfill_counts_in_the_money_not_as_the_liaisons_report(db: Database, clock: FrozenClock) -> None:
    now = clock.now()
    world = await build_world(db, datetime(2026, 11, 2, 9, 0, tzinfo=now.tzinfo))
    office = Actor(label="管理员", channel="telegram", person_id=world.admin)
    async with db.session() as session:
        await add_report(session, project_id=world.p1, person_id=world.liaison, local_day=MONDAY,
                         amount=Decimal(100), progress_text="桩基", photos=(), channel="telegram",
                         now=now - timedelta(days=7), actor=Actor("郝芳", "telegram", world.liaison),
                         project_code="ZD2026-001")
        await backfill_report(session, project_id=world.p1, project_code="ZD2026-001", person_id=world.admin,
                              local_day=TUESDAY, amount=Decimal(50), progress_text="承台", reason="零点确认被取消",
                              channel="telegram", now=now, actor=office)
    async with db.session() as session:  # corrected afterwards: still the 项目办's, not the liaison's
        old = await live_report(session, project_id=world.p1, local_day=TUESDAY)
        assert old is not None
        await correct_report(session, old=old, amount=Decimal(60), progress_text="承台", reason="金额有误",
                             channel="telegram", now=now, actor=office, project_code="ZD2026-001")
    async with db.session() as session:
        figures = await report_aggregate(session, cutoff=SUNDAY, window_start=MONDAY,
                                         due={"在建": [MONDAY, TUESDAY]}, stages={world.p1: "在建"})
        participation = await load_participation(session, cutoff=SUNDAY)
        duties = {d.code: d for d in await reporting_duties(session, up_to=SUNDAY)}
    assert figures[world.p1].year_sum == Decimal(160)  # the money: 100 + the corrected 补报's 60
    assert figures[world.p1].reported_days == 1  # 按时填报: Monday only
    row = participation.liaison(world.liaison)
    assert row is not None
    assert (row.weeks[-1].due, row.weeks[-1].reported) == (5, 1)  # 填报率: Monday only of five working days
    assert duties["ZD2026-001"].last_day == MONDAY  # the streak runs on from Monday
