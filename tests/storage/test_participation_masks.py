"""The days each project has a live report, read as one mask per project (storage.participation.
reported_day_masks): every day of the four weeks finds its own bit, the first and the last included; a day
reported twice counts once; withdrawn reports and days outside the range count for nothing."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from bot.clock import FrozenClock
from bot.domain.participation import day_bits, last_weeks
from storage.db import Database
from storage.models import Report
from storage.participation import reported_day_masks
from tests.storage.factories import build_world


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
        masks = dict(await reported_day_masks(session, start=start, end=end))
    bits = day_bits(start, end)
    assert masks == {world.p1: (1 << 28) - 1, world.p2: bits[days[0]] | bits[days[9]] | bits[days[-1]]}
    for day in days:  # a range of each length from the start: each day's bit is its own
        async with db.session() as session:
            masks = dict(await reported_day_masks(session, start=start, end=day))
        assert masks[world.p1] == (1 << (day - start).days + 1) - 1, day
