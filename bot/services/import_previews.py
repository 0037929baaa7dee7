"""The plan of the ledger import previewed in the chat and waiting for 确认, kept in the bot's memory.

确认 writes the plan the admin saw (bot.services.ledger_import.write_previewed) instead of reading the file and
working the plan out again: for 50,000 new projects that is a minute of CPU and the plan's tens of megabytes.
A plan is kept under a random key that the admin's conversation state names, with what it was compared with
(its digest, bot.domain.ledger_digest): at 确认 the database read again must give the same digest, else the file
is previewed again instead of written. A key this process does not know (another process of the deployment
previewed the file, the bot was restarted, or a later preview pushed the plan out) makes 确认 read and import the
file itself, against the preview's digest, which the conversation state keeps too.

A plan is large (some 110 MB of Python objects for 50,000 new projects) and few admins import at once, so only
the latest one is kept, and it is forgotten at every end of its flow: written by 确认, cancelled, refused (the
file changed or is gone), replaced by another preview, or when its conversation expires (``FLOW_IDLE``, or the
day changes).
"""

from __future__ import annotations

import asyncio
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from bot.domain.flow_expiry import FLOW_IDLE

if TYPE_CHECKING:
    from bot.services.ledger_import import ImportResult

__all__ = ["KEPT", "Previewed", "PreviewedImports"]

KEPT = 1


@dataclass(frozen=True)
class Previewed:
    """An import as the preview showed it (a dry run's result: its plan, and what it was compared with) and the
    day it was for."""

    result: ImportResult
    today: date


class PreviewedImports:
    """The latest previewed plans, by key."""

    def __init__(self, *, kept: int = KEPT, idle: float = FLOW_IDLE.total_seconds()) -> None:
        self.kept = kept
        self.idle = idle
        self._plans: OrderedDict[str, Previewed] = OrderedDict()

    def __len__(self) -> int:
        return len(self._plans)

    def keep(self, previewed: Previewed) -> str:
        """Keep `previewed` (and forget the plans of other days, which no 确认 can write); the key to take it
        back with. Kept at most as long as its conversation can last without moving on (``idle`` seconds)."""
        for key in [key for key, plan in self._plans.items() if plan.today != previewed.today]:
            del self._plans[key]
        key = secrets.token_hex(8)
        self._plans[key] = previewed
        while len(self._plans) > self.kept:
            self._plans.popitem(last=False)
        try:
            asyncio.get_running_loop().call_later(self.idle, self.drop, key)
        except RuntimeError:  # no event loop (a test keeping plans by hand): pushed out by the next one
            pass
        return key

    def take(self, key: str | None) -> Previewed | None:
        """The plan kept under `key`, no longer kept; None when there is none."""
        return self._plans.pop(key, None) if key else None

    def drop(self, key: str | None) -> None:
        """Forget the plan kept under `key` (its flow ended, or another file was previewed)."""
        if key:
            self._plans.pop(key, None)
