"""The unit's promised day (承诺完成日期) a problem had at a past instant, replayed from its history.

The promise is set by the unit's 答复 (the day it gave, or none), by an approved extension (the day approved), moved
by a 时限重算 (a promised day that became a rest day), and dropped by 未解决 (sent back to work: the unit answers
again). When nothing changed it since ``end``, the promise now is the one then; else the last of those events
before ``end`` says what it was (none: no promise then). Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.domain.promises import end_of

__all__ = ["PROMISE_SETTING", "promise_then"]

# Events that give the problem a promised day, or take it away.
PROMISE_SETTING = frozenset({"answered", "extension_approved", "reopened", "recounted"})
# A 时限重算 event words the deadlines it moved in the users' time (bot.render.format_time).
_RECOUNT_FORMAT = "%Y-%m-%d %H:%M"
_USERS_ZONE = ZoneInfo("Asia/Shanghai")


class PromiseStep(Protocol):
    """What the replay reads of an event (``bot.domain.problem_history.Step``)."""

    @property
    def kind(self) -> str: ...
    @property
    def at(self) -> datetime: ...
    @property
    def detail(self) -> Mapping[str, Any]: ...


def _moved_to(step: PromiseStep) -> date | None:
    """The promised day a 时限重算 moved the promise to, if it moved the promise."""
    for move in step.detail.get("moves") or ():
        if move.get("clock") == "promise" and move.get("to"):
            return datetime.strptime(move["to"], _RECOUNT_FORMAT).replace(tzinfo=_USERS_ZONE).date()
    return None


def _changes(step: PromiseStep) -> bool:
    """Whether the event set, moved or dropped the promise."""
    return step.kind in PROMISE_SETTING and (step.kind != "recounted" or _moved_to(step) is not None)


def _day(value: object) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) and value else None


def promise_then(steps: Sequence[PromiseStep], *, end: datetime, due_now: datetime | None, end_of_day: time
                 ) -> datetime | None:
    """The end of the unit's promised day the problem had just before ``end`` (None: none then), from its history
    ``steps`` (oldest first), the promise now (``due_now``, its end of day) and the end of its working day."""
    if not any(_changes(step) for step in steps if step.at >= end):
        return due_now  # nothing changed it since: the promise now is the one then
    promised: date | None = None
    for step in steps:
        if step.at >= end:
            break
        if step.kind == "answered":
            promised = _day(step.detail.get("promised"))
        elif step.kind == "extension_approved":
            promised = _day(step.detail.get("day")) or promised
        elif step.kind == "reopened":
            promised = None
        elif step.kind == "recounted":
            promised = _moved_to(step) or promised
    return None if promised is None else end_of(promised, end_of_day).astimezone(UTC)
