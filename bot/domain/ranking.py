"""Ranking, composite scores of lead units and towns, praise/urge lists.

Pure functions: no I/O and no clock.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

from bot.domain.rounding import one_decimal

T = TypeVar("T")

# Scores are stored rounded to this many decimals, so that float noise does not show.
_SCORE_DECIMALS = 9


@dataclass(frozen=True)
class Ranked(Generic[T]):
    """One ranked item; ``rank`` is ``None`` when ``score`` is ``None`` (unranked)."""

    item: T
    score: float | None
    rank: int | None


def rank(
    items: Iterable[T],
    score: Callable[[T], float | None],
    tiebreak: Callable[[T], Any],
) -> list[Ranked[T]]:
    """Rank ``items`` by ``score``, highest first, with competition ranking (1, 2, 2, 4).

    Scores are compared as they are published, to one decimal (``bot.domain.rounding``: a gap of
    -40.21 and one of -40.16 both read -40.2): two items shown with the same figure share a rank (a place
    never separates two equal figures), listed by their exact score, then by ``tiebreak`` (ascending, e.g.
    the project code) so the output is deterministic and every other figure shown with them (a completion
    rate beside a gap) still reads in order. Items scored ``None`` (or NaN) come last, ordered by
    ``tiebreak``, with rank ``None``. The scores are returned rounded to 9 decimals (float noise).
    """
    scored: list[tuple[Decimal, float, T]] = []
    unscored: list[T] = []
    for item in items:
        value = score(item)
        if value is None or math.isnan(value):
            unscored.append(item)
        else:
            scored.append((one_decimal(value), round(value, _SCORE_DECIMALS), item))
    scored.sort(key=lambda entry: (-entry[0], -entry[1], tiebreak(entry[2])))
    unscored.sort(key=tiebreak)

    result: list[Ranked[T]] = []
    previous: Decimal | None = None
    current_rank = 0
    for position, (shown, value, item) in enumerate(scored, start=1):
        if shown != previous:
            current_rank, previous = position, shown
        result.append(Ranked(item, value, current_rank))
    result.extend(Ranked(item, None, None) for item in unscored)
    return result


@dataclass(frozen=True)
class ScoreWeights:
    """Weights of the composite score parts; non-negative and summing to 1.

    The defaults keep completed investment the main measure, as the year is judged on money against plan,
    and give the schedule's two daily duties (reporting on time, handling problems on time) and its
    milestones (节点按期, ``bot.domain.nodes.on_time_count``) the rest: 0.5, 0.2, 0.15 and 0.15.
    """

    investment: float = 0.5
    punctuality: float = 0.2
    problems: float = 0.15
    nodes: float = 0.15

    def __post_init__(self) -> None:
        parts = (self.investment, self.punctuality, self.problems, self.nodes)
        if any(not math.isfinite(w) or w < 0 for w in parts):
            raise ValueError("score weights must be finite and non-negative")
        if not math.isclose(sum(parts), 1.0, abs_tol=1e-9):
            raise ValueError(f"score weights must sum to 1, got {sum(parts)}")


DEFAULT_SCORE_WEIGHTS = ScoreWeights()


def share(part: int, whole: int) -> float | None:
    """``part / whole`` as 0..1, ``None`` when ``whole`` is 0 (nothing to measure).

    Use for reporting punctuality (working days with a report / working days) and
    problem handling (problems closed within deadline / problems due).
    """
    if whole < 0 or part < 0 or part > whole:
        raise ValueError(f"need 0 <= part <= whole, got {part}/{whole}")
    return part / whole if whole else None


def investment_index(
    rates: Iterable[float | None],
    schedule: float,
    cap: float = 1.2,
) -> float | None:
    """Investment part of the composite score for a group of projects, 0..1.

    Mean over the group's projects of ``clamp(rate / schedule, 0, cap) / cap``:
    a project exactly on schedule scores 1/cap (0.83 with the default 1.2), one
    at least 20% ahead of schedule scores 1, so being ahead still counts but a
    single overshooting project cannot hide the others. Projects without a plan
    (rate ``None``) are left out; ``None`` when none is left.
    """
    if schedule <= 0 or cap <= 0:
        raise ValueError("schedule and cap must be positive")
    values = [min(max(r / schedule, 0.0), cap) / cap for r in rates if r is not None]
    return sum(values) / len(values) if values else None


def composite_score(
    investment: float | None,
    punctuality: float | None,
    problems: float | None,
    weights: ScoreWeights = DEFAULT_SCORE_WEIGHTS,
    *,
    nodes: float | None = None,
) -> float | None:
    """Weighted composite score, 0..100.

    Each part is a 0..1 measure (see ``investment_index`` and ``share``; ``nodes`` is node punctuality,
    ``bot.domain.nodes``: no counted node, or not given, is ``None``). A part
    that is ``None`` (e.g. no problems were due, so problem handling cannot be
    measured) is excluded and the remaining weights are renormalised to sum to 1,
    so a unit is neither rewarded nor punished for having nothing to measure.
    ``None`` when no part with a positive weight is left.
    """
    parts = (
        (investment, weights.investment),
        (punctuality, weights.punctuality),
        (problems, weights.problems),
        (nodes, weights.nodes),
    )
    total_weight = 0.0
    total = 0.0
    for value, weight in parts:
        if value is None:
            continue
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"score parts must be within 0..1, got {value}")
        total_weight += weight
        total += weight * value
    if total_weight <= 0:
        return None
    return 100.0 * total / total_weight


def praise_and_urge(ranked: Sequence[Ranked[T]], n: int) -> tuple[list[Ranked[T]], list[Ranked[T]]]:
    """(praised, urged): the top ``n`` and bottom ``n`` of a ``rank`` result.

    Unranked items are left out of both. Items tied with the n-th best (or n-th
    worst) are included too, so two units with the same score are never treated
    differently; the lists may therefore hold more than ``n`` items. The lists
    never overlap: when the list is short the top takes precedence and the
    bottom gets what is left. Both lists keep ranking order (best first).
    ``ranked`` must be in the order ``rank`` returns.
    """
    if n < 0:
        raise ValueError("n must be non-negative")
    ordered = [r for r in ranked if r.rank is not None]
    ranks = [r.rank for r in ranked if r.rank is not None]
    if n == 0 or not ordered:
        return [], []
    top_rank = ranks[min(n, len(ranks)) - 1]
    praised_count = sum(1 for value in ranks if value <= top_rank)
    bottom_rank = ranks[max(len(ranks) - n, 0)]
    urged_from = max(praised_count, ranks.index(bottom_rank))
    return ordered[:praised_count], ordered[urged_from:]
