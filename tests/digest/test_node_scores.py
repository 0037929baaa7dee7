"""Node punctuality (节点按期) in the standings: counted per project from the database, pooled per lead unit and
town, weighed into the composite score (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.progress import schedule_progress
from bot.domain.ranking import ScoreWeights
from bot.domain.workdays import WorkCalendar
from bot.services.standings import compute_standings
from storage.db import Database
from storage.node_queries import node_counts

from .conftest import CUTOFF, MONDAY, District

CALENDAR = WorkCalendar()


async def test_node_counts_follow_the_one_definition(db: Database, district: District) -> None:
    """On 22 Nov: on time and early count as on time, late and overdue as misses; open nodes, nodes done after
    the cut-off day of a node not yet due, last year's nodes and removed nodes are not counted."""
    await district.project("P1")
    await district.node("P1", "开工", date(2026, 3, 1), date(2026, 2, 27))  # early: on time
    await district.node("P1", "桩基完成", date(2026, 6, 30), date(2026, 6, 30))  # on its day: on time
    await district.node("P1", "主体封顶", date(2026, 9, 30), date(2026, 10, 8))  # late
    await district.node("P1", "二次结构", date(2026, 11, 10))  # overdue
    await district.node("P1", "外立面", date(2026, 11, 22))  # due on the cut-off day: not yet a miss
    await district.node("P1", "竣工验收", date(2026, 12, 30), date(2026, 11, 23))  # done after the cut-off
    await district.node("P1", "去年节点", date(2025, 12, 1))  # last year's: not this year's figure
    await district.node("P1", "取消节点", date(2026, 5, 1), removed=True)
    await district.project("P2")  # no nodes

    async with db.session() as session:
        counts = await node_counts(session, cutoff=CUTOFF)

    assert counts == {district.projects["P1"]: (2, 4)}


async def test_the_units_score_gains_node_punctuality(db: Database, district: District) -> None:
    """Two units alike in everything but their nodes: the one that kept its nodes ranks first; a unit with no
    counted node is scored on the other parts, renormalised."""
    for code, unit in (("A1", "区住建局"), ("B1", "区交通局"), ("C1", "区水利局")):
        await district.project(code, unit=unit, town=None, plan="1000")
        await district.reports(code, (date(2026, 5, 6), "500"), (MONDAY, "10"))
    await district.node("A1", "主体封顶", date(2026, 9, 30), date(2026, 9, 28))
    await district.node("A1", "竣工验收", date(2026, 11, 1), date(2026, 11, 2))  # a day late
    await district.node("B1", "主体封顶", date(2026, 9, 30), date(2026, 9, 30))
    await district.node("C1", "竣工验收", date(2026, 12, 20))  # not due yet: nothing counted

    async with db.session() as session:
        result = await compute_standings(session, period="2026-W47", cutoff=CUTOFF, window_start=MONDAY,
                                         calendar=CALENDAR, weights=ScoreWeights())

    units = {u.name: u for u in result.units}
    assert (units["区住建局"].nodes, units["区交通局"].nodes, units["区水利局"].nodes) == (0.5, 1.0, None)
    projects = {p.code: p for p in result.projects}
    assert (projects["A1"].nodes_on_time, projects["A1"].nodes_due, projects["A1"].node_punctuality) == (1, 2, 0.5)
    investment = min(0.51 / schedule_progress(CUTOFF), 1.2) / 1.2
    assert units["区交通局"].investment == pytest.approx(investment)
    # 1 of 5 working days reported; no problems were due: 0.5 · inv + 0.2 · 0.2 + 0.15 · nodes over 0.85
    assert units["区住建局"].score == pytest.approx(100 * (0.5 * investment + 0.2 * 0.2 + 0.15 * 0.5) / 0.85)
    assert units["区交通局"].score == pytest.approx(100 * (0.5 * investment + 0.2 * 0.2 + 0.15 * 1.0) / 0.85)
    assert units["区水利局"].score == pytest.approx(100 * (0.5 * investment + 0.2 * 0.2) / 0.7)
    assert [u.name for u in result.units][:1] == ["区交通局"]


async def test_weights_without_a_node_weight_leave_the_score_as_it_was(db: Database, district: District) -> None:
    await district.project("A1", unit="区住建局", town=None, plan="1000")
    await district.reports("A1", (date(2026, 5, 6), "500"))
    three = ScoreWeights(investment=0.6, punctuality=0.2, problems=0.2, nodes=0.0)

    async with db.session() as session:
        before = await compute_standings(session, period="2026-W47", cutoff=CUTOFF, window_start=MONDAY,
                                         calendar=CALENDAR, weights=three)
    await district.node("A1", "主体封顶", date(2026, 9, 30))  # overdue
    async with db.session() as session:
        after = await compute_standings(session, period="2026-W47", cutoff=CUTOFF, window_start=MONDAY,
                                        calendar=CALENDAR, weights=three)
        scored = await compute_standings(session, period="2026-W47", cutoff=CUTOFF, window_start=MONDAY,
                                         calendar=CALENDAR, weights=ScoreWeights())

    assert after.units[0].nodes == 0.0
    assert after.units[0].score == pytest.approx(before.units[0].score)
    assert scored.units[0].score is not None and before.units[0].score is not None
    assert scored.units[0].score < before.units[0].score
