"""开工 and 竣工 as events with a date: who may report one, which stage it moves a project to, and which days
are accepted.

A liaison reports that their project started (or finished) on a day; the lead unit confirms it (or says it
is not so), and only then does it count: the project's stage becomes 在建 (竣工), and 开工率/竣工率 count it in
the year of its day (``bot.domain.progress``). An admin's report counts at once.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

START, FINISH = "start", "finish"
KINDS = (START, FINISH)
# The stage a confirmed event moves its project to, and the stages a project may be in to report it.
TARGET_STAGE = {START: "在建", FINISH: "竣工"}
FROM_STAGES = {START: frozenset({"谋划", "前期"}), FINISH: frozenset({"在建"})}
PENDING, CONFIRMED, REFUSED = "pending", "confirmed", "refused"
OLDEST_DAYS = 366  # how far back a day may be reported (a year: last year's start, entered late)


def refusal(kind: str, *, stage: str, day: date, today: date, pending: bool) -> str | None:
    """Why this event cannot be reported now ("stage", "future", "too_old", "pending"), or None."""
    if stage not in FROM_STAGES[kind]:
        return "stage"
    if day > today:
        return "future"
    if day < today - timedelta(days=OLDEST_DAYS):
        return "too_old"
    if pending:
        return "pending"
    return None


def not_started(stage: str, planned_start: date | None, cutoff: date) -> bool:
    """A project planned to start by `cutoff` that has not (still 谋划 or 前期): on the 预警 list."""
    return planned_start is not None and planned_start <= cutoff and stage in FROM_STAGES[START]


_NO_YEAR_MONTH_DAY = re.compile(r"^[^0-9]*[0-9]{1,2}\s*[月/.-]\s*[0-9]{1,2}")
HALF_YEAR = timedelta(days=183)


def in_the_past(day: date, text: str, today: date) -> date:
    """A month and day typed without a year ("12月1日", "12-01") mean that day of this year, or of last year
    when this year's is more than half a year ahead ("12月28日" typed in January): the date reader takes
    the next such day, as promised dates want; what started or finished did so already."""
    if re.search(r"[0-9]{4}", text) or not _NO_YEAR_MONTH_DAY.match(text.strip()):
        return day
    try:
        this_year = day.replace(year=today.year)
    except ValueError:  # 29 February
        this_year = day.replace(year=today.year, day=28)
    if this_year <= today + HALF_YEAR:
        return this_year
    try:
        return this_year.replace(year=today.year - 1)
    except ValueError:
        return this_year.replace(year=today.year - 1, day=28)
