"""Each year's ledger base per project (storage.ledger_bases): a later year's base leaves the earlier one's."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import update

from storage.db import Database
from storage.ledger_bases import write_bases
from storage.models import Project
from storage.web_queries import counted_daily

from .factories import NOW, build_world


async def test_each_year_reads_its_own_base(db: Database) -> None:
    world = await build_world(db, NOW)  # every project's own base: 100 万元 of 2026, no row of its own
    async with db.session() as session:
        await write_bases(session, [(world.p1, 2026, Decimal(5000), date(2026, 6, 30))], now=NOW)
        # The 2027 ledger: the project keeps 2027's base as its latest, 2026's stays a year's own
        await write_bases(session, [(world.p1, 2027, Decimal(7), date(2027, 1, 7))], now=NOW)
        await session.execute(update(Project).where(Project.id == world.p1)
                              .values(done_before=Decimal(7), baseline_year=2027, baseline_date=date(2027, 1, 7)))
        await write_bases(session, [(world.p1, 2027, Decimal(9), date(2027, 1, 8))], now=NOW)  # 2027's again
    async with db.session() as session:
        bases = {(p, y): (await counted_daily(session, year=y, up_to=date(y, 12, 31), project_id=p))[0]
                 for p in (world.p1, world.p2) for y in (2026, 2027)}
        everyone_2026, _ = await counted_daily(session, year=2026, up_to=date(2026, 12, 31))
    assert bases == {(world.p1, 2026): Decimal(5000), (world.p1, 2027): Decimal(9),
                     (world.p2, 2026): Decimal(100), (world.p2, 2027): Decimal(0)}
    assert everyone_2026 == Decimal(5200)  # 5,000 + the two other projects' own 100 each
