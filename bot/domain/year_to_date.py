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
"""

from __future__ import annotations

from datetime import date
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


def counts(report_day: date, *, baseline_year: int, baseline_date: date | None, day: date) -> bool:
    """Whether a live report dated ``report_day`` adds to year-to-date on ``day``."""
    if report_day.year != day.year or report_day > day:
        return False
    covered = covered_until(baseline_year, baseline_date, day)
    return covered is None or report_day > covered
