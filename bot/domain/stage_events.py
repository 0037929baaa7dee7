"""开工 and 竣工 as events with a date: who may report one, which stage it moves a project to, and which days
are accepted.

A liaison reports that their project started (or finished) on a day; the lead unit confirms it (or says it
is not so), and only then does it count: the project's stage becomes 在建 (竣工), and 开工率/竣工率 count it in
the year of its day (``bot.domain.progress``). An admin's report counts at once.
"""

from __future__ import annotations

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
