"""开工 and 竣工 as events with a date: who may report one, which stage it moves a project to, and which days
are accepted.

A liaison reports that their project started (or finished) on a day; the lead unit confirms it (or says it
is not so), and only then does it count: the project's stage becomes 在建 (竣工), and 开工率/竣工率 count it in
the year of its day (``bot.domain.progress``). An admin's report counts at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bot.domain.dates import split_leading_day
from bot.domain.progress import FINISHED_STAGES, STAGES

START, FINISH = "start", "finish"
KINDS = (START, FINISH)
# A finished project set back (to 在建 or earlier): its nodes are expected again from that day. Recorded
# confirmed, like the 竣工 a stage change makes, never reported.
REOPEN = "reopen"
# The stage a confirmed event moves its project to, and the stages a project may be in to report it.
TARGET_STAGE = {START: "在建", FINISH: "竣工"}
FROM_STAGES = {START: frozenset({"谋划", "前期"}), FINISH: frozenset({"在建"})}
PENDING, CONFIRMED, REFUSED = "pending", "confirmed", "refused"
# Where the day of a 开工, 竣工 or reopening recorded by a change of the stage came from: typed with the change
# (an admin's /project_set), the ledger's own day (实际开工, 竣工日期), or none given: the day of the change.
DAY_TYPED, DAY_LEDGER, DAY_OF_CHANGE = "typed", "ledger", "change"
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


def stage_move(before: str, after: str) -> str | None:
    """The event a change of a project's stage makes: ``FINISH`` when it becomes finished (竣工/投产, from a
    stage that is not), ``REOPEN`` when it goes back from finished, ``START`` when it goes from 谋划/前期 to
    在建, else None (竣工 → 投产 changes nothing, nor does a project added in a stage that is not finished)."""
    if (before in FINISHED_STAGES) != (after in FINISHED_STAGES):
        return FINISH if after in FINISHED_STAGES else REOPEN
    if before in FROM_STAGES[START] and after == TARGET_STAGE[START]:
        return START
    return None


def added_moves(stage: str, *, started_dated: bool) -> tuple[str, ...]:
    """The events a project a ledger adds in ``stage`` makes, in order: ``FINISH`` when it is finished
    (``stage_move``), and a ``START`` before it when the ledger dates its 开工 (实际开工) and the stage is past
    谋划/前期, so that a ledger exported with its days gives a fresh database the same 开工 and 竣工 days. A
    project added 在建 without a day of its 开工 makes none, as before."""
    moves = (START,) if started_dated and stage not in FROM_STAGES[START] else ()
    return moves + ((FINISH,) if stage in FINISHED_STAGES else ())


def audit_made_finished(action: str, detail: dict[str, Any]) -> bool:
    """Whether a project's audit entry records it made finished (竣工/投产) from a stage that is not: an admin's
    change of the stage ({"field": "stage", "before"/"from": …, "after"/"to": …}), a ledger import's
    ({"changed": {"stage": …}, "before": {"stage": …}}), or a project added finished (``project.create`` with
    its "stage"). What dates the finish of a project finished before the finish days were recorded."""
    if action == "project.create":
        return detail.get("stage") in FINISHED_STAGES
    if action != "project.update":
        return False
    if detail.get("field") == "stage":
        before, after = detail.get("before", detail.get("from")), detail.get("after", detail.get("to"))
    else:
        changed, was = detail.get("changed"), detail.get("before")
        if not isinstance(changed, dict) or "stage" not in changed:
            return False
        before, after = (was.get("stage") if isinstance(was, dict) else None), changed["stage"]
    return stage_move(str(before or ""), str(after or "")) == FINISH


def move_day(*, given: date | None, today: date) -> tuple[date, str]:
    """The day a stage change counts from and where it came from: the day given with it when there is one
    (``DAY_TYPED``), else the day of the change (``DAY_OF_CHANGE``)."""
    return (given, DAY_TYPED) if given is not None else (today, DAY_OF_CHANGE)


def ledger_day(given: date | None, *, today: date) -> tuple[date, str]:
    """The day a ledger's 开工 or 竣工 counts from: the day the ledger gives for it (its 实际开工 or 竣工日期
    column, ``DAY_LEDGER``), else the day of the import (``DAY_OF_CHANGE``). Not the ledger's 截至 day: that
    dates its money, and a stage it reports without a day is news of the day it comes in, so that bulletins
    already sent read the same when made again."""
    if given is not None and given <= today:
        return given, DAY_LEDGER
    return today, DAY_OF_CHANGE


@dataclass(frozen=True)
class StageMove:
    """A project made finished (``FINISH``) or taken back from finished (``REOPEN``) by a change of its stage,
    from ``day``; ``day_from`` says where the day came from (``DAY_TYPED``, ``DAY_LEDGER``, ``DAY_OF_CHANGE``)."""

    project_id: int
    kind: str
    day: date
    day_from: str

    def audit_detail(self) -> dict[str, str]:
        """What the audit entry of the stage change adds: the move, its day and where that day came from."""
        return {"stage_move": self.kind, "stage_day": self.day.isoformat(), "stage_day_from": self.day_from}


@dataclass(frozen=True)
class TypedStage:
    """A stage an admin typed, and the day it took effect when he wrote one after it."""

    stage: str
    day: date | None = None


def typed_stage(text: str, *, before: str, today: date) -> TypedStage | str:
    """Read 「竣工」 or 「竣工 2026-11-20」 (the day the project finished, started, or went back to 在建, in any form
    ``bot.domain.dates`` reads, meant as a past day) typed to change a project in stage ``before``; else why
    not: "bad_stage", "bad_stage_day" (not a day, later than today, older than ``OLDEST_DAYS``), or
    "stage_day_unused" (a day, but the change neither starts nor finishes the project, nor takes it back from
    finished)."""
    stage, _, rest = text.strip().partition(" ")
    if stage not in STAGES:
        return "bad_stage"
    if not rest.strip():
        return TypedStage(stage)
    day, left = split_leading_day(rest, today=today, past=True)
    if day is None or left.strip() or day > today or day < today - timedelta(days=OLDEST_DAYS):
        return "bad_stage_day"
    if stage_move(before, stage) is None:
        return "stage_day_unused"
    return TypedStage(stage, day)
