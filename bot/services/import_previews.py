"""The plans of the ledger imports previewed in the chat and waiting for 确认, kept in the bot's memory.

确认 writes the plan the admin saw (bot.services.ledger_import.write_previewed) instead of reading the file and
working the plan out again: for 50,000 new projects that is a minute of CPU and the plan's tens of megabytes.
A plan is kept under a random key that the admin's conversation state names, with the database's mark when it
was worked out (storage.ledger_state.ledger_mark): at 确认 a change since (storage.ledger_state.ledger_changed), a
key the bot does not know (it was restarted, or the plan was pushed out by newer ones or by a preview of a
later day) or another day means the plan may no longer be what importing would do, and the file is previewed again
instead of written.

Few admins import at once and a plan is large (some 110 MB of Python objects for 50,000 new projects), so only
the latest ``KEPT`` plans are kept.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from storage.ledger_state import LedgerMark

if TYPE_CHECKING:
    from bot.services.ledger_import import ImportResult

__all__ = ["KEPT", "Previewed", "PreviewedImports"]

KEPT = 3


@dataclass(frozen=True)
class Previewed:
    """An import as the preview showed it (a dry run's result, its plan worked out), the database's mark before
    it was worked out, and the day it was for."""

    result: ImportResult
    mark: LedgerMark
    today: date

    @property
    def report_matters(self) -> bool:
        """Whether a report sent since changes what the plan would write: only when the baseline's day was not
        given (a report dated before the day it takes, 上月底, would make that day matter); a report changes
        nothing the plan writes otherwise."""
        return self.result.plan is None or self.result.plan.as_of_source == "default"


class PreviewedImports:
    """The latest previewed plans, by key."""

    def __init__(self, *, kept: int = KEPT) -> None:
        self.kept = kept
        self._plans: OrderedDict[str, Previewed] = OrderedDict()

    def keep(self, previewed: Previewed) -> str:
        """Keep `previewed` (and forget the plans of other days, which no 确认 can write); the key to take it
        back with."""
        for key in [key for key, plan in self._plans.items() if plan.today != previewed.today]:
            del self._plans[key]
        key = secrets.token_hex(8)
        self._plans[key] = previewed
        while len(self._plans) > self.kept:
            self._plans.popitem(last=False)
        return key

    def take(self, key: str | None) -> Previewed | None:
        """The plan kept under `key`, no longer kept; None when there is none."""
        return self._plans.pop(key, None) if key else None

    def drop(self, key: str | None) -> None:
        """Forget the plan kept under `key` (the import was cancelled or another file previewed)."""
        if key:
            self._plans.pop(key, None)
