"""A past year as a bulletin restates it when it notes a correction (or 补报) of a day of that year: the
year's bulletins, its 年终考核 among them, are never sent again, so the note gives the year's total as
corrected and the annual bulletin's figure it replaces (pure rules)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Protocol


class Changed(Protocol):
    """A correction as far as a figure goes: its day and the amount before and after."""

    @property
    def day(self) -> date: ...
    @property
    def before(self) -> Decimal: ...
    @property
    def after(self) -> Decimal: ...


@dataclass(frozen=True)
class PastYear:
    """A year before the bulletin's, as corrected: the district's total for the year (year-to-date on 31
    December), what its annual bulletin gave (None: none was sent) and the corrected projects' totals
    (code → 万元)."""

    year: int
    done: Decimal
    sent: Decimal | None
    projects: dict[str, Decimal] = field(default_factory=dict)


def sent_figure(done: Decimal, since_sent: Iterable[Changed], year: int) -> Decimal:
    """The year's total as its annual bulletin gave it: the total now less what the corrections of the
    year's days made since that bulletin changed."""
    return done - sum((c.after - c.before for c in since_sent if c.day.year == year), Decimal(0))
