"""开工 and 竣工 as events with a date: who may report one, which stage it moves a project to, and which days
are accepted.

A liaison reports that their project started (or finished) on a day; the lead unit confirms it (or says it
is not so), and only then does it count: the project's stage becomes 在建 (竣工), and 开工率/竣工率 count it in
the year of its day (``bot.domain.progress``). An admin's report counts at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bot.domain.dates import split_leading_day
from bot.domain.progress import FINISHED_STAGES, STAGES, STARTED_STAGES

START, FINISH = "start", "finish"
KINDS = (START, FINISH)
# A finished project set back (to 在建 or earlier): its nodes are expected again from that day. Recorded
# confirmed, like the 竣工 a stage change makes, never reported.
REOPEN = "reopen"
# The stage a confirmed event moves its project to, and the stages a project may be in to report it.
TARGET_STAGE = {START: "在建", FINISH: "竣工"}
FROM_STAGES = {START: frozenset({"谋划", "前期"}), FINISH: frozenset({"在建"})}
PENDING, CONFIRMED, REFUSED = "pending", "confirmed", "refused"
# A confirmed 开工 taken back: its project set back to 谋划/前期 by an admin (``start_withdrawn``). Kept, not counted.
WITHDRAWN = "withdrawn"
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


def _back_before_start(before: str, after: str) -> bool:
    return before in STARTED_STAGES and after in FROM_STAGES[START]


def start_withdrawn(before: str, after: str, moves: Sequence[tuple[str, date]]) -> date | None:
    """The day of the 开工 a change of a project's stage from ``before`` to ``after`` takes back, its recorded
    moves (kind, day) being ``moves``: a project set from a started stage back to 谋划/前期 whose only move is its
    开工 (set 在建 by mistake, or reported started wrongly) is read 谋划/前期 on every day once it is taken back,
    as a stage history has no move back to before a 开工 (the ledger import keeps such a project 在建). None when
    the change takes back none."""
    if _back_before_start(before, after) and len(moves) == 1 and moves[0][0] == START:
        return moves[0][1]
    return None


def start_kept_by(before: str, after: str, moves: Sequence[tuple[str, date]]) -> list[tuple[str, date]]:
    """The recorded moves that keep a project from going back from ``before`` to 谋划/前期 (``after``): all of them
    when it has any besides a lone 开工 (a 竣工, a reopening: its history would read it started); the change is
    then refused. Empty when the change may be made."""
    if not _back_before_start(before, after) or start_withdrawn(before, after, moves) is not None:
        return []
    return list(moves)


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


def added_start(stage: str, started: date | None, *, today: date) -> date | None:
    """The day a project the ledger adds already started (在建) or finished (竣工/投产) is started from: its 实际开工
    when the ledger gives one (not to come); else None, and no 开工 is recorded: the project reads as in its stage
    (or, finished, as before its 竣工) on every earlier day, as it did before the ledger had the column."""
    if started is None or started > today or stage not in STARTED_STAGES:
        return None
    return started


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


def moves_audit_detail(moves: list[StageMove]) -> dict[str, str]:
    """What the audit entry of a row adds for the moves the import records for it, in their order: the last
    one's ``audit_detail``, and the day of a 开工 recorded before it (a project added finished, with its
    实际开工) as ``start_day``."""
    if not moves:
        return {}
    detail = moves[-1].audit_detail()
    starts = [move.day for move in moves[:-1] if move.kind == START]
    if starts:
        detail["start_day"] = starts[-1].isoformat()
    return detail


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
