"""Notices held for people without a chat account: which go out in full when they bind, which in summary.

A notice to someone with no chat account is kept (outbox state ``held``) until they bind one. Then the
recent ones are delivered as they were, each saying how old it is, and the old ones (older than
`HELD_FRESH`, or beyond the newest `HELD_IN_FULL_MAX`) are listed in one summary with their ages, so that
binding does not bury a new user under weeks of stale reminders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

HELD_FRESH = timedelta(days=3)  # older than this: summarised, not delivered in full
HELD_IN_FULL_MAX = 5  # at most this many delivered in full (the newest); the rest summarised


@dataclass(frozen=True)
class HeldSplit:
    """Ids of the held notices to deliver in full and to summarise, each oldest first."""

    in_full: list[int]
    summarised: list[int]


def split_held(held: Sequence[tuple[int, datetime]], now: datetime) -> HeldSplit:
    """Split held notices (id, written at) as they go out when their person binds at `now`."""
    ordered = sorted(held, key=lambda h: (h[1], h[0]))
    fresh = [i for i, at in ordered if now - at <= HELD_FRESH]
    in_full = fresh[-HELD_IN_FULL_MAX:] if fresh else []
    chosen = set(in_full)
    return HeldSplit(in_full=in_full, summarised=[i for i, _at in ordered if i not in chosen])


def age_minutes(written: datetime, now: datetime) -> int:
    """Whole minutes since a notice was written (never negative)."""
    return max(0, int((now - written).total_seconds() // 60))
