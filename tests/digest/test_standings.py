"""The bulletin's figures as read from the database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, text

from bot.domain.duties import window_working_days
from bot.domain.nodes import NODE_PROBLEM
from bot.domain.progress import LightThresholds, schedule_progress
from bot.domain.ranking import ScoreWeights
from bot.domain.standings import ProjectStanding
from bot.domain.workdays import DayOverride, WorkCalendar
from bot.services.ledger_export import history_cell
from bot.services.standings import compute_standings, project_standings
from storage.db import Database
from storage.problem_handling import unit_problem_shares
from storage.problem_ledger import problem_rows

from .conftest import CUTOFF, MONDAY, District, local

CALENDAR = WorkCalendar()
WEDNESDAY, FRIDAY, SATURDAY = date(2026, 11, 18), date(2026, 11, 20), date(2026, 11, 21)


async def standings(db: Database, *, cutoff: date = CUTOFF, window_start: date = MONDAY,
                    calendar: WorkCalendar = CALENDAR,
                    thresholds: LightThresholds | None = None) -> dict[str, ProjectStanding]:
    async with db.session() as session:
        rows = await project_standings(session, cutoff=cutoff, window_start=window_start, calendar=calendar,
                                       thresholds=thresholds or LightThresholds())
    return {row.code: row for row in rows}


async def shares(db: Database, *, window_start: date = MONDAY,
                 cutoff: date = CUTOFF) -> dict[str, float | None]:
    async with db.session() as session:
        return await unit_problem_shares(session, window_start=window_start, cutoff=cutoff)


# --- year-to-date money -----------------------------------------------------------------------------


async def test_reports_after_the_cutoff_do_not_count(db: Database, district: District) -> None:
    await district.project("P1")
    await district.reports("P1", (FRIDAY, "100"), (CUTOFF, "10"))
    await district.reports("P1", (CUTOFF + timedelta(days=1), "500"), hour=8)

    p1 = (await standings(db))["P1"]

    assert p1.ytd_done == Decimal("110")
    assert p1.last_report_at == local(CUTOFF, 10)
    assert p1.reported_days == 1  # Friday; the Sunday is no working day and Monday is after the cut-off


async def test_withdrawn_reports_never_count(db: Database, district: District) -> None:
    await district.project("P1")
    await district.reports("P1", (WEDNESDAY, "100"))
    await district.reports("P1", (FRIDAY, "900"), withdrawn=True, hour=11)

    p1 = (await standings(db))["P1"]

    assert p1.ytd_done == Decimal("100")
    assert p1.reported_days == 1
    assert p1.last_report_at == local(WEDNESDAY, 10)


async def test_baseline_counts_only_in_its_own_year_and_last_years_reports_never(
        db: Database, district: District) -> None:
    await district.project("THIS", done_before="300", baseline_year=2026)
    await district.project("LAST", done_before="300", baseline_year=2025)
    for code in ("THIS", "LAST"):
        await district.reports(code, (date(2025, 12, 31), "70"), (date(2026, 1, 1), "20"))

    rows = await standings(db)

    assert rows["THIS"].ytd_done == Decimal("320")
    assert rows["LAST"].ytd_done == Decimal("20")
    assert rows["THIS"].rate == pytest.approx(0.32)
    # Its plan is of 2025 too: no plan for 2026 yet, so no rate and no rank (无年度计划).
    assert (rows["LAST"].rate, rows["LAST"].gap, rows["LAST"].rank) == (None, None, None)


async def test_sums_are_exact_decimals_in_wan(db: Database, district: District) -> None:
    await district.project("P1", plan="3", done_before="0.0001")
    await district.reports("P1", (date(2026, 3, 2), "0.1"), (date(2026, 3, 3), "0.2"),
                           (date(2026, 3, 4), "1234567.8901"))

    p1 = (await standings(db))["P1"]

    assert isinstance(p1.ytd_done, Decimal)
    assert p1.ytd_done == Decimal("1234568.1902")
    assert isinstance(p1.annual_plan, Decimal) and p1.annual_plan == Decimal(3)


async def test_rate_gap_and_light_follow_the_thresholds(db: Database, district: District) -> None:
    schedule = schedule_progress(CUTOFF)  # 326/365, about 0.893
    await district.project("AHEAD", plan="1000")
    await district.project("BEHIND", plan="1000")
    await district.reports("AHEAD", (date(2026, 6, 1), "950"))
    await district.reports("BEHIND", (date(2026, 6, 1), "700"))

    default = await standings(db)
    lenient = await standings(db, thresholds=LightThresholds(yellow_from_points=25, red_from_points=40))

    assert default["AHEAD"].schedule == pytest.approx(schedule)
    assert default["AHEAD"].gap == pytest.approx((0.95 - schedule) * 100)
    assert default["AHEAD"].light == "green"
    assert default["BEHIND"].gap == pytest.approx((0.70 - schedule) * 100)  # about -19.3 points
    assert default["BEHIND"].light == "yellow"
    assert lenient["BEHIND"].light == "green"
    assert (default["AHEAD"].rank, default["BEHIND"].rank) == (1, 2)  # ranked already, by gap


async def test_zero_plan_has_no_rate_and_no_light(db: Database, district: District) -> None:
    await district.project("NOPLAN", plan="0")
    await district.reports("NOPLAN", (WEDNESDAY, "50"))

    row = (await standings(db))["NOPLAN"]

    assert (row.rate, row.gap, row.light) == (None, None, "none")
    assert row.ytd_done == Decimal(50)
    assert row.rank is None


async def test_projects_without_reports_have_zero_figures(db: Database, district: District) -> None:
    await district.project("QUIET", lead="刘文华", liaison="郝芳")

    row = (await standings(db))["QUIET"]

    assert (row.ytd_done, row.last_report_at, row.reported_days, row.working_days) == (Decimal(0), None, 0, 5)
    assert (row.lead_official, row.liaison) == ("刘文华", "郝芳")
    assert (row.town, row.lead_unit) == ("河西镇", "区住建局")
    assert row.lead_official_id == district.people["刘文华"] and row.liaison_id == district.people["郝芳"]
    assert row.rate == 0.0 and row.light == "red"  # after 30 September below 30% of the plan


# --- punctuality ------------------------------------------------------------------------------------


async def test_punctuality_counts_distinct_working_days_of_the_window(
        db: Database, district: District) -> None:
    await district.project("P1")
    await district.reports("P1", (MONDAY - timedelta(days=3), "1"))  # the Friday before: outside the window
    await district.reports("P1", (MONDAY, "1"), (MONDAY, "2"), (WEDNESDAY, "1"), (SATURDAY, "1"))
    await district.reports("P1", (WEDNESDAY, "3"), hour=15)

    p1 = (await standings(db))["P1"]

    assert p1.reported_days == 2  # Monday twice, Wednesday twice; the Saturday is no working day
    assert p1.working_days == 5
    assert p1.punctuality == pytest.approx(0.4)


async def test_holidays_and_working_weekends_come_from_the_calendar(db: Database, district: District) -> None:
    calendar = WorkCalendar([DayOverride(WEDNESDAY, working=False, name="假日"),
                             DayOverride(SATURDAY, working=True)])
    await district.project("P1")
    await district.reports("P1", (WEDNESDAY, "1"), (SATURDAY, "1"), (FRIDAY, "1"))

    p1 = (await standings(db, calendar=calendar))["P1"]

    assert window_working_days(calendar, MONDAY, CUTOFF) == [
        MONDAY, MONDAY + timedelta(days=1), MONDAY + timedelta(days=3), FRIDAY, SATURDAY]
    assert (p1.reported_days, p1.working_days) == (2, 5)  # Friday and the 调休 Saturday, not the holiday


async def test_finished_projects_owe_no_reports(db: Database, district: District) -> None:
    """A 竣工/投产 project owes nothing (bot.domain.duties.report_due): no due day, no punctuality, and a
    report it still sends adds nothing either."""
    await district.project("DONE", stage="竣工")
    await district.project("RUNNING", stage="投产")
    await district.project("EARLY", stage="前期")
    await district.reports("RUNNING", (MONDAY, "5"), (WEDNESDAY, "5"))
    await district.reports("EARLY", (MONDAY, "5"))

    rows = await standings(db)

    assert [(rows[c].reported_days, rows[c].working_days, rows[c].punctuality) for c in ("DONE", "RUNNING")] \
        == [(0, 0, None), (0, 0, None)]
    assert rows["RUNNING"].ytd_done == Decimal(10)  # its money still counts
    assert (rows["EARLY"].reported_days, rows["EARLY"].working_days) == (1, 5)


async def test_a_finished_project_does_not_lower_its_units_punctuality(db: Database, district: District) -> None:
    """区住建局 reports every working day on its project under construction; its finished project reports
    nothing, as it need not: the unit's 按时填报 is 100 %, not 50 %. A unit with only finished projects
    has no punctuality part (its score leaves it out rather than counting 0)."""
    await district.project("BUILD", unit="区住建局", stage="在建")
    await district.project("DONE", unit="区住建局", stage="竣工")
    await district.project("OLD", unit="区水利局", stage="投产")
    days = [MONDAY + timedelta(days=n) for n in range(5)]
    await district.reports("BUILD", *((day, "1") for day in days))

    async with db.session() as session:
        result = await compute_standings(session, period="2026-W47", cutoff=CUTOFF, window_start=MONDAY,
                                         calendar=CALENDAR)

    units = {u.name: u for u in result.units}
    assert units["区住建局"].punctuality == 1.0
    assert units["区水利局"].punctuality is None
    towns = {t.name: t for t in result.towns}
    assert towns["河西镇"].punctuality == 1.0


async def test_window_reaching_into_last_year(db: Database, district: District) -> None:
    cutoff, monday = date(2027, 1, 3), date(2026, 12, 28)  # ISO week 2026-W53
    await district.project("P1", baseline_year=2027, done_before="5")
    await district.reports("P1", (date(2026, 12, 29), "100"), (date(2026, 12, 30), "200"),
                           (date(2027, 1, 2), "7"))

    p1 = (await standings(db, cutoff=cutoff, window_start=monday))["P1"]

    assert p1.ytd_done == Decimal(12)  # 2027's baseline and report only
    assert p1.reported_days == 2  # 29 and 30 December; 2 January 2027 is a Saturday
    assert p1.working_days == CALENDAR.working_days_between(monday - timedelta(days=1), cutoff)
    assert p1.last_report_at == local(date(2027, 1, 2))


async def test_same_figures_without_the_covering_index(db: Database, district: District) -> None:
    """A database whose migrations predate ix_reports_standings gets the same figures, only slower."""
    await district.project("P1", done_before="3")
    await district.project("P2")
    await district.reports("P1", (date(2026, 2, 2), "10"), (MONDAY, "1"), (FRIDAY, "2.5"))
    await district.reports("P2", (WEDNESDAY, "7"))
    await district.reports("P2", (FRIDAY, "70"), withdrawn=True)
    with_index = await standings(db)

    async with db.session() as session:
        await session.execute(text("DROP INDEX ix_reports_standings"))
    without = await standings(db)

    assert without == with_index
    assert (with_index["P1"].ytd_done, with_index["P2"].ytd_done) == (Decimal("16.5"), Decimal(7))


async def test_window_after_cutoff_is_refused(db: Database) -> None:
    async with db.session() as session:
        with pytest.raises(ValueError):
            await project_standings(session, cutoff=MONDAY, window_start=CUTOFF, calendar=CALENDAR,
                                    thresholds=LightThresholds())


# --- problems ---------------------------------------------------------------------------------------


async def test_open_problem_counts(db: Database, district: District) -> None:
    await district.project("P1")
    await district.project("P2")
    raised = local(WEDNESDAY)
    await district.problem("P1", unit="区水务局", raised=raised, due=None, status="open")
    await district.problem("P1", unit="区水务局", raised=raised, due=None, status="answered")
    await district.problem("P1", unit="区水务局", raised=raised, due=None, status="resolved")
    await district.problem("P1", unit="区水务局", raised=raised, due=None, status="closed")
    await district.problem("P1", unit="区水务局", raised=local(CUTOFF + timedelta(days=1)), due=None)
    await district.problem("P2", unit="区水务局", raised=raised, due=None, status="accepted")

    rows = await standings(db)

    assert (rows["P1"].open_problems, rows["P2"].open_problems) == (2, 1)


async def test_problems_closed_within_deadline(db: Database, district: District) -> None:
    await district.project("P1")
    raised = local(MONDAY - timedelta(days=7))
    due = local(WEDNESDAY, 17, 30)
    unit = "区水务局"
    # In scope and on time: resolved on Tuesday, then confirmed.
    await district.problem("P1", unit=unit, raised=raised, due=due, status="closed",
                           events=(("resolved", local(MONDAY + timedelta(days=1))),
                                   ("closed", local(FRIDAY))))
    # In scope, late: resolved on Friday after the Wednesday deadline.
    await district.problem("P1", unit=unit, raised=raised, due=due, status="resolved",
                           events=(("resolved", local(FRIDAY)),))
    # In scope, overdue: still being worked on at the end of Sunday.
    await district.problem("P1", unit=unit, raised=raised, due=due, status="accepted",
                           events=(("accepted", local(MONDAY)),))
    # In scope, escalated then resolved before the new level's deadline: not within deadline.
    await district.problem("P1", unit=unit, raised=raised, due=local(FRIDAY, 17, 30), status="resolved",
                           events=(("escalated", local(MONDAY, 17, 31)), ("resolved", local(WEDNESDAY))))
    # Out of scope: resolved the week before; not yet due; resolved only after the cut-off (not overdue
    # at the end of Sunday since it was due on Monday after).
    await district.problem("P1", unit=unit, raised=raised, due=due, status="resolved",
                           events=(("resolved", local(MONDAY - timedelta(days=2))),))
    await district.problem("P1", unit=unit, raised=raised, due=local(CUTOFF + timedelta(days=3)))
    await district.problem("P1", unit=unit, raised=raised, due=local(CUTOFF + timedelta(days=1), 17, 30),
                           status="resolved", events=(("resolved", local(CUTOFF + timedelta(days=1))),))

    result = await shares(db)

    assert result[unit] == pytest.approx(1 / 4)


async def test_an_escalated_problem_still_open_is_a_deadline_missed(db: Database, district: District) -> None:
    """Escalated for its missed deadline, open at the end of the week with the new level's deadline ahead: the
    unit missed it, as it would have had nobody escalated it (not a unit with nothing due)."""
    await district.project("P1")
    await district.problem("P1", unit="区水务局", raised=local(MONDAY - timedelta(days=7)),
                           due=local(CUTOFF + timedelta(days=5)), level=1,
                           events=(("escalated", local(WEDNESDAY, 17, 31)),))

    assert (await shares(db))["区水务局"] == 0.0


async def test_problem_shares_reopen_admin_close_and_nothing_due(db: Database, district: District) -> None:
    await district.project("P1")
    raised = local(MONDAY)
    # 区城管局: resolved then sent back (reopened), now overdue → 0 of 1.
    await district.problem("P1", unit="区城管局", raised=raised, due=local(WEDNESDAY, 17, 30),
                           status="accepted",
                           events=(("resolved", local(MONDAY, 15)), ("reopened", local(MONDAY, 16))))
    # 区财政局: closed directly by an admin on time, and resolved after the cut-off though due after
    # it → 1 of 1.
    await district.problem("P1", unit="区财政局", raised=raised, due=local(FRIDAY, 17, 30), status="closed",
                           events=(("closed", local(FRIDAY, 9)),))
    await district.problem("P1", unit="区财政局", raised=raised, due=local(date(2026, 11, 30)),
                           status="resolved", events=(("resolved", local(date(2026, 11, 24))),))
    # 区教育局: resolved the week before, sent back this week with a new deadline it missed → 0 of 1.
    await district.problem("P1", unit="区教育局", raised=raised - timedelta(days=14),
                           due=local(WEDNESDAY, 17, 30), status="accepted",
                           events=(("resolved", local(MONDAY - timedelta(days=5))),
                                   ("reopened", local(MONDAY, 9))))
    # 区卫健局: overdue on Sunday night and only resolved on the Tuesday after → 0 of 1.
    await district.problem("P1", unit="区卫健局", raised=raised, due=local(FRIDAY, 17, 30), status="resolved",
                           events=(("resolved", local(date(2026, 11, 24))),))
    # 区民政局: overdue since the week before and still open → counted again this week, 0 of 1.
    await district.problem("P1", unit="区民政局", raised=raised - timedelta(days=21),
                           due=local(MONDAY - timedelta(days=7), 17, 30), status="open")
    # 区商务局: only a problem not yet due → nothing to measure.
    await district.problem("P1", unit="区商务局", raised=raised, due=local(date(2026, 11, 30)))
    # 河西镇 (a town answering problems as a unit): resolved in the window with no deadline → 1 of 1.
    await district.problem("P1", unit="河西镇", raised=raised, due=None, status="resolved",
                           events=(("resolved", local(FRIDAY)),))

    result = await shares(db)

    assert result["区城管局"] == 0.0
    assert result["区财政局"] == 1.0
    assert result["区教育局"] == 0.0
    assert result["区卫健局"] == 0.0
    assert result["区民政局"] == 0.0
    assert result["区商务局"] is None
    assert result["河西镇"] == 1.0


async def test_an_overdue_nodes_problem_is_not_problem_handling(db: Database, district: District) -> None:
    """A node missed becomes a problem to escalate it; it is scored as node punctuality, not twice."""
    await district.project("P1")
    await district.problem("P1", unit="区城管局", raised=local(MONDAY), due=local(WEDNESDAY, 17, 30),
                           kind=NODE_PROBLEM)
    await district.problem("P1", unit="区财政局", raised=local(MONDAY), due=local(WEDNESDAY, 17, 30),
                           kind=NODE_PROBLEM)
    await district.problem("P1", unit="区财政局", raised=local(MONDAY), due=local(FRIDAY, 17, 30),
                           status="resolved", events=(("resolved", local(FRIDAY, 9)),))

    result = await shares(db)

    assert "区城管局" not in result  # nothing but the node's problem: nothing to measure
    assert result["区财政局"] == 1.0  # the overdue node's problem does not lower it
    assert "区住建局" not in result  # no problems at all


async def test_problem_rows_with_history(db: Database, district: District) -> None:
    await district.project("P1")
    first = await district.problem(
        "P1", unit="区水务局", raised=local(MONDAY, 9), due=local(FRIDAY, 17, 30), status="closed",
        actor="赵芳",
        text="临时用电   未接入，影响夜间施工，已经拖延两周，请供电公司尽快协调处理，谢谢各位领导",
        events=(("accepted", local(MONDAY, 10)), ("escalated", local(WEDNESDAY, 17, 31)),
                ("resolved", local(FRIDAY, 10)), ("closed", local(FRIDAY, 11))))
    second = await district.problem("P1", unit="区城管局", raised=local(FRIDAY, 9), due=None, status="open")

    async with db.session() as session:
        everything = await problem_rows(session)
        unclosed = await problem_rows(session, include_closed=False)

    assert [r.number for r in everything] == [f"W{first:04d}", f"W{second:04d}"]
    assert [r.number for r in unclosed] == [f"W{second:04d}"]
    row = everything[0]
    assert (row.project_code, row.project_name) == ("P1", "项目P1")
    assert (row.unit, row.status) == ("区水务局", "closed")
    assert row.raised_at == local(MONDAY, 9) and row.closed_at == local(FRIDAY, 11)
    assert [(e.kind, e.actor) for e in row.events] == [("raised", "联络员"), ("accepted", "赵芳"),
                                                       ("escalated", "赵芳"), ("resolved", "赵芳"), ("closed", "赵芳")]
    # the ledger's 办理记录 cell words them as the problem card does (bot/templates/_problem_event.j2)
    entries = history_cell(row.events).split("；")
    assert len(entries) == 5
    assert entries[0] == ("2026-11-16 09:00 联络员 提出："
                          "临时用电 未接入，影响夜间施工，已经拖延两周，请供电公司尽…")
    assert entries[1] == "2026-11-16 10:00 赵芳 受理"
    assert entries[2] == "2026-11-18 17:31 赵芳 上报至包抓领导（未按时办结）"
    assert entries[4] == "2026-11-20 11:00 赵芳 确认销号"
    assert history_cell(unclosed[0].events) == "2026-11-20 09:00 联络员 提出：征地未完成"


# --- the whole thing --------------------------------------------------------------------------------


async def test_compute_standings_end_to_end(db: Database, district: District) -> None:
    # Two units; 区交通局's only project is far ahead, 区住建局 has one on schedule-ish and one idle.
    await district.project("A1", unit="区住建局", town="河西镇", plan="1000")
    await district.project("A2", unit="区住建局", town="金川镇", plan="1000")
    await district.project("B1", unit="区交通局", town="河西镇", plan="1000")
    await district.project("C1", unit="区交通局", town=None, plan="0")
    await district.reports("A1", (date(2026, 5, 6), "800"), (MONDAY, "10"), (FRIDAY, "10"))
    await district.reports("B1", (date(2026, 5, 6), "2000"), (WEDNESDAY, "10"))
    await district.problem("A1", unit="区住建局", raised=local(MONDAY), due=local(WEDNESDAY, 17, 30),
                           status="resolved", events=(("resolved", local(MONDAY, 15)),))
    weights = ScoreWeights(investment=0.5, punctuality=0.3, problems=0.2, nodes=0.0)

    async with db.session() as session:
        result = await compute_standings(session, period="2026-W47", cutoff=CUTOFF, window_start=MONDAY,
                                         calendar=CALENDAR, weights=weights, praise_n=1)

    schedule = schedule_progress(CUTOFF)
    assert result.period == "2026-W47" and result.weights == weights
    assert [(p.code, p.rank) for p in result.projects] == [("B1", 1), ("A1", 2), ("A2", 3), ("C1", None)]
    assert [p.code for p in result.praised] == ["B1"]
    assert [p.code for p in result.urged] == ["A2"]
    assert [p.code for p in result.warned] == ["A2"]  # 0% after 30 September
    units = {u.name: u for u in result.units}
    # 区住建局: investment mean(0.82/schedule/1.2, 0) , punctuality 2 of 10 days, problems 1 of 1.
    housing_investment = (0.82 / schedule / 1.2) / 2
    assert units["区住建局"].investment == pytest.approx(housing_investment)
    assert units["区住建局"].punctuality == pytest.approx(0.2)
    assert units["区住建局"].problems == 1.0
    assert units["区住建局"].score == pytest.approx(100 * (0.5 * housing_investment + 0.3 * 0.2 + 0.2 * 1.0))
    # 区交通局: B1 capped at 1.0, C1 has no plan; 1 of 10 days; no problems → renormalised over 0.8.
    assert units["区交通局"].investment == 1.0
    assert units["区交通局"].punctuality == pytest.approx(0.1)
    assert units["区交通局"].score == pytest.approx(100 * (0.5 * 1.0 + 0.3 * 0.1) / 0.8)
    assert [(u.name, u.rank) for u in result.units] == [("区交通局", 1), ("区住建局", 2)]
    assert sorted(t.name for t in result.towns) == ["河西镇", "金川镇"]  # C1 has no town
    assert {t.name: t.projects for t in result.towns} == {"河西镇": 2, "金川镇": 1}


async def test_query_count_does_not_grow_with_projects(db: Database, district: District) -> None:
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    async def run() -> int:
        statements.clear()
        async with db.session() as session:
            await compute_standings(session, period="2026-W47", cutoff=CUTOFF, window_start=MONDAY,
                                    calendar=CALENDAR)
        return len([s for s in statements if s.lstrip().upper().startswith("SELECT")])

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        await district.project("P0")
        await district.reports("P0", (MONDAY, "1"))
        few = await run()
        for i in range(1, 25):
            await district.project(f"P{i}", unit=f"单位{i % 4}", town=f"镇{i % 3}")
            await district.reports(f"P{i}", (MONDAY, "1"), (FRIDAY, "2"))
            await district.problem(f"P{i}", unit=f"单位{i % 4}", raised=local(MONDAY), due=local(FRIDAY))
        many = await run()
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)

    assert few == many
    # Reports: the window's days and the year's money (SQLite first asks whether the covering index is
    # there); the window's problems and their histories, read once for the open problems and the problem
    # shares; the reports dated baselines cover; projects; the versions of those changed since the cut-off
    # (storage.project_versions) and the names of the people renamed since (storage.person_names); the confirmed
    # 开工/竣工 days; the liaisons' leaves in the window (one more, for
    # the reports of their projects, only when someone was away or a project was entered during the window); the
    # nodes counted (节点按期); the units with problems.
    assert many == (13 if db.is_sqlite else 12)

