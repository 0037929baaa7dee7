"""Whether the standings may have changed: the newest row id of each table whose new rows change them."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry, Leave, Problem, ProblemEvent, Report, StageEvent

__all__ = ["CHANGE_MARKED", "change_mark"]


CHANGE_MARKED = (AuditEntry, Report, Problem, ProblemEvent, StageEvent, Leave)


async def change_mark(session: AsyncSession) -> tuple[int | None, ...]:
    """The newest row id of each table whose new rows change the standings: reports, problems and their
    events, stage events, leaves, and the audit log, which records the other changes (an /undo, a
    correction, a ledger import, a change of settings or of the calendar). A different mark means the
    standings may have changed; one query of index look-ups, cheap enough to ask every few seconds."""
    row = (await session.execute(select(*(select(func.max(t.id)).scalar_subquery() for t in CHANGE_MARKED)))).one()
    return tuple(row)
