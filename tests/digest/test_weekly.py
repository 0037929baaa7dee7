"""Assembling standings from per-project figures: periods, ranks, group scores, praise/urge/warn, rates."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from bot.domain.periods import period_containing
from bot.domain.progress import LightThresholds, completion_rate, gap_points, schedule_progress, traffic_light
from bot.domain.ranking import ScoreWeights
from bot.domain.standings import ProjectStanding
from bot.weekly import assemble, group_standings, project_places, rank_projects

CUTOFF = date(2026, 11, 22)
SCHEDULE = schedule_progress(CUTOFF)


def standing(code: str, rate: float | None, *, unit: str = "区住建局", town: str | None = "河西镇",
             reported: int = 5, working: int = 5, stage: str = "在建", **fields: object) -> ProjectStanding:
    """A project whose completion rate is ``rate`` (None: no plan) on CUTOFF."""
    plan = Decimal(0) if rate is None else Decimal(1000)
    done = Decimal(0) if rate is None else Decimal(str(rate)) * 1000
    rate = completion_rate(done, plan)
    gap = gap_points(rate, SCHEDULE)
    values: dict[str, object] = dict(
        code=code, name=f"项目{code}", category="城建", stage=stage, town=town, lead_unit=unit,
        lead_official=None, lead_official_id=None, liaison=None, liaison_id=None, annual_plan=plan,
        ytd_done=done, rate=rate, schedule=SCHEDULE, gap=gap, light=traffic_light(rate, gap, CUTOFF),
        last_report_at=None, reported_days=reported, working_days=working, open_problems=0,
    )
    values.update(fields)
    return ProjectStanding(**values)  # type: ignore[arg-type]


# --- periods and windows -----------------------------------------------------------------------------


@pytest.mark.parametrize(("cutoff", "period"), [
    (date(2026, 11, 22), "2026-W47"),
    (date(2027, 1, 3), "2026-W53"),
    (date(2025, 12, 28), "2025-W52"),
    (date(2026, 3, 8), "2026-W10"),
])
def test_a_weekly_cutoff_names_its_iso_week(cutoff: date, period: str) -> None:
    week = period_containing("weekly", cutoff)
    assert (week.name, week.end) == (period, cutoff)


# --- project ranking ----------------------------------------------------------------------------------


def test_projects_rank_by_gap_with_ties_by_code_and_no_plan_last() -> None:
    projects = [standing("D", 0.5), standing("Z", None), standing("C", 0.9), standing("B", 0.9),
                standing("A", 0.95), standing("E", None)]

    ranked = [r.item for r in rank_projects(projects)]

    assert [(p.code, p.rank) for p in ranked] == [
        ("A", 1), ("B", 2), ("C", 2), ("D", 4), ("E", None), ("Z", None)]
    assert all(p.rank is None for p in projects)  # the inputs are left alone


def test_project_places_match_rank_projects() -> None:
    keys = [(1.0, "B"), (None, "A"), (1.0, "A"), (-3.0, "C"), (2.5, "D")]

    assert project_places(keys) == [2, None, 2, 4, 1]
    ranked = rank_projects([standing(code, None) if gap is None else replace(standing(code, 0.5), gap=gap)
                            for gap, code in keys])
    assert {r.item.code: r.rank for r in ranked} == {"B": 2, "A": None, "C": 4, "D": 1}


def test_already_ranked_projects_are_kept_as_they_are() -> None:
    projects = [standing("P1", 0.2), standing("P2", 0.95), standing("P3", None)]
    ranked = [r.item for r in rank_projects(projects)]

    result = assemble("2026-W47", CUTOFF, list(reversed(ranked)), {})

    assert all(a is b for a, b in zip(result.projects, ranked, strict=True))


def test_assemble_fills_ranks_everywhere() -> None:
    projects = [standing("P1", 0.2), standing("P2", 0.95)]

    result = assemble("2026-W47", CUTOFF, projects, {}, praise_n=1)

    assert [(p.code, p.rank) for p in result.projects] == [("P2", 1), ("P1", 2)]
    assert [(p.code, p.rank) for p in result.praised] == [("P2", 1)]
    assert [(p.code, p.rank) for p in result.urged] == [("P1", 2)]
    assert [(p.code, p.rank) for p in result.warned] == [("P1", 2)]
    assert result.schedule == pytest.approx(SCHEDULE)
    assert (result.period, result.cutoff) == ("2026-W47", CUTOFF)


# --- praise, urge, warn -------------------------------------------------------------------------------


def test_praise_top_urge_bottom_warn_every_red_most_behind_first() -> None:
    rates = {"P1": 0.99, "P2": 0.95, "P3": 0.90, "P4": 0.80, "P5": 0.28, "P6": 0.10, "P7": 0.50}
    projects = [standing(code, rate) for code, rate in rates.items()] + [standing("P8", None)]

    result = assemble("2026-W47", CUTOFF, projects, {}, praise_n=2)

    assert [p.code for p in result.praised] == ["P1", "P2"]
    assert [p.code for p in result.urged] == ["P5", "P6"]
    # P7 is 39 points behind; P5 and P6 are below 30% after 30 September. P8 (no plan) is never red.
    assert [p.code for p in result.warned] == ["P6", "P5", "P7"]
    assert {p.light for p in result.warned} == {"red"}


def test_praise_includes_ties_and_nobody_is_both_praised_and_urged() -> None:
    projects = [standing("A", 0.95), standing("B", 0.95), standing("C", 0.95), standing("D", 0.5)]

    result = assemble("2026-W47", CUTOFF, projects, {}, praise_n=2)

    assert [p.code for p in result.praised] == ["A", "B", "C"]  # C ties with the 2nd
    assert [p.code for p in result.urged] == ["D"]


def test_thresholds_are_recorded_but_lights_come_with_the_projects() -> None:
    thresholds = LightThresholds(yellow_from_points=5, red_from_points=8)
    projects = [standing("P1", 0.80)]  # about 9.3 points behind: yellow with the defaults

    result = assemble("2026-W47", CUTOFF, projects, {}, thresholds=thresholds)

    assert result.thresholds == thresholds
    assert result.warned == []


# --- lead units and towns -----------------------------------------------------------------------------


def test_unit_composite_score_with_stated_weights() -> None:
    weights = ScoreWeights(investment=0.5, punctuality=0.3, problems=0.2, nodes=0.0)
    projects = [
        # 区住建局: one project ≥ 20% ahead (index 1.0), one at 0% (index 0); 5 + 0 of 10 working days.
        standing("A1", 2.0, unit="区住建局", reported=5),
        standing("A2", 0.0, unit="区住建局", reported=0),
        # 区交通局: one project capped at 1.0 and one without a plan (left out of investment); 0 of 10 days.
        standing("B1", 1.5, unit="区交通局", reported=0),
        standing("B2", None, unit="区交通局", reported=0),
    ]
    shares = {"区住建局": 1.0, "区交通局": None}

    result = assemble("2026-W47", CUTOFF, projects, shares, weights=weights)

    units = {u.name: u for u in result.units}
    housing, transport = units["区住建局"], units["区交通局"]
    assert (housing.projects, housing.investment, housing.punctuality, housing.problems) == (2, 0.5, 0.5, 1.0)
    assert housing.score == pytest.approx(100 * (0.5 * 0.5 + 0.3 * 0.5 + 0.2 * 1.0))  # 60
    assert (transport.investment, transport.punctuality, transport.problems) == (1.0, 0.0, None)
    # No problems were due: the problem weight is left out and the others renormalised (0.5 / 0.8).
    assert transport.score == pytest.approx(62.5)
    assert [(u.name, u.rank) for u in result.units] == [("区交通局", 1), ("区住建局", 2)]


def test_unit_ties_share_a_rank_and_list_by_name() -> None:
    projects = [standing("A", 0.9, unit="乙局"), standing("B", 0.9, unit="甲局"),
                standing("C", 0.1, unit="丙局")]

    result = assemble("2026-W47", CUTOFF, projects, {})

    assert [(u.name, u.rank) for u in result.units] == [("乙局", 1), ("甲局", 1), ("丙局", 3)]


def test_group_without_any_measure_is_unranked() -> None:
    projects = [standing("A", None, unit="区档案局", working=0, reported=0),
                standing("B", 0.9, unit="区住建局", working=0, reported=0)]

    result = assemble("2026-W47", CUTOFF, projects, {})

    assert [(u.name, u.rank, u.score) for u in result.units][1] == ("区档案局", None, None)
    assert result.units[0].punctuality is None  # no working day in the window


def test_towns_group_by_location_and_skip_projects_without_one() -> None:
    projects = [
        standing("A", 0.9, town="河西镇", unit="区住建局"),
        standing("B", 0.3, town="河西镇", unit="区交通局"),
        standing("C", 0.9, town="金川镇"),
        standing("D", 0.9, town=None),
        standing("E", 0.9, town="  "),
    ]
    shares = {"河西镇": 0.0, "金川镇": 1.0, "区住建局": 0.5}

    result = assemble("2026-W47", CUTOFF, projects, shares)

    towns = {t.name: t for t in result.towns}
    assert set(towns) == {"河西镇", "金川镇"}
    assert towns["河西镇"].projects == 2
    assert towns["河西镇"].problems == 0.0 and towns["金川镇"].problems == 1.0  # the town as a unit
    assert towns["河西镇"].investment == pytest.approx((0.9 + 0.3) / SCHEDULE / 1.2 / 2)
    assert [t.name for t in result.towns] == ["金川镇", "河西镇"]
    assert sum(u.projects for u in result.units) == 5  # D and E still count for their lead unit


def test_group_punctuality_is_pooled_over_projects() -> None:
    projects = [standing("A", 0.9, reported=5, working=5), standing("B", 0.9, reported=1, working=5),
                standing("C", 0.9, reported=0, working=5)]

    (group,) = group_standings(projects, lambda p: p.lead_unit, schedule=SCHEDULE, problem_shares={})

    assert group.punctuality == pytest.approx(6 / 15)
    assert group.rank == 1


# --- start and finish rates ---------------------------------------------------------------------------


def test_start_and_finish_rates_of_the_cutoff_year() -> None:
    projects = [
        standing("S1", 0.9, stage="在建", planned_start=date(2026, 3, 1), planned_finish=date(2027, 6, 1)),
        standing("S2", 0.9, stage="前期", planned_start=date(2026, 9, 1), planned_finish=date(2026, 12, 31)),
        standing("S3", 0.9, stage="竣工", planned_start=date(2025, 3, 1), planned_finish=date(2026, 10, 1)),
        standing("S4", 0.9, stage="在建", planned_start=date(2025, 3, 1), planned_finish=date(2028, 1, 1)),
        standing("S5", 0.9, stage="未知", planned_start=date(2026, 3, 1), planned_finish=date(2026, 10, 1)),
    ]

    result = assemble("2026-W47", CUTOFF, projects, {})

    assert tuple(result.start_rate) == (1, 2, 0.5)  # S1 started, S2 not; S3/S4 started in 2025; S5 unknown
    assert tuple(result.finish_rate) == (1, 2, 0.5)  # S3 finished, S2 not


def test_empty_district() -> None:
    result = assemble("2026-W47", CUTOFF, [], {})

    assert (result.projects, result.units, result.towns, result.praised, result.urged, result.warned) == (
        [], [], [], [], [], [])
    assert result.start_rate.rate is None and result.finish_rate.rate is None


def test_rank_is_overwritten_not_trusted() -> None:
    stale = replace(standing("A", 0.1), rank=1)
    fresh = standing("B", 0.95)

    result = assemble("2026-W47", CUTOFF, [stale, fresh], {})

    assert [(p.code, p.rank) for p in result.projects] == [("B", 1), ("A", 2)]
