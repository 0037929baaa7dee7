"""A reminder run missed by a restart is run by the process elected leader, within two hours of its time."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.render import Renderer
from jobs import reminders
from storage.db import Database
from tests.jobs.test_escalation_job import build_district, nov

RENDERER = Renderer()


@pytest.fixture
async def district_db() -> AsyncIterator[Database]:
    db = Database("sqlite+aiosqlite://")
    await db.create_all()
    await build_district(db, nov(16, 8), bound=True)
    try:
        yield db
    finally:
        await db.dispose()


async def test_the_latest_time_passed_is_run_late_within_two_hours(district_db: Database) -> None:
    assert await reminders.catch_up(district_db, nov(18, 15, 59), RENDERER) is None  # before the first time
    assert await reminders.catch_up(district_db, nov(18, 20, 0), RENDERER) is None
    late = await reminders.catch_up(district_db, nov(18, 19, 59), RENDERER)  # the 18:00 run, with its alerts
    assert late is not None and late.reminded == ["郝芳"] and late.alerts == ["ZD2026-001"]
    again = await reminders.catch_up(district_db, nov(18, 19, 59), RENDERER)
    assert again is not None and again.reminded == [] and again.alerted_before == ["ZD2026-001"]


async def test_a_restart_between_the_two_times_runs_the_first(district_db: Database) -> None:
    late = await reminders.catch_up(district_db, nov(18, 16, 30), RENDERER)
    assert late is not None and late.reminded == ["郝芳"] and late.alerts == []  # alerts come with the last time
