"""The days each project has a live report, read as one mask per project (storage.participation.
reported_day_masks): every day of the four weeks finds its own bit, the first and the last included; a day
reported twice counts once; withdrawn reports and days outside the range count for nothing."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event

from bot.clock import FrozenClock
from bot.domain.participation import day_bits, last_weeks
from storage.db import Database
from storage.models import DAY_INDEX, Report
from storage.participation import reported_day_masks
from tests.storage.factories import build_world


def _liaisons(rows: Any) -> dict[int, int]:
    """The liaisons' masks of the rows read (the 补报 masks all empty)."""
    assert all(not late for _, _, late in rows)
    return {project_id: mask for project_id, mask, _ in rows}


async def test_a_backfilled_day_is_not_the_liaisons_but_is_read_as_a_backfill(db: Database,
                                                                             clock: FrozenClock) -> None:
    """A 补报 the 项目办 entered afterwards (``Report.backfill``) is not the liaison's report of its day: its bit
    is in the project's 补报 mask, not in the mask 填报率 counts; a day with a withdrawn 补报 and a live report
    of the liaison is his."""
    now = clock.now()
    world = await build_world(db, now)
    start, end = date(2026, 11, 2), date(2026, 11, 29)
    bits = day_bits(start, end)
    monday, tuesday, wednesday = start, start + timedelta(days=1), start + timedelta(days=2)

    def report(project_id: int, day: date, *, backfill: bool, withdrawn: bool = False) -> Report:
        return Report(project_id=project_id, person_id=world.liaison, local_day=day, amount=Decimal(1),
                      channel="telegram", created_at=now, backfill=backfill, withdrawn_at=now if withdrawn else None)

    async with db.session() as session:
        session.add_all([report(world.p1, monday, backfill=False), report(world.p1, tuesday, backfill=True),
                         report(world.p2, wednesday, backfill=True),
                         report(world.p3, monday, backfill=True, withdrawn=True),
                         report(world.p3, monday, backfill=False)])
    async with db.session() as session:
        rows = {project_id: (int(mask), int(late))
                for project_id, mask, late in await reported_day_masks(session, start=start, end=end)}
    assert rows == {world.p1: (bits[monday], bits[tuesday]), world.p2: (0, bits[wednesday]),
                    world.p3: (bits[monday], 0)}


async def test_each_day_of_the_weeks_is_read_as_its_own_bit(db: Database, clock: FrozenClock) -> None:
    now = clock.now()
    world = await build_world(db, now)
    weeks = last_weeks(date(2026, 11, 29))  # four whole weeks: 28 days
    start, end = weeks[0].start, weeks[-1].end
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    assert len(days) == 28

    def report(project_id: int, day: date, *, withdrawn: bool = False) -> Report:
        return Report(project_id=project_id, person_id=world.liaison, local_day=day, amount=Decimal(1),
                      channel="telegram", created_at=now, withdrawn_at=now if withdrawn else None)

    async with db.session() as session:
        session.add_all(report(world.p1, day) for day in days)
        session.add_all([report(world.p2, days[0]), report(world.p2, days[-1]), report(world.p2, days[9]),
                         report(world.p2, days[9]), report(world.p2, start - timedelta(days=1)),
                         report(world.p2, end + timedelta(days=1)),
                         report(world.p3, days[5], withdrawn=True), report(world.p3, start - timedelta(days=3))])
    async with db.session() as session:
        masks = _liaisons(await reported_day_masks(session, start=start, end=end))
    bits = day_bits(start, end)
    assert masks == {world.p1: (1 << 28) - 1, world.p2: bits[days[0]] | bits[days[9]] | bits[days[-1]]}
    for day in days:  # a range of each length from the start: each day's bit is its own
        async with db.session() as session:
            masks = _liaisons(await reported_day_masks(session, start=start, end=day))
        assert masks[world.p1] == (1 << (day - start).days + 1) - 1, day


async def test_the_masks_are_read_from_the_day_index_alone_on_sqlite(db: Database, clock: FrozenClock) -> None:
    """填报情况's masks read four weeks of reports (some 90,000 on a large district): the index of the reports by
    day holds the project and whether the report was withdrawn, so the query reads it and never the table
    (README, "Capacity (measured)"). PostgreSQL's planner decides by the table's statistics: not asserted there."""
    if not db.is_sqlite:
        pytest.skip("SQLite's plan; PostgreSQL plans by its statistics")
    world = await build_world(db, clock.now())
    start, end = date(2026, 11, 2), date(2026, 11, 29)
    async with db.session() as session:
        session.add(Report(project_id=world.p1, person_id=world.liaison, local_day=start, amount=Decimal(1),
                           channel="telegram", created_at=clock.now()))
    sent: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        sent.append((statement, parameters))

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        async with db.session() as session:
            assert _liaisons(await reported_day_masks(session, start=start, end=end)) == {world.p1: 1}
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)
    [(statement, parameters)] = [(s, p) for s, p in sent if "FROM reports" in s]
    async with db.engine.connect() as conn:
        plan = " | ".join(str(row[-1]) for row in (await conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + statement, parameters)).all())
    assert f"USING COVERING INDEX {DAY_INDEX} " in plan, plan
