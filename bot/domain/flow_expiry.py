"""When a guided flow (``/report`` step by step, ``/issue``, the half-monthly report…) left half-way is over.

A flow waits for the caller's next message. Left alone it must not wait for ever: a number typed the next
morning would otherwise be taken as the amount of a report begun the day before, on the project picked then.
A flow expires when it has not moved on for ``FLOW_IDLE`` or when the local day has changed since; the
caller is told, and the message is handled as if there had been no flow.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.workdays import SHANGHAI

FLOW_IDLE = timedelta(hours=2)


def flow_expired(updated_at: datetime | None, now: datetime, *, idle: timedelta = FLOW_IDLE,
                 tz: ZoneInfo = SHANGHAI) -> bool:
    """Whether a flow last moved on at ``updated_at`` is over at ``now`` (a flow with no time is not)."""
    if updated_at is None:
        return False
    return now - updated_at > idle or now.astimezone(tz).date() != updated_at.astimezone(tz).date()
