"""The one rule for a project's year-to-date completed investment (本年累计完成).

The ledger gives a dated baseline: the year's completed investment up to a day (截至某日累计完成,
``done_before`` as of ``baseline_date``, for ``baseline_year``). Each year keeps its own (storage.ledger_bases):
year-to-date on D reads the base of D's year. On a day D:

    year-to-date(D) = baseline, when it is of D's year (else 0)
                      + the live reports of D's year dated after the baseline's day, up to D.

Reports on or before the baseline's day are already in the baseline and never count again. A baseline of
another year counts nothing and covers nothing (every report of D's year counts). A baseline without a day
(imported before baselines were dated) covers no report of its year.

storage.projects (a project's card and a new report's figures) and storage.report_figures (bulletins,
rankings) both apply this rule in their SQL; these helpers are what they share.

A base counts on every day of its year, so a period measured around a base's day cannot split it:
``BaseDays`` says which bases a bulletin has to own up to (a 本期 without the base's part spent in the
period, a 年度累计 holding what was done after its cut-off day).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal


def baseline_on(done_before: Decimal, baseline_year: int, day: date) -> Decimal:
    """The part of year-to-date on ``day`` that comes from the ledger's baseline."""
    return done_before if baseline_year == day.year and done_before is not None else Decimal(0)


def covered_until(baseline_year: int, baseline_date: date | None, day: date) -> date | None:
    """The last day whose reports the baseline already counts, for year-to-date on ``day``; None when it
    covers none (undated, or of another year)."""
    if baseline_date is None or baseline_year != day.year or baseline_date.year != day.year:
        return None
    return baseline_date


def in_base(report_day: date, covered: date | None) -> bool:
    """Whether the ledger base dated ``covered`` (``covered_until``) already holds what was done on
    ``report_day``: a report of that day, entered or corrected, moves no figure."""
    return covered is not None and report_day <= covered


def counts(report_day: date, *, baseline_year: int, baseline_date: date | None, day: date) -> bool:
    """Whether a live report dated ``report_day`` adds to year-to-date on ``day``."""
    if report_day.year != day.year or report_day > day:
        return False
    return not in_base(report_day, covered_until(baseline_year, baseline_date, day))


@dataclass(frozen=True)
class BaseDays:
    """The ledger bases a bulletin's figures cannot split, as (the base's day, how many projects) in day order.

    ``within``: dated inside a period that does not open its year (from its first day to its cut-off day).
    Its 本期 is year-to-date's growth over the period, and the base counts on every day of its year, so
    what the base holds of the period's days (its first day to the base's day) is in no 本期, only in the
    年度累计; how much that is, nobody can tell. ``later``: dated after the cut-off day, so the 年度累计 on
    the cut-off day holds what was done up to that later day (a period rendered after a later ledger).
    """

    within: tuple[tuple[date, int], ...] = ()
    later: tuple[tuple[date, int], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.within or self.later)


def base_days(days: Mapping[date, int], *, start: date, cutoff: date, opens_year: bool) -> BaseDays:
    """Which of the year's non-zero bases (their day → how many projects have a base of that day) a period
    from ``start`` measured on ``cutoff`` cannot split. A period that opens its year (``opens_year``) counts
    its bases whole in its 本期, which is its year-to-date: none is ``within``. A base of nothing (0) hides
    no money and is never given; neither is an undated one (it counts every report of its year)."""
    within = () if opens_year else tuple(sorted((d, n) for d, n in days.items() if start <= d <= cutoff))
    later = tuple(sorted((d, n) for d, n in days.items() if d > cutoff and d.year == cutoff.year))
    return BaseDays(within=within, later=later)


def change_bases(days: Mapping[date, int], *, since: date | None, cutoff: date) -> BaseDays:
    """The bases a 较上期 (the change since the previous period's cut-off day ``since``: 名次, completion, a
    group's score) cannot see through, as ``base_days`` gives them for the days after ``since`` up to
    ``cutoff`` (``within``) and after it (``later``). The previous figures are computed with today's bases, and a
    base counts on every day of its year: dated after ``since``, it puts in the previous figure what was done
    from ``since`` to its day, which the change then leaves out. None when nothing is compared (no previous
    period, or one of another year: bot.domain.changes)."""
    if since is None or since.year != cutoff.year or since >= cutoff:
        return BaseDays()
    return base_days(days, start=since + timedelta(days=1), cutoff=cutoff, opens_year=False)
