"""How a 时限重算 event (``bot.services.calendar_recount``) words the deadlines it moved, read back: each move names
its clock and the deadline before and after, in the users' time as ``bot.render.format_time`` writes it. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

__all__ = ["moved"]

_RECOUNT_FORMAT = "%Y-%m-%d %H:%M"
_USERS_ZONE = ZoneInfo("Asia/Shanghai")


def moved(detail: Mapping[str, Any], clock: str, side: Literal["from", "to"]) -> datetime | None:
    """The deadline of ``clock`` a 时限重算 moved, before it (``from``) or after it (``to``); None when the event
    did not move that clock."""
    for move in detail.get("moves") or ():
        if move.get("clock") == clock and move.get(side):
            return datetime.strptime(move[side], _RECOUNT_FORMAT).replace(tzinfo=_USERS_ZONE)
    return None
