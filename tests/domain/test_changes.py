"""名次变化 (bot.domain.changes): up, down, 持平, 新上榜, completion points, groups, and no comparison across years."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bot.domain.changes import Change, group_changes, project_changes, standings_changes
from bot.render import Renderer, format_delta
from tests.render.factories import make_group, make_standing, make_standings


def test_a_project_that_moved_up_shows_places_and_completion_points() -> None:
    before = [make_standing(code="A", rank=3, rate=0.500), make_standing(code="B", rank=1, rate=0.700)]
    now = [make_standing(code="A", rank=1, rate=0.542), make_standing(code="B", rank=2, rate=0.687)]

    moved = project_changes(now, before)

    assert moved["A"].places == 2 and moved["A"].points == pytest.approx(4.2)
    assert moved["B"].places == -1 and moved["B"].points == pytest.approx(-1.3)
    assert not moved["A"].new and not moved["B"].new


def test_a_change_of_exactly_a_half_tenth_is_rounded_up_as_written() -> None:
    """57 万元 more on a plan of 22,800 is exactly +0.25 points: +0.3 (四舍五入), as the amounts say, not the +0.2
    the difference of the two rates as binary fractions (0.2499999…) would show."""
    plan = Decimal(22800)
    before = [make_standing(code="A", rank=1, annual_plan=plan, ytd_done=Decimal("20129.75"),
                            rate=float(Decimal("20129.75") / plan))]
    now = [make_standing(code="A", rank=1, annual_plan=plan, ytd_done=Decimal("20186.75"),
                         rate=float(Decimal("20186.75") / plan))]

    assert format_delta(project_changes(now, before)["A"].points) == "+0.3"


def test_same_place_is_level_and_a_newcomer_is_new() -> None:
    before = [make_standing(code="A", rank=1, rate=0.5), make_standing(code="C", rank=None, rate=None, gap=None)]
    now = [make_standing(code="A", rank=1, rate=0.5), make_standing(code="B", rank=2, rate=0.4),
           make_standing(code="C", rank=3, rate=0.3)]

    moved = project_changes(now, before)

    assert moved["A"] == Change(0, 0.0)
    assert moved["B"] == Change(None, None, new=True)  # not in the old standings
    assert moved["C"].new and moved["C"].points is None  # there, without a plan: not ranked then


def test_a_project_not_ranked_now_has_no_change() -> None:
    moved = project_changes([make_standing(code="A", rank=None, rate=None, gap=None)], [make_standing(code="A")])
    assert moved["A"] == Change(None, None)


def test_groups_move_by_rank_and_score() -> None:
    before = [make_group(name="甲", rank=2, score=70.0), make_group(name="乙", rank=1, score=80.0)]
    now = [make_group(name="甲", rank=1, score=82.5), make_group(name="乙", rank=2, score=79.0),
           make_group(name="丙", rank=None, score=None)]

    moved = group_changes(now, before)

    assert moved["甲"] == Change(1, 12.5) and moved["乙"] == Change(-1, -1.0) and moved["丙"] == Change(None, None)


def test_a_group_score_change_is_the_difference_of_the_two_scores_as_shown() -> None:
    """60.05 分 (shown 60.1) after 59.7: +0.4, as the two shown scores differ, not the +0.3 of 60.05 − 59.7 as binary
    fractions (0.3499999…); 80.36 (80.4) after 80.14 (80.1) reads +0.3 too, not the +0.2 of its exact 0.22."""
    before = [make_group(name="甲", rank=1, score=59.7), make_group(name="乙", rank=2, score=80.14)]
    now = [make_group(name="甲", rank=1, score=60.05), make_group(name="乙", rank=2, score=80.36)]

    moved = group_changes(now, before)

    assert format_delta(moved["甲"].points) == "+0.4"
    assert format_delta(moved["乙"].points) == "+0.3"


def test_standings_of_another_year_are_not_compared() -> None:
    now = make_standings(cutoff=date(2027, 1, 3))
    assert standings_changes(now, make_standings(cutoff=date(2026, 12, 27))).projects == {}
    assert standings_changes(now, None).since is None
    same_year = standings_changes(make_standings(), make_standings(cutoff=date(2026, 11, 8)))
    assert same_year.since == date(2026, 11, 8) and set(same_year.projects) == {"ZD2026-001"}
    assert set(same_year.units) == {"区交通运输局", "区住建局"} and set(same_year.towns) == {"城关镇", "北塬镇"}


def test_the_sign_of_a_change_is_written_out() -> None:
    assert [format_delta(v) for v in (4.2, -1.3, 0.04, -0.04, None)] == ["+4.2", "\u22121.3", "0.0", "0.0", "—"]


@pytest.mark.parametrize(("change", "short", "full"), [
    (Change(2, 4.2), " ↑2 +4.2", "较上期名次↑2，完成率 +4.2 个百分点"),
    (Change(-3, -1.3), " ↓3 \u22121.3", "较上期名次↓3，完成率 \u22121.3 个百分点"),
    (Change(0, 0.0), " 持平 0.0", "较上期名次、完成率均持平"),
    (Change(0, 0.04), " 持平 0.0", "较上期名次、完成率均持平"),  # what is shown is unchanged
    (Change(2, -0.04), " ↑2 0.0", "较上期名次↑2，完成率持平"),
    (Change(0, 0.7), " 持平 +0.7", "较上期名次持平，完成率 +0.7 个百分点"),
    (Change(1, None), " ↑1", "较上期名次↑1"),
    (Change(None, None, new=True), " 新上榜", "较上期新上榜"),
    (Change(None, None), "", ""),
    (None, "", ""),
])
def test_the_words_of_a_change(change: Change | None, short: str, full: str) -> None:
    macros = Renderer().env.get_template("_change.j2").module
    assert str(macros.short(change)) == short  # type: ignore[attr-defined]
    assert str(macros.full(change)) == full  # type: ignore[attr-defined]




def test_on_a_monday_a_unit_s_change_leaves_out_the_part_the_week_has_not_measured_yet() -> None:
    """Monday morning: no working day of the week is over, so the scores have no 按时填报; Sunday's had it. 甲
    reported badly last week, 乙 well; their investment did not move. Compared like with like (Sunday's scores
    without 按时填报 too), both are 持平 at +0.0, not 甲 ↑1 +11.4 and 乙 ↓1 −8.6 by a part only Sunday measured."""
    sunday = make_standings(cutoff=date(2026, 11, 22), units=[
        make_group(name="甲", investment=0.8, punctuality=0.4, problems=None, score=480 / 7, rank=2),
        make_group(name="乙", investment=0.7, punctuality=1.0, problems=None, score=550 / 7, rank=1)])
    monday = make_standings(cutoff=date(2026, 11, 23), units=[
        make_group(name="甲", investment=0.8, punctuality=None, problems=None, score=80.0, rank=1),
        make_group(name="乙", investment=0.7, punctuality=None, problems=None, score=70.0, rank=2)])

    units = standings_changes(monday, sunday).units

    assert units["甲"] == Change(0, 0.0) and units["乙"] == Change(0, 0.0)
    # a part measured both times is compared as it stood: Tuesday's 按时填报 against Sunday's
    tuesday = make_standings(cutoff=date(2026, 11, 24), units=[
        make_group(name="甲", investment=0.8, punctuality=1.0, problems=None, score=600 / 7, rank=1),
        make_group(name="乙", investment=0.7, punctuality=1.0, problems=None, score=550 / 7, rank=2)])
    units = standings_changes(tuesday, sunday).units
    assert units["甲"].places == 1 and format_delta(units["甲"].points) == "+17.1"
    assert units["乙"] == Change(-1, 0.0)


def test_a_part_measured_now_and_not_then_stays_in_the_change() -> None:
    """A unit's first problem due this week, handled late: its score now has a 问题办理 part its score then had
    not (nothing to measure then); the change shows the fall, it is not restated away."""
    before = [make_group(name="甲", investment=0.8, punctuality=1.0, problems=None, score=600 / 7, rank=1)]
    now = [make_group(name="甲", investment=0.8, punctuality=1.0, problems=0.0, score=60 / 0.85, rank=1)]

    assert format_delta(group_changes(now, before, make_standings().weights)["甲"].points) == "−15.1"
