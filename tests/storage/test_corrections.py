"""Corrections of past reports on SQLite and PostgreSQL: a new version replaces the old one, the old one is
kept withdrawn, the trigger-kept sums follow, and the history reads back from the audit trail."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from storage import corrections
from storage.audit import Actor
from storage.db import Database
from storage.models import Report, ReportPhoto, ReportSum
from storage.reports import ReportConflict

from .factories import NOW, build_world

ADMIN = Actor(label="管理员", channel="console")


async def _sum(db: Database, project: int, year: int) -> Decimal:
    async with db.session() as session:
        return await session.scalar(select(ReportSum.amount).where(ReportSum.project_id == project,
                                                                   ReportSum.year == year)) or Decimal(0)


async def test_a_correction_replaces_the_days_report_and_the_sums_follow(db: Database) -> None:
    world = await build_world(db, NOW)
    async with db.session() as session:
        for day, amount in [(date(2026, 11, 18), "850"), (date(2026, 11, 19), "8500"), (date(2025, 12, 30), "7")]:
            session.add(Report(project_id=world.p1, person_id=world.liaison, local_day=day, amount=Decimal(amount),
                               progress_text="桩基", channel="console", created_at=NOW - timedelta(days=4),
                               photos=[ReportPhoto(channel="console", file_id=f"photo-{amount}")]))
    assert await _sum(db, world.p1, 2026) == Decimal(9350)

    async with db.session() as session:
        old = await corrections.live_report(session, project_id=world.p1, local_day=date(2026, 11, 19))
        assert old is not None and old.amount == Decimal(8500) and old.person_name == "郝芳"
        new_id = await corrections.correct_report(
            session, old=old, amount=Decimal(850), progress_text="桩基完成", reason="多写了一个零",
            channel="console", now=NOW, actor=ADMIN, project_code="ZD2026-001")
    assert await _sum(db, world.p1, 2026) == Decimal(1700)  # 850 + 850: the 8,500 no longer counts
    assert await _sum(db, world.p1, 2025) == Decimal(7)

    async with db.session() as session:
        versions = (await session.scalars(select(Report).where(Report.local_day == date(2026, 11, 19))
                                          .order_by(Report.id))).all()
        assert [(v.amount, v.withdrawn_at is None, v.replaces_id) for v in versions] == [
            (Decimal(8500), False, None), (Decimal(850), True, versions[0].id)]
        assert versions[1].id == new_id and versions[1].person_id == world.liaison  # still 郝芳's report
        assert [p.file_id for p in versions[1].photos] == ["photo-8500"]  # the photos stay with it
        history = await corrections.corrections_of(session, code="ZD2026-001")
        assert [(c.day, c.before, c.after, c.reason, c.by, c.reported_by) for c in history] == [
            (date(2026, 11, 19), Decimal(8500), Decimal(850), "多写了一个零", "管理员", "郝芳")]

        # the version shown is no longer the one that counts: nothing is written
        with pytest.raises(ReportConflict):
            await corrections.correct_report(
                session, old=old, amount=Decimal(1), progress_text="", reason="再改", channel="console",
                now=NOW, actor=ADMIN, project_code="ZD2026-001")
    assert await _sum(db, world.p1, 2026) == Decimal(1700)

    # corrected again: the second version is replaced in turn, and the sum follows once more
    async with db.session() as session:
        second = await corrections.live_report(session, project_id=world.p1, local_day=date(2026, 11, 19))
        assert second is not None and second.id == new_id
        await corrections.correct_report(
            session, old=second, amount=Decimal(900), progress_text="桩基完成", reason="核对现场",
            channel="console", now=NOW + timedelta(hours=1), actor=ADMIN, project_code="ZD2026-001")
    assert await _sum(db, world.p1, 2026) == Decimal(1750)

    async with db.session() as session:
        # corrections since a moment, of days up to a period's end, that changed a figure
        since = await corrections.corrections_since(session, since=NOW - timedelta(minutes=1),
                                                    up_to_day=date(2026, 11, 22))
        assert [(c.before, c.after) for c in since] == [(Decimal(8500), Decimal(850)), (Decimal(850), Decimal(900))]
        assert await corrections.corrections_since(session, since=NOW - timedelta(minutes=1),
                                                   up_to_day=date(2026, 11, 18)) == []
        assert len(await corrections.corrections_since(session, since=NOW, up_to_day=date(2026, 11, 22))) == 1


async def test_the_bulletins_that_counted_a_day_are_those_sent_of_its_periods(db: Database) -> None:
    """2026-12-30 is in 2026-W53 (measured on 12-31), December, Q4, H2 and 2026; 2027-01-02 is in the same
    week but after its measuring day, so only the 2027 periods could count it."""
    from storage.models import Bulletin

    async with db.session() as session:
        for kind, period in [("weekly", "2026-W53"), ("weekly", "2026-W52"), ("monthly", "2026-12"),
                             ("annual", "2026"), ("monthly", "2027-01")]:
            session.add(Bulletin(kind=kind, period=period, produced_at=NOW))
    async with db.session() as session:
        counted = await corrections.published_with(session, day=date(2026, 12, 30))
        assert [(p.kind, p.name) for p in counted] == [("weekly", "2026-W53"), ("monthly", "2026-12"),
                                                       ("annual", "2026")]
        assert [p.name for p in await corrections.published_with(session, day=date(2027, 1, 2))] == ["2027-01"]
        assert [p.name for p in await corrections.published_with(session, day=date(2026, 11, 3))] == ["2026"]
