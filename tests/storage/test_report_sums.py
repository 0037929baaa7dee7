"""The running sums of live reports per project and year, kept by the database: they match the reports
whatever is done to them, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import delete, func, select, update

from storage.db import Database
from storage.models import Report, ReportSum

from .factories import NOW, build_world


async def _sums(db: Database) -> dict[tuple[int, int], Decimal]:
    """The running sums, leaving out the rows that came back to zero."""
    async with db.session() as session:
        rows = (await session.execute(select(ReportSum.project_id, ReportSum.year, ReportSum.amount))).all()
    return {(project, year): amount for project, year, amount in rows if amount}


async def _summed_from_reports(db: Database) -> dict[tuple[int, int], Decimal]:
    """The same sums worked out from the reports."""
    year = func.extract("year", Report.local_day)
    async with db.session() as session:
        rows = (await session.execute(
            select(Report.project_id, year, func.sum(Report.amount))
            .where(Report.withdrawn_at.is_(None)).group_by(Report.project_id, year)
        )).all()
    return {(project, int(y)): amount for project, y, amount in rows if amount}


async def test_the_sums_follow_every_change_to_the_reports(db: Database) -> None:
    world = await build_world(db, NOW)
    async with db.session() as session:
        for project, day, amount in [(world.p1, date(2026, 3, 2), "100"), (world.p1, date(2026, 11, 20), "0.5"),
                                     (world.p1, date(2025, 12, 31), "7"), (world.p2, date(2026, 5, 6), "40")]:
            session.add(Report(project_id=project, person_id=world.liaison, local_day=day, amount=Decimal(amount),
                               channel="console", created_at=NOW))
    expected = {(world.p1, 2026): Decimal("100.5"), (world.p1, 2025): Decimal(7), (world.p2, 2026): Decimal(40)}
    assert await _sums(db) == expected == await _summed_from_reports(db)

    changes = [
        update(Report).where(Report.amount == Decimal("0.5")).values(withdrawn_at=NOW),  # withdrawn
        update(Report).where(Report.amount == Decimal("0.5")).values(withdrawn_at=None),  # and back
        update(Report).where(Report.amount == Decimal(40)).values(amount=Decimal(45)),  # corrected
        update(Report).where(Report.amount == Decimal(7)).values(local_day=date(2026, 1, 2)),  # to another year
        update(Report).where(Report.amount == Decimal(45)).values(project_id=world.p3),  # to another project
        update(Report).where(Report.amount == Decimal(100)).values(withdrawn_at=NOW, amount=Decimal(99)),
        delete(Report).where(Report.amount == Decimal("0.5")),  # a live one deleted
        delete(Report).where(Report.amount == Decimal(99)),  # a withdrawn one deleted
    ]
    for change in changes:
        async with db.session() as session:
            await session.execute(change)
        assert await _sums(db) == await _summed_from_reports(db), change
    assert await _sums(db) == {(world.p1, 2026): Decimal(7), (world.p3, 2026): Decimal(45)}
