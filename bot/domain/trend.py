"""Completion over the year: the points of the web pages' charts and of a leader's 4-week trend, from sums
the storage reads.

Year-to-date on a day is the one rule of ``bot.domain.year_to_date`` (the dated baselines of the year plus
the reports they do not cover, up to that day); completion against the plan is ``completion_rate`` and the
schedule ``schedule_progress`` (``bot.domain.progress``). These functions only accumulate the daily sums.
"""

from __future__ import annotations

import calendar
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from bot.domain.duties import entered_by
from bot.domain.periods import measured_on, period_containing, previous_period
from bot.domain.progress import completion_rate, schedule_progress
from bot.domain.standings import ProjectStanding, totals
from bot.domain.year_to_date import BaseDays, base_days


@dataclass(frozen=True)
class TrendPoint:
    """Completion and schedule on one day (a week's last day, or today)."""

    day: date
    done: Decimal
    rate: float | None
    schedule: float


def week_ends(year: int, today: date) -> list[date]:
    """The Sundays of ``year`` up to ``today``, then ``today`` itself (the week under way)."""
    day = date(year, 1, 1)
    day += timedelta(days=6 - day.weekday())
    last = min(today, date(year, 12, 31))
    days = []
    while day < last:
        days.append(day)
        day += timedelta(days=7)
    days.append(last)
    return days


def _cumulative(baseline: Decimal, daily: Mapping[date, Decimal], days: list[date]) -> list[Decimal]:
    ordered = sorted(daily.items())
    totals, running, i = [], baseline, 0
    for day in days:
        while i < len(ordered) and ordered[i][0] <= day:
            running += ordered[i][1]
            i += 1
        totals.append(running)
    return totals


def weekly_trend(*, year: int, today: date, daily: Mapping[date, Decimal],
                 entered: Mapping[date, tuple[Decimal, Decimal]]) -> list[TrendPoint]:
    """Completion against the plan at the end of each week of ``year`` so far, with 序时进度 then.

    ``daily``: the reports that count on top of the baselines of the year, by day; ``entered``: the baselines
    and plans of the year by the day their projects came into the ledger (storage.entered): a week counts those
    of the projects entered by its end (a project imported since was not in it)."""
    days = week_ends(year, today)
    points = []
    for day, reported in zip(days, _cumulative(Decimal(0), daily, days), strict=True):
        done = sum((base for d, (base, _plan) in entered.items() if d <= day), reported)
        plan = sum((plan for d, (_base, plan) in entered.items() if d <= day), Decimal(0))
        points.append(TrendPoint(day, done, completion_rate(done, plan), schedule_progress(day)))
    return points


@dataclass(frozen=True)
class MonthPoint:
    """A month of one project's year: done by its end (cumulative) and what the plan asks by then."""

    month: int
    done: Decimal | None  # None: a month still to come, or one a ledger base blurs (``blurred``)
    planned: Decimal | None  # plan × 序时进度 at the month's end; None without a plan
    blurred: bool = False  # a ledger base dated after the month's end (or today) blurs its done: not given


def month_ends(year: int, today: date) -> list[date]:
    """The days a project's monthly chart measures: each month's end of ``year`` up to ``today``, then
    ``today`` (the month under way)."""
    ends = [date(year, m, calendar.monthrange(year, m)[1]) for m in range(1, 13)]
    return [min(end, today) for end in ends if date(year, end.month, 1) <= today]


def monthly_cumulative(*, year: int, today: date, baseline: Decimal, daily: Mapping[date, Decimal],
                       plan: Decimal | None, bases: Mapping[date, int] | None = None) -> list[MonthPoint]:
    """The twelve months of ``year``: cumulative done up to each month's end (or today) against the plan.

    ``bases``: the days the project's non-zero ledger bases are dated (``storage.ledger_bases.base_days``).
    A month whose end (or today) comes before a base's day has no done (``blurred``), as a trend's weeks
    (``blurred_on``): its year-to-date holds the base whole, what was done up to the base's day."""
    ends = [date(year, m, calendar.monthrange(year, m)[1]) for m in range(1, 13)]
    done = _cumulative(baseline, daily, [min(end, today) for end in ends])
    points = []
    for month, (end, total) in enumerate(zip(ends, done, strict=True), start=1):
        started = date(year, month, 1) <= today
        planned = (plan * Decimal(str(round(schedule_progress(end), 6)))) if plan and plan > 0 else None
        blurred = started and blurred_on(min(end, today), bases or {})
        points.append(MonthPoint(month, total if started and not blurred else None, planned, blurred))
    return points


def recent_week_ends(cutoff: date, weeks: int = 4) -> list[date]:
    """The points of a lead official's trend up to ``cutoff``, oldest first: the cut-off days of the ``weeks`` - 1
    weekly bulletins cut before it (``bot.domain.periods.measured_on``: a week spanning two years is cut on
    12-31), then ``cutoff`` itself; those of ``cutoff``'s year only (a year is measured against its own plans).
    A leader finds each earlier point in a bulletin he was sent."""
    week = period_containing("weekly", cutoff)
    days = [cutoff]
    while len(days) < weeks:
        if measured_on(week) < days[0]:
            days.insert(0, measured_on(week))
        week = previous_period(week)
    return [day for day in days if day.year == cutoff.year]


def recent_trend(projects: Iterable[ProjectStanding], later: Mapping[str, Sequence[Decimal]],
                 days: Sequence[date], entered: Mapping[str, date | None]) -> list[TrendPoint]:
    """Completion of ``projects`` taken together (``bot.domain.standings.totals``) at the end of each of
    ``days``, the last of which is their standings' cut-off day, with 序时进度 then.

    ``later``: project code → for each of ``days`` but the last, what counted after that day up to the cut-off
    (``storage.report_figures.counted_after``): year-to-date then is year-to-date on the cut-off day less it.
    ``entered``: project code → the day it came into the ledger (``storage.entered.entered_on``; None or absent:
    not known, long ago): each point counts the projects entered by its day (``bot.domain.duties.entered_by``), as
    that day's bulletin counted them; a project imported since was in none of its figures."""
    projects = list(projects)
    points = []
    for i, day in enumerate(days):
        then = [p for p in projects if entered_by(day, entered.get(p.code))]
        whole = totals(then)
        done = whole.done
        if i < len(days) - 1:
            done -= sum((later[p.code][i] for p in then if p.code in later), Decimal(0))
        points.append(TrendPoint(day, done, completion_rate(done, whole.plan), schedule_progress(day)))
    return points


# The bases that can blur a point, by its day: the same for every point (the days of ``storage.ledger_bases.
# base_days``), or those of the projects the point counts (``counted_bases``).
Bases = Mapping[date, int] | Callable[[date], Mapping[date, int]]


def unblurred(points: Sequence[TrendPoint], bases: Bases) -> tuple[list[TrendPoint], BaseDays]:
    """The points of a trend no ledger base blurs, and the bases that blurred those left out (``later``).

    ``bases``: the days the non-zero bases of the projects measured are dated, each with how many projects
    (``storage.ledger_bases.base_days``). A base counts on every day of its year, so a point dated before a
    base's day holds what was done up to that day (the rule of ``bot.domain.year_to_date.base_days``, as if
    the point were a bulletin's cut-off day): its completion is too high, by how much nobody can tell. When the
    points count different projects (a trend counts those entered by each point's day: ``recent_trend``,
    ``weekly_trend``), ``bases`` gives by a point's day the bases of those it counts (``counted_bases``): a base of
    a project in no point before its import blurs none of them."""
    exact, left = exact_days([p.day for p in points], bases)
    return [p for p in points if p.day in exact], left


def exact_days(days: Sequence[date], bases: Bases) -> tuple[set[date], BaseDays]:
    """The days of ``days`` (a trend's points) no ledger base blurs, and the bases that blur the others (``later``,
    each day with the most projects it blurs a point with), as ``unblurred`` reads ``bases``."""
    exact: set[date] = set()
    left_out = Counter[date]()
    for day in days:
        later = base_days(bases(day) if callable(bases) else bases, start=day, cutoff=day, opens_year=True).later
        if not later:
            exact.add(day)
        for base, count in later:
            left_out[base] = max(left_out[base], count)
    return exact, BaseDays(later=tuple(sorted(left_out.items())))


def counted_bases(bases: Mapping[tuple[date, date | None], int], day: date) -> Counter[date]:
    """The days of the bases of the projects a point of ``day`` counts (those entered by it), each with how many
    projects; ``bases``: (the base's day, the day its project came into the ledger, None: not known, long ago) →
    how many projects (``storage.ledger_bases.base_days_entered``, ``bases_entered``)."""
    counted = Counter[date]()
    for (base, entered), count in bases.items():
        if entered_by(day, entered):
            counted[base] += count
    return counted


def bases_entered(base_day: Mapping[str, date],
                  entered: Mapping[str, date | None]) -> Counter[tuple[date, date | None]]:
    """``counted_bases``'s pairs of some projects: project code → its base's day (``storage.ledger_bases.
    base_day_by_project``) and → the day it came into the ledger (as ``recent_trend`` takes it)."""
    return Counter((base, entered.get(code)) for code, base in base_day.items())


def blurred_on(day: date, bases: Mapping[date, int]) -> bool:
    """Whether a ledger base blurs year-to-date on ``day`` as a point of a chart: a non-zero base of ``day``'s
    year dated after it (``bases`` as ``unblurred`` takes them) counts whole on ``day``, so the point holds what
    was done up to the base's day."""
    return bool(base_days(bases, start=day, cutoff=day, opens_year=True))


def blurring(days: Sequence[date], bases: Bases) -> BaseDays:
    """The bases that blur a trend's points on ``days`` (oldest first), as ``later``: those dated after its
    first day that it counts (``unblurred``); none when every point is exact."""
    return exact_days(days, bases)[1]
