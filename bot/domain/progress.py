"""Schedule progress, completion rate, gap, traffic light and start/finish rates.

Pure functions: no I/O and no clock. The reference day (usually a bulletin's
cut-off day) is always passed in by the caller.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal, NamedTuple

Light = Literal["green", "yellow", "red", "none"]

# Project life cycle, in order: 谋划 → 前期 → 在建 → 竣工 → 投产.
STAGES: tuple[str, ...] = ("谋划", "前期", "在建", "竣工", "投产")
STARTED_STAGES: frozenset[str] = frozenset(STAGES[2:])
FINISHED_STAGES: frozenset[str] = frozenset(STAGES[3:])

# Gaps are rounded to this many decimals so float noise (0.9 - 1.0 = -0.0999...98)
# cannot move a project across a light threshold.
_GAP_DECIMALS = 9


def schedule_progress(day: date) -> float:
    """序时进度: share of ``day``'s year elapsed at the end of ``day``, 0..1.

    ``day_of_year / days_in_year``: 1 Jan is 1/365 (1/366 in a leap year),
    31 Dec is 1.0, 30 June is 181/365 (182/366 in a leap year).
    """
    days_in_year = 366 if calendar.isleap(day.year) else 365
    return day.timetuple().tm_yday / days_in_year


def previous_week_end(today: date) -> date:
    """Last day (Sunday) of the week before ``today``'s week (weeks run Mon–Sun).

    This is the cut-off day of a weekly bulletin issued on ``today``.
    """
    return today - timedelta(days=today.isoweekday())


def completion_decimal(done: Decimal, plan: Decimal | None) -> Decimal | None:
    """Year-to-date completed investment ÷ annual planned investment (万元), in decimal: what a difference of two
    rates is worked out from (binary fractions lose its last digits).

    ``None`` when the plan is missing, zero or negative (shown as "无年度计划");
    never divides by zero. The rate may exceed 1 when the plan is overshot.
    """
    if plan is None or plan <= 0:
        return None
    return done / plan


def completion_rate(done: Decimal, plan: Decimal | None) -> float | None:
    """``completion_decimal`` as a float: the completion rate every figure shows and ranks by."""
    rate = completion_decimal(done, plan)
    return None if rate is None else float(rate)


def gap_points(rate: float | None, schedule: float) -> float | None:
    """Completion rate minus schedule progress, in percentage points.

    Negative means behind schedule (e.g. -12.3). ``None`` when ``rate`` is ``None``.
    """
    if rate is None:
        return None
    return round((rate - schedule) * 100.0, _GAP_DECIMALS)


@dataclass(frozen=True)
class LightThresholds:
    """Traffic-light settings (percentage points, month/day cut-off, fraction)."""

    yellow_from_points: float = 10.0
    red_from_points: float = 30.0
    late_year_cutoff: tuple[int, int] = (9, 30)
    late_year_min_rate: float = 0.30

    def __post_init__(self) -> None:
        if not 0 <= self.yellow_from_points <= self.red_from_points:
            raise ValueError("need 0 <= yellow_from_points <= red_from_points")
        month, day_ = self.late_year_cutoff
        date(2001, month, day_)  # raises ValueError on an impossible month/day
        if not 0 <= self.late_year_min_rate <= 1:
            raise ValueError("late_year_min_rate must be within 0..1")


DEFAULT_LIGHT_THRESHOLDS = LightThresholds()


def traffic_light(
    rate: float | None,
    gap: float | None,
    day: date,
    thresholds: LightThresholds = DEFAULT_LIGHT_THRESHOLDS,
) -> Light:
    """Traffic light for one project on ``day`` (the day ``gap`` was computed for).

    Literal reading of the product rule "green on/above schedule, yellow 10–30
    points behind, red more than 30 behind or under 30% of the annual plan after
    30 September", with the defaults:

    - ``none``: no plan (``rate`` or ``gap`` is ``None``);
    - ``red``: more than 30 points behind (gap < -30), or ``day`` is strictly after
      30 September and the rate is below 30% (on 30 September itself this rule
      does not apply yet);
    - ``yellow``: 10 to 30 points behind inclusive (-30 <= gap <= -10);
    - ``green``: otherwise, i.e. less than 10 points behind or ahead. The rule
      leaves 0–10 points behind unlabelled and only flags from 10, so it is green.
    """
    if rate is None or gap is None:
        return "none"
    if (day.month, day.day) > thresholds.late_year_cutoff and rate < thresholds.late_year_min_rate:
        return "red"
    if gap < -thresholds.red_from_points:
        return "red"
    if gap <= -thresholds.yellow_from_points:
        return "yellow"
    return "green"


@dataclass(frozen=True)
class StageInfo:
    """What the start/finish rates need to know about one project.

    ``stage`` is one of ``STAGES``. ``started_on``/``finished_on`` are the actual
    dates when known.
    """

    stage: str
    planned_start: date | None = None
    planned_finish: date | None = None
    started_on: date | None = None
    finished_on: date | None = None

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f"unknown stage: {self.stage!r}")


class RateCount(NamedTuple):
    """A counted rate: ``numerator / denominator``, ``None`` when nothing to count."""

    numerator: int
    denominator: int
    rate: float | None


def _count(pairs: Iterable[tuple[bool, bool]]) -> RateCount:
    numerator = denominator = 0
    for in_scope, achieved in pairs:
        if in_scope:
            denominator += 1
            numerator += achieved
    return RateCount(numerator, denominator, numerator / denominator if denominator else None)


def _in_year(day: date | None, year: int) -> bool:
    return day is not None and day.year == year


def start_rate(projects: Iterable[StageInfo], year: int) -> RateCount:
    """开工率 for ``year``.

    Denominator: projects planned to start in ``year``, plus projects that actually
    started in ``year`` without being planned to (early starts). Projects carried
    over from earlier years (续建) are not counted. Numerator: those of them whose
    stage is 在建, 竣工 or 投产.
    """
    return _count(
        (
            _in_year(p.planned_start, year) or _in_year(p.started_on, year),
            p.stage in STARTED_STAGES,
        )
        for p in projects
    )


def finish_rate(projects: Iterable[StageInfo], year: int) -> RateCount:
    """竣工率 for ``year``.

    Denominator: projects planned to finish in ``year``, plus projects that actually
    finished in ``year`` without being planned to. Numerator: those of them whose
    stage is 竣工 or 投产.
    """
    return _count(
        (
            _in_year(p.planned_finish, year) or _in_year(p.finished_on, year),
            p.stage in FINISHED_STAGES,
        )
        for p in projects
    )


def start_and_finish_rates(projects: Iterable[StageInfo], year: int) -> tuple[RateCount, RateCount]:
    """(开工率, 竣工率) for ``year``; see ``start_rate`` and ``finish_rate``."""
    items = list(projects)
    return start_rate(items, year), finish_rate(items, year)
