"""A project's stage on a past day, read from the history of its recorded moves.

Every confirmed 开工 (``START``), 竣工 (``FINISH``) and reopening (``REOPEN``, finished → 在建 or earlier) is a
move of a day (``bot.domain.stage_events``). A figure of a day (reports due, 应开工未开工, 已竣工, 竣工率, a node
closed or overdue) reads the stage the project was in on that day, so that it reads the same however late it is
made: a project finished on D1, reopened on D2 and finished again on D3 is 竣工 from D1, 在建 from D2 and 竣工
again from D3.

The project's stage now holds after its last move; before a move it was in the stage that move starts from:
前期 before a 开工, 在建 before a 竣工, finished before a reopening. A project with no move recorded is read in
its stage now on every day (a project finished before the finish days were recorded is finished on every day:
``bot.domain.nodes.ALWAYS``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import NamedTuple

from bot.domain.nodes import ALWAYS
from bot.domain.progress import FINISHED_STAGES, STAGES
from bot.domain.stage_events import FINISH, REOPEN, START, TARGET_STAGE

__all__ = ["Move", "days_up_to", "finished_from", "stage_on"]

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
    move is later than ``day``, else the stage the first later move starts from."""
    later = [move for move in _ordered(moves) if move.day > day]
    if not later:
        return stage
    kind = later[0].kind
    if kind == REOPEN:
        return stage if stage in FINISHED_STAGES else FINISHED
    return _BEFORE.get(kind, stage)


def finished_from(stage: str, moves: Sequence[Move], day: date) -> date | None:
    """The day from which a project was finished as it stood on ``day``: None when it was not finished then
    (``stage_on``), else the day of its last 竣工 up to ``day`` when nothing set it back since, or ``ALWAYS``
    when no such day is known (finished before the finish days were recorded)."""
    if stage_on(stage, moves, day) not in FINISHED_STAGES:
        return None
    before = [move for move in _ordered(moves) if move.day <= day]
    if before and before[-1].kind == FINISH:
        return before[-1].day
    return ALWAYS


def days_up_to(moves: Sequence[Move], day: date) -> tuple[date | None, date | None]:
    """The days of the last 开工 and the last 竣工 on or before ``day`` (None for a kind with none): the actual
    days 开工率 and 竣工率 count a project in the year of (``bot.domain.progress``)."""
    started = [move.day for move in moves if move.kind == START and move.day <= day]
    finished = [move.day for move in moves if move.kind == FINISH and move.day <= day]
    return max(started, default=None), max(finished, default=None)
