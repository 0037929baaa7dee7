"""When a project came into the ledger: the instant it was imported or added (``Project.created_at``, written
once when its row is inserted and never changed by a later import). A period's figures count the projects in
the ledger by the end of its cut-off day, the same rule as ``bot.domain.duties.entered_by`` (nothing is due
before the day a project came in); ``ledger_on`` says how many that leaves out, what every form of a past
period's bulletin notes, and when the first project came in."""

from __future__ import annotations

from datetime import date, timedelta
from typing import NamedTuple

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import day_start, local_day
from storage.models import Project

__all__ = ["LedgerOn", "entered_by", "ledger_on"]


def entered_by(day: date) -> ColumnElement[bool]:
    """The projects in the ledger by the end of the local ``day``."""
    return Project.created_at < day_start(day + timedelta(days=1))


class LedgerOn(NamedTuple):
    """The ledger as a period with that cut-off day lists it (``ledger_on``)."""

    listed: int  # projects in the ledger by the end of the day
    later: int  # projects entered since: left out of the period
    first: date | None  # the local day the first project came in (None: the ledger is empty)


async def ledger_on(session: AsyncSession, day: date) -> LedgerOn:
    """How many projects were in the ledger by the end of the local ``day``, how many came in after it, and
    the day the first one came in: one query."""
    listed, total, first = (await session.execute(select(
        func.count(Project.id).filter(entered_by(day)), func.count(Project.id), func.min(Project.created_at)))).one()
    return LedgerOn(listed=int(listed), later=int(total) - int(listed),
                    first=None if first is None else local_day(first))
