"""How many projects a period's listing takes and leaves out: those in the ledger by the end of its cut-off day
(``storage.entered.entered_by``, the one rule) and those entered since, which every form of a past period's
bulletin notes; and the first day any project was in the ledger, which a period over before it is refused with."""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.entered import entered_by, entered_on
from storage.models import Project

__all__ = ["LedgerOn", "first_entered", "ledger_on"]


class LedgerOn(NamedTuple):
    """The ledger as a period with that cut-off day lists it (``ledger_on``)."""

    listed: int  # projects in the ledger by the end of the day
    later: int  # projects entered since: left out of the period


async def ledger_on(session: AsyncSession, day: date) -> LedgerOn:
    """How many projects were in the ledger by the end of the local ``day``, and how many came in after it."""
    listed, total = (await session.execute(
        select(func.count(Project.id).filter(entered_by(day)), func.count(Project.id)))).one()
    return LedgerOn(listed=int(listed), later=int(total) - int(listed))


async def first_entered(session: AsyncSession) -> date | None:
    """The first local day by whose end a project was in the ledger (None: the ledger is empty)."""
    created = await session.scalar(select(func.min(Project.created_at)))
    return None if created is None else entered_on(created)
