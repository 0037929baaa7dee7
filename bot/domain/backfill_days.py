"""Which past days the 项目办 may enter afterwards (补报): a plain rule of dates.

A 补报 is the report of a past working day on which the project owed one and has none. It is refused for:

- today (``today``): the liaison reports it;
- a day before the project was entered in the ledger (``before_entry``): nothing was owed then
  (``bot.domain.duties.entered_by``), and the 累计完成 the ledger entered it with already holds what was done
  before;
- a day the year's ledger base already counts (``covered``: on or before the day its 截至某日累计完成 is dated,
  ``bot.domain.year_to_date``): a report there would never count in 年度累计, whatever the reply said;
- a day off (``not_working``): no report is owed.

``bound`` is the day the refusal rests on (the day the project was entered, the base's 截至 day) and ``earliest``
the first working day that may be entered instead, when there is one before today.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from bot.domain.duties import entered_by
from bot.domain.workdays import WorkCalendar
from bot.domain.year_to_date import in_base


@dataclass(frozen=True)
class BackfillRefusal:
    """Why a day cannot be entered afterwards, and the first day that can (None: none before today)."""

    why: str  # "today", "before_entry", "covered" or "not_working"
    bound: date | None = None  # before_entry: the day the project was entered; covered: the base's 截至 day
    earliest: date | None = None


def backfill_refusal(
    day: date, *, today: date, calendar: WorkCalendar, entered: date | None, covered_until: date | None
) -> BackfillRefusal | None:
    """Why ``day`` cannot be entered afterwards, or None when it can. ``entered``: the local day the project came
    into the ledger (None: not known, long ago); ``covered_until``: the last day the ledger base of ``day``'s
    year counts (None: it counts none)."""
    if day >= today:
        return BackfillRefusal("today")
    if not entered_by(day, entered):
        return BackfillRefusal("before_entry", entered, _earliest(entered, today, calendar))
    if covered_until is not None and in_base(day, covered_until):
        return BackfillRefusal("covered", covered_until, _earliest(covered_until + timedelta(days=1), today, calendar))
    if not calendar.is_working_day(day):
        return BackfillRefusal("not_working")
    return None


def _earliest(first: date | None, today: date, calendar: WorkCalendar) -> date | None:
    """The first working day from ``first`` on, if it is before today."""
    if first is None:
        return None
    day = calendar.add_working_days(first, 0)
    return day if day < today else None
