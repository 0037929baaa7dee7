"""A project's stage on a past day, read from the history of its recorded moves.

Every confirmed 开工 (``START``), 竣工 (``FINISH``) and reopening (``REOPEN``, finished → 在建 or earlier) is a
move of a day (``bot.domain.stage_events``). A figure of a day (reports due, 应开工未开工, 已竣工, 竣工率, a node
closed or overdue) reads the stage the project was in on that day, so that it reads the same however late it is
made: a project finished on D1, reopened on D2 and finished again on D3 is 竣工 from D1, 在建 from D2 and 竣工
again from D3.

The project's stage now holds after its last move; before a move it was in the stage that move starts from:
前期 before a 开工, 在建 before a 竣工 (unless a 竣工 came before it: a ledger's 竣工日期 may date a finish
earlier than the day it was recorded from), finished before a reopening. A project with no move recorded is read in
its stage now on every day (a project finished before the finish days were recorded is finished on every day:
``bot.domain.nodes.ALWAYS``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import NamedTuple

from bot.domain.nodes import ALWAYS
from bot.domain.progress import FINISHED_STAGES, STAGES
from bot.domain.stage_events import FINISH, FROM_STAGES, REOPEN, START, TARGET_STAGE

__all__ = ["Move", "days_up_to", "finished_from", "last_finish", "ledger_days", "stage_on", "stage_then"]

# A finished project's stage before a reopening, when its stage now does not say which: the stage a 竣工 makes.
FINISHED = TARGET_STAGE[FINISH]
# The stage a move starts from (a reopening: finished): 前期 (the later of the stages a 开工 comes from, as 应开工未开工
# counts either) before a 开工, 在建 before a 竣工.
_BEFORE = {START: STAGES[STAGES.index(TARGET_STAGE[START]) - 1], FINISH: TARGET_STAGE[START]}


class Move(NamedTuple):
    """One confirmed move of a project's stage: its kind (``START``, ``FINISH``, ``REOPEN``) and day."""

    kind: str
    day: date


def _ordered(moves: Sequence[Move]) -> list[Move]:
    """The moves by day; those of one day in the order given (the order they were recorded)."""
    return sorted(moves, key=lambda move: move.day)


def stage_on(stage: str, moves: Sequence[Move], day: date) -> str:
    """The stage a project now in ``stage``, with these moves recorded, was in on ``day``: ``stage`` when no
    move is later than ``day``, else the stage the first later move starts from (finished before a 竣工 that
    follows a 竣工: a finish a later ledger dated earlier)."""
    return _stage_on(stage, _ordered(moves), day)


def finished_from(stage: str, moves: Sequence[Move], day: date) -> date | None:
    """The day from which a project was finished as it stood on ``day``: None when it was not finished then
    (``stage_on``), else the day of its last 竣工 up to ``day`` when nothing set it back since, or ``ALWAYS``
    when no such day is known (finished before the finish days were recorded)."""
    return stage_then(stage, moves, day)[1]


def stage_then(stage: str, moves: Sequence[Move], day: date) -> tuple[str, date | None]:
    """``stage_on`` and ``finished_from`` at once: the stage a project was in on ``day`` and the day from which it
    was finished then, if it was."""
    ordered = _ordered(moves)
    then = _stage_on(stage, ordered, day)
    if then not in FINISHED_STAGES:
        return then, None
    since = _last_finish([move for move in ordered if move.day <= day])
    return then, since if since is not None else ALWAYS


def _stage_on(stage: str, ordered: Sequence[Move], day: date) -> str:
    """``stage_on`` of moves already by day."""
    later = next((index for index, move in enumerate(ordered) if move.day > day), None)
    if later is None:
        return stage
    kind = ordered[later].kind
    if kind == REOPEN or (kind == FINISH and later and ordered[later - 1].kind == FINISH):
        return stage if stage in FINISHED_STAGES else FINISHED
    return _BEFORE.get(kind, stage)


def last_finish(moves: Sequence[Move]) -> date | None:
    """The day from which the last moves finish a project: the first of the 竣工 that end its history with
    nothing between them (a 竣工 dated earlier by a later ledger does not start it again), or None when its last
    move is no 竣工."""
    return _last_finish(_ordered(moves))


def _last_finish(ordered: Sequence[Move]) -> date | None:
    """``last_finish`` of moves already by day."""
    since = None
    for move in reversed(ordered):
        if move.kind != FINISH:
            break
        since = move.day
    return since


def days_up_to(moves: Sequence[Move], day: date) -> tuple[date | None, date | None]:
    """The days of the last 开工 and the last 竣工 on or before ``day`` (None for a kind with none): the actual
    days 开工率 and 竣工率 count a project in the year of (``bot.domain.progress``)."""
    started = [move.day for move in moves if move.kind == START and move.day <= day]
    finished = [move.day for move in moves if move.kind == FINISH and move.day <= day]
    return max(started, default=None), max(finished, default=None)


def ledger_days(stage: str, moves: Sequence[Move]) -> tuple[date | None, date | None]:
    """The 实际开工 and 竣工日期 a ledger gives a project now in ``stage`` with these moves: its last 开工 when it
    is past 谋划/前期, and the day from which it is finished (``last_finish``) when it is; None for a day not
    recorded. What the import dates the 开工 and 竣工 it records by (bot.domain.stage_events.ledger_day)."""
    started = max((move.day for move in moves if move.kind == START), default=None)
    return (None if stage in FROM_STAGES[START] else started, last_finish(moves) if stage in FINISHED_STAGES else None)
