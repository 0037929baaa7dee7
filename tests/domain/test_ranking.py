from dataclasses import dataclass

import pytest

from bot.domain.ranking import (
    Ranked,
    ScoreWeights,
    composite_score,
    investment_index,
    praise_and_urge,
    rank,
    share,
)


@dataclass(frozen=True)
class Unit:
    code: str
    score: float | None


def ranked_units(*pairs: tuple[str, float | None]) -> list[Ranked[Unit]]:
    return rank([Unit(c, s) for c, s in pairs], score=lambda u: u.score, tiebreak=lambda u: u.code)


def view(ranked: list[Ranked[Unit]]) -> list[tuple[str, int | None]]:
    return [(r.item.code, r.rank) for r in ranked]


# --- rank --------------------------------------------------------------------


def test_rank_competition_ranking_with_ties() -> None:
    result = ranked_units(("D", 70.0), ("C", 90.0), ("B", 90.0), ("A", 95.0))
    assert view(result) == [("A", 1), ("B", 2), ("C", 2), ("D", 4)]
    assert [r.score for r in result] == [95.0, 90.0, 90.0, 70.0]


def test_rank_is_deterministic_whatever_the_input_order() -> None:
    pairs = [("A", 95.0), ("B", 90.0), ("C", 90.0), ("D", 70.0), ("E", None), ("F", 90.0)]
    expected = [("A", 1), ("B", 2), ("C", 2), ("F", 2), ("D", 5), ("E", None)]
    assert view(ranked_units(*pairs)) == expected
    assert view(ranked_units(*reversed(pairs))) == expected


def test_rank_none_and_nan_go_last_unranked() -> None:
    result = ranked_units(("Z", None), ("A", 10.0), ("M", float("nan")), ("B", None))
    assert view(result) == [("A", 1), ("B", None), ("M", None), ("Z", None)]
    assert [r.score for r in result] == [10.0, None, None, None]


def test_rank_float_noise_ties() -> None:
    result = ranked_units(("B", 0.1 + 0.2), ("A", 0.3))
    assert view(result) == [("A", 1), ("B", 1)]


def test_rank_empty() -> None:
    assert rank([], score=lambda x: x, tiebreak=lambda x: x) == []


# --- shares and investment index --------------------------------------------


def test_share() -> None:
    assert share(18, 20) == pytest.approx(0.9)
    assert share(0, 0) is None
    with pytest.raises(ValueError):
        share(3, 2)


def test_investment_index_clamps_and_normalises() -> None:
    # schedule 0.5: rate 0.5 -> ratio 1 -> 1/1.2; rate 0.9 -> ratio 1.8 capped -> 1;
    # negative rate -> 0; None excluded.
    value = investment_index([0.5, 0.9, -0.1, None], schedule=0.5)
    assert value == pytest.approx((1 / 1.2 + 1.0 + 0.0) / 3)
    assert investment_index([0.5], schedule=0.5, cap=1.0) == pytest.approx(1.0)


def test_investment_index_without_plans_is_none() -> None:
    assert investment_index([None, None], schedule=0.5) is None
    assert investment_index([], schedule=0.5) is None


# --- composite score ---------------------------------------------------------


THREE_PARTS = ScoreWeights(investment=0.6, punctuality=0.2, problems=0.2, nodes=0.0)  # as stored before nodes


def test_composite_score_all_parts() -> None:
    weights = ScoreWeights()
    assert composite_score(0.5, 1.0, 0.75, weights, nodes=0.5) == pytest.approx(
        100 * (0.5 * 0.5 + 0.2 * 1.0 + 0.15 * 0.75 + 0.15 * 0.5))
    assert composite_score(1.0, 1.0, 1.0, weights, nodes=1.0) == pytest.approx(100.0)
    assert composite_score(0.0, 0.0, 0.0, weights, nodes=0.0) == pytest.approx(0.0)


def test_the_default_weights_and_why() -> None:
    """投资 0.5, 按时填报 0.2, 问题办理 0.15, 节点按期 0.15: investment stays the main measure."""
    weights = ScoreWeights()
    assert (weights.investment, weights.punctuality, weights.problems, weights.nodes) == (0.5, 0.2, 0.15, 0.15)


def test_without_counted_nodes_the_other_weights_are_renormalised() -> None:
    """No node counted (None): 0.5 : 0.2 : 0.15 become 0.5/0.85 : 0.2/0.85 : 0.15/0.85."""
    assert composite_score(0.8, 0.4, 1.0) == pytest.approx(100 * (0.5 * 0.8 + 0.2 * 0.4 + 0.15 * 1.0) / 0.85)
    assert composite_score(0.8, 0.4, 1.0, nodes=None) == composite_score(0.8, 0.4, 1.0)


def test_node_punctuality_moves_the_score() -> None:
    on_time = composite_score(0.8, 0.4, 1.0, nodes=1.0)
    missed = composite_score(0.8, 0.4, 1.0, nodes=0.0)
    assert on_time is not None and missed is not None
    assert on_time - missed == pytest.approx(100 * 0.15)


def test_weights_without_nodes_ignore_node_punctuality() -> None:
    assert composite_score(0.8, 0.4, 0.5, THREE_PARTS, nodes=0.0) == composite_score(0.8, 0.4, 0.5, THREE_PARTS)


def test_composite_score_renormalises_missing_problems() -> None:
    # No problems due: investment and punctuality weighted 0.6 : 0.2 -> 0.75 : 0.25.
    assert composite_score(0.8, 0.4, None, THREE_PARTS) == pytest.approx(100 * (0.75 * 0.8 + 0.25 * 0.4))


def test_composite_score_renormalises_two_missing_parts() -> None:
    assert composite_score(None, 0.9, None) == pytest.approx(90.0)


def test_composite_score_nothing_measurable_is_none() -> None:
    assert composite_score(None, None, None) is None
    only_investment = ScoreWeights(investment=1.0, punctuality=0.0, problems=0.0, nodes=0.0)
    assert composite_score(None, 0.9, 0.9, only_investment, nodes=0.9) is None


def test_composite_score_rejects_parts_outside_0_1() -> None:
    with pytest.raises(ValueError):
        composite_score(1.2, 1.0, 1.0)
    with pytest.raises(ValueError):
        composite_score(0.5, -0.1, 1.0)


@pytest.mark.parametrize(
    ("investment", "punctuality", "problems"),
    [(0.6, 0.2, 0.1), (0.5, 0.5, 0.5), (1.2, -0.1, -0.1), (float("nan"), 0.5, 0.5)],
)
def test_invalid_weights(investment: float, punctuality: float, problems: float) -> None:
    with pytest.raises(ValueError):
        ScoreWeights(investment, punctuality, problems, 0.0)


def test_three_old_weights_with_the_default_node_weight_are_refused() -> None:
    with pytest.raises(ValueError, match="sum to 1"):
        ScoreWeights(investment=0.6, punctuality=0.2, problems=0.2)


def test_weights_tolerate_float_rounding() -> None:
    weights = ScoreWeights(investment=0.7, punctuality=0.1, problems=0.2, nodes=0.0)  # sums to 0.99999...
    assert weights.investment == 0.7


# --- praise / urge / warnings ------------------------------------------------


def test_praise_and_urge_long_list() -> None:
    scores = [90.0, 80.0, 70.0, 60.0, 50.0, 40.0, 30.0]
    ranked = ranked_units(*zip("ABCDEFG", scores, strict=True))
    praised, urged = praise_and_urge(ranked, 2)
    assert view(praised) == [("A", 1), ("B", 2)]
    assert view(urged) == [("F", 6), ("G", 7)]


def test_praise_and_urge_short_list_does_not_overlap() -> None:
    ranked = ranked_units(("A", 90.0), ("B", 80.0), ("C", 70.0))
    praised, urged = praise_and_urge(ranked, 2)
    assert view(praised) == [("A", 1), ("B", 2)]
    assert view(urged) == [("C", 3)]
    praised, urged = praise_and_urge(ranked, 5)
    assert view(praised) == [("A", 1), ("B", 2), ("C", 3)]
    assert urged == []


def test_praise_and_urge_keeps_ties_together() -> None:
    ranked = ranked_units(("A", 90.0), ("B", 80.0), ("C", 80.0), ("D", 60.0), ("E", 50.0), ("F", 50.0))
    praised, urged = praise_and_urge(ranked, 2)
    assert view(praised) == [("A", 1), ("B", 2), ("C", 2)]
    assert view(urged) == [("E", 5), ("F", 5)]


def test_praise_and_urge_all_tied_urges_nobody() -> None:
    ranked = ranked_units(("A", 50.0), ("B", 50.0), ("C", 50.0), ("D", 50.0))
    praised, urged = praise_and_urge(ranked, 1)
    assert len(praised) == 4
    assert urged == []


def test_praise_and_urge_skips_unranked_and_zero() -> None:
    ranked = ranked_units(("A", 90.0), ("B", 80.0), ("C", 70.0), ("X", None))
    praised, urged = praise_and_urge(ranked, 1)
    assert view(praised) == [("A", 1)]
    assert view(urged) == [("C", 3)]
    assert praise_and_urge(ranked, 0) == ([], [])
    assert praise_and_urge(ranked_units(("X", None)), 3) == ([], [])
    with pytest.raises(ValueError):
        praise_and_urge(ranked, -1)


def test_figures_that_read_the_same_share_a_place() -> None:
    """-40.21 and -40.16 are both published as -40.2: neither is placed above the other."""
    ranked = rank(["b", "a", "c"], score={"a": -40.21, "b": -40.16, "c": -40.26}.get, tiebreak=lambda x: x)
    assert [(r.item, r.rank) for r in ranked] == [("b", 1), ("a", 1), ("c", 3)]  # the higher listed first
    assert ranked[1].score == -40.21  # the score itself is kept as it was
