"""A calendar ruling entered after its day had passed, end to end through Telegram (the real PTB Application,
the fake Bot API) with the clock travelling into 2027: reports are owed as the calendar stood on the day
(bot.domain.duties.is_reporting_day).

郝芳 (1001) reports ZD2026-001 every working day of the week of Monday 2027-01-25, the Friday last. On
Monday 02-01 the admin enters Sunday 01-31 as a 调休 working day: it had passed, nobody was asked to report on
it, so it owes nothing: no 连续未填报 alert at 18:00, no lower 按时填报 for that week, no lower 填报率.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bot.__main__ import main
from bot.clock import SHANGHAI, SystemClock
from bot.domain import workdays
from bot.services.standings import current_standings
from jobs import reminders
from storage.calendar_history import keep_passed_days, kept_days
from storage.models import OutboxMessage, Project
from storage.settings import load_calendar
from tests.e2e.harness import TelegramHarness
from tests.jobs.test_escalation_job import _in_thread

HAO, ADMIN = 1001, 9001
CODE = "ZD2026-001"
SUNDAY = date(2027, 1, 31)


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=SHANGHAI)


@pytest.fixture
async def tg(telegram: TelegramHarness) -> TelegramHarness:
    for user, name, role in [(HAO, "郝芳", "liaison"), (ADMIN, "管理员(区重大项目办)", "admin")]:
        await telegram.bind(user, name, role)
    for day in range(25, 30):  # Monday 01-25 to Friday 01-29
        telegram.clock.set(at(date(2027, 1, day), 17))
        assert "已记录" in (await telegram.send(HAO, f"/report {CODE} {day} 主体施工")).text
    return telegram


async def _alerts_at_six(tg: TelegramHarness, day: date) -> list[str]:
    tg.clock.set(at(day, 18))
    result = await reminders.run(tg.core.db, tg.clock.now(), tg.core.deps.renderer, slot=time(18, 0))
    return result.alerts


async def _week_to(tg: TelegramHarness, cutoff: date = SUNDAY) -> tuple[int, int]:
    """ZD2026-001's (reported, due) days in the week up to `cutoff` (Sunday 01-31 unless given), as the weekly
    bulletin and /rank's comparison count them."""
    async with tg.session() as session:
        standings = await current_standings(session, today=tg.clock.now().astimezone(SHANGHAI).date(), cutoff=cutoff)
    [line] = [p for p in standings.projects if p.code == CODE]
    return line.reported_days, line.working_days


class Diaodu:
    """`diaodu` commands (as `bot.__main__.main` runs them) on a migrated SQLite file with no Telegram token, the
    system clock at 10:00 on ``day``."""

    def __init__(self, day: date) -> None:
        self.day = day

    def __call__(self, *args: str) -> int:
        return main(list(args))


@pytest.fixture
def diaodu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Diaodu:
    """`Diaodu` on Monday 2027-02-01 (the test may set another day)."""
    from storage.migrate import upgrade

    url = f"sqlite+aiosqlite:///{tmp_path / 'diaodu.sqlite3'}"
    _in_thread(upgrade, url)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    commands = Diaodu(date(2027, 2, 1))
    monkeypatch.setattr(SystemClock, "now", lambda _self: at(commands.day))
    return commands


async def test_a_working_sunday_entered_the_day_after_owes_no_report(tg: TelegramHarness) -> None:
    tg.clock.set(at(date(2027, 2, 1)))
    entered = await tg.send(ADMIN, f"/calendar {SUNDAY} work")
    assert "2027-01-31 调休上班：录入时该日已过，当天未提醒填报，不计应填报" in entered.text, entered

    assert CODE not in await _alerts_at_six(tg, date(2027, 2, 1))  # only Monday missed since Friday
    assert await _week_to(tg) == (5, 5)
    rate = await tg.send(HAO, "/rank 填报")
    assert "100.0% → —" in rate.text, rate  # the week of 01-25: 5 of 5; Monday 02-01 under way: not yet due
    assert "33.3%（5/15）" in rate.text, rate
    assert CODE in await _alerts_at_six(tg, date(2027, 2, 2))  # Monday and Tuesday: a real streak


async def test_entered_in_time_the_sunday_is_owed(tg: TelegramHarness) -> None:
    """The same ruling entered on Friday 01-29: people knew, the day was owed and missed."""
    tg.clock.set(at(date(2027, 1, 29), 18))
    entered = await tg.send(ADMIN, f"/calendar {SUNDAY} work")
    assert "2027-01-31 调休上班" in entered.text and "不计应填报" not in entered.text, entered

    assert CODE in await _alerts_at_six(tg, date(2027, 2, 1))  # the Sunday and Monday
    assert await _week_to(tg) == (5, 6)


async def test_a_report_sent_on_the_late_sunday_is_kept(tg: TelegramHarness) -> None:
    """郝芳 reported on the Sunday anyway: the report is kept and counts (money, last report), the day neither
    raises nor lowers the share."""
    tg.clock.set(at(SUNDAY, 11))
    assert "已记录" in (await tg.send(HAO, f"/report {CODE} 31 周末抢工")).text
    tg.clock.set(at(date(2027, 2, 1)))
    await tg.send(ADMIN, f"/calendar {SUNDAY} work")

    assert len(await tg.reports(CODE)) == 6
    assert CODE not in await _alerts_at_six(tg, date(2027, 2, 1))
    assert await _week_to(tg) == (5, 5)


async def test_a_working_day_made_a_holiday_after_it_passed_owes_nothing_and_keeps_its_reports(
    tg: TelegramHarness,
) -> None:
    """Friday 01-29 (reported) and Monday 02-01 (not) made holidays on Tuesday 02-02: nothing owed, the
    Friday's report kept; the streak counts Tuesday only."""
    tg.clock.set(at(date(2027, 2, 2)))
    for day in ("2027-01-29", "2027-02-01"):
        assert "补休" in (await tg.send(ADMIN, f"/calendar {day} off 补休")).text

    assert len(await tg.reports(CODE)) == 5
    assert CODE not in await _alerts_at_six(tg, date(2027, 2, 2))
    assert await _week_to(tg) == (4, 4)  # Monday to Thursday, each reported


def test_diaodu_calendar_says_a_late_working_day_owes_nothing(diaodu: Diaodu,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert diaodu("calendar", "set", "2027-01-31", "work") == 0
    assert diaodu("calendar", "set", "2027-02-20", "work") == 0
    out = capsys.readouterr().out
    assert "2027-01-31 调休上班：录入时该日已过，当天未提醒填报，不计应填报" in out, out
    assert "2027-02-20 调休上班\n" in out, out


async def test_a_holiday_removed_after_its_day_leaves_the_day_owing_nothing(tg: TelegramHarness) -> None:
    """Monday 02-01 entered as a holiday on Friday 01-29; on Tuesday the admin removes it (auto): nobody was asked
    to report that Monday and nobody is blamed for it now; deadlines count it again."""
    tg.clock.set(at(date(2027, 1, 29), 18))
    assert "补休" in (await tg.send(ADMIN, "/calendar 2027-02-01 off 补休")).text
    tg.clock.set(at(date(2027, 2, 2)))
    restored = await tg.send(ADMIN, "/calendar 2027-02-01 auto")
    assert "2027-02-01 已过，当天按当时的日历休息、未提醒填报，现恢复为工作日也不计应填报" in restored.text, restored

    assert CODE not in await _alerts_at_six(tg, date(2027, 2, 2))  # Tuesday only, not a streak of two
    # Tuesday 18:00, the day still under way (liaisons have until the evening), owes nothing yet, and Monday
    # owes nothing at all: /rank's week so far owes no day (it was (0, 1) while the day under way was counted)
    assert await _week_to(tg, date(2027, 2, 2)) == (0, 0)
    async with tg.session() as session:
        calendar = await load_calendar(session)
    assert calendar.is_working_day(date(2027, 2, 1))  # deadlines follow the calendar as it is
    assert CODE in await _alerts_at_six(tg, date(2027, 2, 3))
    # on Wednesday the Tuesday is over and owed; the Monday still is not
    assert await _week_to(tg, date(2027, 2, 3)) == (0, 1)


async def test_a_new_release_of_the_holidays_package_does_not_make_a_past_rest_day_owed(
    tg: TelegramHarness, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The reminders of Monday 03-15 keep the days passed; a later release of the package makes Saturday 03-13 a
    调休 working day: the week to Sunday 03-14 still owes five reports, not six."""
    tg.clock.set(at(date(2027, 3, 12), 17))
    assert "已记录" in (await tg.send(HAO, f"/report {CODE} 12 主体施工")).text
    await reminders.run(tg.core.db, at(date(2027, 3, 15), 16), tg.core.deps.renderer, slot=time(16, 0))
    year = workdays._library_year(2027)
    monkeypatch.setitem(workdays._LIBRARY_YEARS, 2027,
                        replace(year, working=year.working | {date(2027, 3, 13)}))  # the new release
    tg.clock.set(at(date(2027, 3, 15)))
    async with tg.session() as session:
        assert (await load_calendar(session)).is_working_day(date(2027, 3, 13))

    assert await _week_to(tg, date(2027, 3, 14)) == (1, 5)
    mine = await tg.send(HAO, "/rank 填报")
    assert "6.7%（1/15）：0.0% → 0.0% → 20.0% → —" in mine.text, mine  # the week of 03-08: 1 of 5; 03-15 under way


async def test_the_days_passed_are_kept_once(tg: TelegramHarness) -> None:
    """The first keeping reaches back to New Year of the year before; a day kept is never written again."""
    async with tg.session() as session:
        calendar = await load_calendar(session)
        assert await keep_passed_days(session, calendar=calendar, today=date(2027, 1, 4), now=at(date(2027, 1, 4))) \
            == 365 + 3
        assert await keep_passed_days(session, calendar=calendar, today=date(2027, 1, 4), now=at(date(2027, 1, 4))) \
            == 0
        kept = await kept_days(session)
    assert kept is not None and (kept.first, kept.last) == (date(2026, 1, 1), date(2027, 1, 3))
    assert (kept.due(date(2026, 10, 1)), kept.due(date(2026, 10, 10)), kept.due(date(2026, 10, 11))) == (
        False, True, False)  # 国庆节; its 调休 Saturday; a plain Sunday
    assert kept.unusual[date(2026, 10, 10)] and date(2026, 10, 11) not in kept.unusual  # only what a week would not say


async def test_a_streak_of_a_project_never_reported_runs_across_new_year(telegram: TelegramHarness) -> None:
    """ZD2026-001 entered on Wednesday 2026-12-30 and never reported: on Monday 2027-01-04 it has missed 12-30,
    12-31 and 01-04 (元旦 and the weekend owe nothing), not only 01-04."""
    await telegram.bind(HAO, "郝芳", "liaison")
    async with telegram.session() as session:
        await session.execute(update(Project).where(Project.code == CODE).values(created_at=at(date(2026, 12, 30))))
    telegram.clock.set(at(date(2027, 1, 4), 18))
    result = await reminders.run(telegram.core.db, telegram.clock.now(), telegram.core.deps.renderer,
                                 slot=time(18, 0))
    assert CODE in result.alerts
    async with telegram.session() as session:
        notices = (await session.scalars(select(OutboxMessage.payload))).all()
    lines = [line for p in notices if "html" in p for line in p["html"].splitlines() if CODE in line and "连续" in line]
    assert lines and all("已连续 3 个工作日未填报" in line for line in lines), lines  # alone or in a list


def test_diaodu_calendar_says_a_holiday_removed_after_its_day_still_owes_nothing(
    diaodu: Diaodu, capsys: pytest.CaptureFixture[str]
) -> None:
    diaodu.day = date(2027, 1, 27)
    assert diaodu("calendar", "set", "2027-01-29", "off", "--name", "补休") == 0
    diaodu.day = date(2027, 2, 1)
    assert diaodu("calendar", "set", "2027-01-29", "auto") == 0
    out = capsys.readouterr().out
    assert "2027-01-29 已过，当天按当时的日历休息、未提醒填报，现恢复为工作日也不计应填报" in out, out
