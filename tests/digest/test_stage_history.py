"""Bulletins made again read each project in the stage it was in on their day, from its recorded 开工, 竣工 and
reopenings (bot.domain.stage_history): 应开工未开工, 已竣工 and the reports it owed as they stood then (SQLite, and
PostgreSQL when configured)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from bot.domain.periods import parse_period
from bot.domain.stage_events import DAY_TYPED, FINISH, REOPEN, START, StageMove
from bot.domain.workdays import WorkCalendar
from bot.services.standings import compute_standings
from storage import stage_events
from storage.db import Database
from storage.participation import participation_duties

from .conftest import CUTOFF, MONDAY, District, local
from .test_figures_agree import sheet_rows
from .test_node_bulletin import render

NOT_STARTED = "预警·应开工未开工"


async def test_a_project_started_after_a_bulletin_is_still_late_to_start_in_it(
    db: Database, district: District, tmp_path: Path
) -> None:
    """ZD2026-002, planned to start on 1 September, is set to 在建 with its 开工 on 5 October: W39's bulletin (28
    September) made again lists it as 应开工未开工, W41's (12 October) does not."""
    await district.project("ZD2026-001")
    code = await district.project("ZD2026-002", stage="在建", planned_start=date(2026, 9, 1))
    async with db.session() as session:
        await stage_events.record_moves(
            session,
            [StageMove(code, START, date(2026, 10, 5), DAY_TYPED)],
            person_id=None,
            now=local(date(2026, 10, 5)),
        )

    then = (await render(db, tmp_path)).text
    assert NOT_STARTED in then and "ZD2026-002 项目ZD2026-002（计划 2026-09-01）" in then.split(NOT_STARTED)[1]
    assert NOT_STARTED not in (await render(db, tmp_path, period=parse_period("weekly", "2026-W41"))).text


async def test_a_bulletin_made_again_counts_the_reports_each_project_owed_in_its_stage_then(
    db: Database, district: District
) -> None:
    """W47 made again after ZD2026-001 was finished (25 November) and ZD2026-002, finished in October, reopened
    (also 25 November): ZD2026-001 owed its five working days then and reported them all; ZD2026-002 owed none,
    whatever it reported, and its unit, with nothing else owed, has no 填报及时率."""
    finished = await district.project("ZD2026-001", stage="竣工")
    reopened = await district.project("ZD2026-002", stage="在建", unit="区水务局")
    async with db.session() as session:
        await stage_events.record_moves(session, [StageMove(finished, START, date(2026, 3, 2), DAY_TYPED),
                                                  StageMove(reopened, START, date(2026, 3, 2), DAY_TYPED),
                                                  StageMove(reopened, FINISH, date(2026, 10, 5), DAY_TYPED)],
                                        person_id=None, now=local(date(2026, 10, 5)))
        await stage_events.record_moves(session, [StageMove(finished, FINISH, date(2026, 11, 25), DAY_TYPED),
                                                  StageMove(reopened, REOPEN, date(2026, 11, 25), DAY_TYPED)],
                                        person_id=None, now=local(date(2026, 11, 25)))
    for code in ("ZD2026-001", "ZD2026-002"):
        await district.reports(code, *((MONDAY + timedelta(days=n), "1") for n in range(5)))
    async with db.session() as session:
        standings = await compute_standings(session, period="2026-W47", cutoff=CUTOFF, window_start=MONDAY,
                                            calendar=WorkCalendar())
    assert [(p.code, p.stage, p.working_days, p.reported_days) for p in standings.projects] == [
        ("ZD2026-001", "在建", 5, 5), ("ZD2026-002", "竣工", 0, 0)]
    assert {u.name: u.punctuality for u in standings.units} == {"区住建局": 1.0, "区水务局": None}


async def test_a_project_finished_in_the_week_owes_the_days_before_its_finish(
    db: Database, district: District, tmp_path: Path
) -> None:
    """ZD2026-002, finished on Thursday 19 November (2026-W47), reported every working day from 26 October but
    Wednesday 18: its unit's 按时填报 that week counts its Monday to Wednesday (2 of 3) beside ZD2026-001's five
    days (7 of 8, 87.5 %), and the 四周填报率 its 18 days before the 竣工, 17 reported (37 of 38 with ZD2026-001's 20,
    97.4 %): not nothing because it is finished now."""
    await district.project("ZD2026-001", liaison="联络员")
    finished = await district.project("ZD2026-002", stage="竣工", liaison="联络员")
    days = [d for d in (date(2026, 10, 26) + timedelta(days=n) for n in range(28)) if d.weekday() < 5]
    await district.reports("ZD2026-001", *((d, "10") for d in days))
    await district.reports("ZD2026-002", *((d, "10") for d in days if d < date(2026, 11, 18)))
    async with db.session() as session:
        await stage_events.record_moves(session, [StageMove(finished, FINISH, date(2026, 11, 19), DAY_TYPED)],
                                        person_id=None, now=local(date(2026, 11, 19)))

    rendered = await render(db, tmp_path, period=parse_period("weekly", "2026-W47"))
    [unit] = sheet_rows(rendered.files["ledger"].read_bytes(), "单位排名")
    assert round(unit["填报及时率"], 4) == 0.875
    assert "全区 97.4%" in rendered.text


async def test_the_reporting_page_reads_only_the_histories_of_the_projects_that_moved_in_its_weeks(
    db: Database, district: District
) -> None:
    """填报情况 and /rank read the stage histories of the projects whose stage moved after the first day of their
    four weeks (ZD2026-002, its earlier 开工 too), not of all the district's (ZD2026-001, finished in March); the
    projects counted and their moves are those of every history read."""
    early = await district.project("ZD2026-001", stage="竣工")
    moved = await district.project("ZD2026-002", stage="竣工")
    await district.project("ZD2026-003")
    start = date(2026, 10, 26)
    async with db.session() as session:
        await stage_events.record_moves(session, [StageMove(early, START, date(2026, 1, 5), DAY_TYPED),
                                                  StageMove(early, FINISH, date(2026, 3, 2), DAY_TYPED),
                                                  StageMove(moved, START, date(2026, 3, 2), DAY_TYPED)],
                                        person_id=None, now=local(date(2026, 3, 2)))
        await stage_events.record_moves(session, [StageMove(moved, FINISH, date(2026, 11, 19), DAY_TYPED)],
                                        person_id=None, now=local(date(2026, 11, 19)))
        every = await stage_events.histories(session)
        read = await stage_events.histories(session, moved_after=start)
        assert set(every) == {early, moved} and read == {moved: every[moved]} and len(read[moved]) == 2
        assert await participation_duties(session, start=start, end=CUTOFF) == await participation_duties(
            session, start=start, end=CUTOFF, moves=every)
