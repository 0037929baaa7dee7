"""The portable column types: exact money (Wan) and aware UTC datetimes (UTCDateTime)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import StatementError

from bot.clock import SHANGHAI
from storage import reports as report_repo
from storage.audit import Actor
from storage.db import Database
from storage.models import Project, Report, Unit

from .factories import NOW, build_world

FIRST_DAY = date(2026, 1, 5)
AMOUNTS = [Decimal("5200.5"), Decimal("0.0001"), Decimal("12000"), Decimal("99999999.9999")]


async def _report(db: Database, *, project_id: int, person_id: int, amount: Decimal, at: datetime = NOW,
                  day: date | None = None) -> int:
    async with db.session() as session:
        report = await report_repo.add_report(
            session, project_id=project_id, person_id=person_id,
            local_day=day or at.astimezone(SHANGHAI).date(), amount=amount, progress_text="", photos=[],
            channel="console", now=at,
            actor=Actor(label="测试", channel="console"), project_code="ZD-TEST",
        )
        return report.id


async def test_wan_round_trips_exactly(db: Database) -> None:
    world = await build_world(db, NOW)
    ids = {amount: await _report(db, project_id=world.p1, person_id=world.liaison, amount=amount,
                                 day=FIRST_DAY + timedelta(days=n))  # one report a project a day
           for n, amount in enumerate(AMOUNTS)}
    for amount, report_id in ids.items():
        async with db.session() as session:
            loaded = await session.scalar(select(Report.amount).where(Report.id == report_id))
            raw = (await session.execute(text("SELECT amount FROM reports WHERE id = :id"),
                                         {"id": report_id})).scalar()
        assert isinstance(loaded, Decimal)
        assert loaded == amount
        # Stored as whole 元 in an integer column: 1 万元 = 10000 元, nothing lost, no float anywhere.
        assert isinstance(raw, int)
        assert raw == int(amount * 10000)


async def test_project_money_columns_round_trip(db: Database) -> None:
    world = await build_world(db, NOW)
    async with db.session() as session:
        project = await session.get(Project, world.p3)
        assert project is not None
        project.total_investment = Decimal("120000.0001")
        project.annual_plan = Decimal("5200.5")
        project.done_before = Decimal("0.0001")
    async with db.session() as session:
        row = (await session.execute(
            select(Project.total_investment, Project.annual_plan, Project.done_before)
            .where(Project.id == world.p3)
        )).one()
    assert tuple(row) == (Decimal("120000.0001"), Decimal("5200.5"), Decimal("0.0001"))


async def test_sql_sum_of_reports_is_exact(db: Database) -> None:
    world = await build_world(db, NOW)
    amounts = [Decimal("0.1")] * 10 + [Decimal("0.2"), Decimal("5200.5"), Decimal("0.0001"), Decimal("12000"),
                                       Decimal("1234.5678"), Decimal("99999999.9999")]
    # The same numbers as floats do drift, so the checks below mean something.
    assert sum(float(a) for a in amounts[:10]) != 1.0
    for n, amount in enumerate(amounts):
        await _report(db, project_id=world.p1, person_id=world.liaison, amount=amount,
                      day=FIRST_DAY + timedelta(days=n))
    async with db.session() as session:
        direct = await session.scalar(select(func.sum(Report.amount)).where(Report.project_id == world.p1))
    expected = sum(amounts, Decimal(0))
    assert isinstance(direct, Decimal)
    assert direct == expected == Decimal("100018436.2678")


async def test_shanghai_datetime_comes_back_as_the_same_instant_in_utc(db: Database) -> None:
    world = await build_world(db, NOW)
    local = datetime(2026, 11, 23, 8, 30, 15, 123456, tzinfo=SHANGHAI)
    report_id = await _report(db, project_id=world.p1, person_id=world.liaison, amount=Decimal(1), at=local)
    async with db.session() as session:
        loaded = await session.scalar(select(Report.created_at).where(Report.id == report_id))
    assert loaded is not None
    assert loaded.tzinfo is not None
    assert loaded.utcoffset() == timedelta(0)
    assert loaded == local
    assert (loaded.hour, loaded.minute, loaded.microsecond) == (0, 30, 123456)
    assert loaded == datetime(2026, 11, 23, 0, 30, 15, 123456, tzinfo=UTC)


async def test_datetime_comparisons_in_sql_use_the_instant(db: Database) -> None:
    world = await build_world(db, NOW)
    # 07:59 and 08:01 in Shanghai are 23:59 the day before and 00:01 in UTC.
    early = await _report(db, project_id=world.p1, person_id=world.liaison, amount=Decimal(1),
                          at=datetime(2026, 11, 23, 7, 59, tzinfo=SHANGHAI))
    late = await _report(db, project_id=world.p2, person_id=world.liaison, amount=Decimal(2),
                         at=datetime(2026, 11, 23, 8, 1, tzinfo=SHANGHAI))  # one report a project a day
    boundary = datetime(2026, 11, 23, 8, 0, tzinfo=SHANGHAI)
    async with db.session() as session:
        after = list((await session.scalars(select(Report.id).where(Report.created_at >= boundary))).all())
        before = list((await session.scalars(
            select(Report.id).where(Report.created_at < datetime(2026, 11, 23, 0, 0, tzinfo=UTC))
        )).all())
    assert after == [late]
    assert before == [early]


async def test_naive_datetime_is_rejected(db: Database) -> None:
    with pytest.raises(StatementError, match="naive datetime") as caught:
        async with db.session() as session:
            session.add(Unit(name="区住建局", created_at=datetime(2026, 11, 23, 10, 0)))  # noqa: DTZ001
            await session.flush()
    assert isinstance(caught.value.orig, ValueError)
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Unit)) == 0


async def test_null_datetime_and_money_stay_null(db: Database) -> None:
    world = await build_world(db, NOW)
    report_id = await _report(db, project_id=world.p1, person_id=world.liaison, amount=Decimal(1))
    async with db.session() as session:
        withdrawn = await session.scalar(select(Report.withdrawn_at).where(Report.id == report_id))
    assert withdrawn is None
