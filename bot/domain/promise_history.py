"""The unit's promised day (承诺完成日期) a problem had at a past instant, replayed from its history.

The promise is set by the unit's 答复 (the day it gave, or none), by an approved extension (the day approved), moved
by a 时限重算 (a promised day that became a rest day), and dropped by 未解决 (sent back to work: the unit answers
again) and by 改派 (moved to another unit, which answers with a day of its own). When nothing changed it since
``end``, the promise now is the one then; else the last of those events before ``end`` says what it was (none: no
promise then). Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from typing import Any, Protocol

from bot.domain.promises import promised_end
from bot.domain.recounts import moved

__all__ = ["PROMISE_SETTING", "promise_then"]

# Events that give the problem a promised day, or take it away.
PROMISE_SETTING = frozenset({"answered", "extension_approved", "reopened", "reassigned", "recounted"})


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
    to = moved(step.detail, "promise", "to")
    return None if to is None else to.date()


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
        elif step.kind in ("reopened", "reassigned"):
            promised = None
        elif step.kind == "recounted":
            promised = _moved_to(step) or promised
    return promised_end(promised, end_of_day)
