"""The calendar's daily record (jobs.calendar_days) with the clock travelling: the job runs right after midnight
in Shanghai and keeps the day that ended as the calendar then stood; a process elected leader keeps the days
missed while none ran; a new release of the holidays package installed before the next reminder run does not
rewrite a day already kept."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time

import pytest

from bot.app import Core
from bot.clock import SHANGHAI
from bot.domain import workdays
from jobs.wiring import build_jobs
from storage.calendar_history import kept_days

SATURDAY = date(2027, 3, 13)  # a plain Saturday in 2027, until the "new release" below makes it a 调休 working day


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


async def _kept(core: Core) -> workdays.KeptDays:
    async with core.db.session() as session:
        kept = await kept_days(session)
    assert kept is not None
    return kept


async def test_the_day_that_ended_is_kept_right_after_midnight_and_not_rewritten_by_a_new_release(
    e2e_core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    e2e_core.clock.set(at(date(2027, 3, 12), 9))  # Friday: the process is elected leader and catches up
    scheduler, start_up = build_jobs(e2e_core, (time(16, 0),))
    await start_up()
    assert (await _kept(e2e_core)).last == date(2027, 3, 11)

    job = scheduler.get_job("calendar-days")
    assert job.name == "日历逐日记录"
    assert job.trigger.get_next_fire_time(None, at(SATURDAY, 23, 59)) == at(date(2027, 3, 14), 0, 1)
    for day in (SATURDAY, date(2027, 3, 14)):  # Saturday 00:01, Sunday 00:01
        e2e_core.clock.set(at(day, 0, 1))
        await job.func()
    kept = await _kept(e2e_core)
    assert kept.last == SATURDAY and not kept.due(SATURDAY)

    year = workdays._library_year(2027)  # Sunday: the holidays package upgraded, the bot restarted
    monkeypatch.setitem(workdays._LIBRARY_YEARS, 2027, replace(year, working=year.working | {SATURDAY}))
    e2e_core.clock.set(at(date(2027, 3, 14), 9))
    await start_up()
    await job.func()  # twice, and a tick of the same day: nothing written again
    kept = await _kept(e2e_core)
    assert kept.last == SATURDAY and not kept.due(SATURDAY)  # as it passed: nobody owed a report that day

    e2e_core.clock.set(at(date(2027, 3, 17), 0, 1))  # the process slept through Monday and Tuesday's midnights
    await job.func()
    kept = await _kept(e2e_core)
    assert kept.last == date(2027, 3, 16) and kept.due(date(2027, 3, 15))
