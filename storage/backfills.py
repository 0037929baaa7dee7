"""补报: the 项目办 enters the report of a past working day on which a project has none (a report lost at
midnight, a day the liaison could not send). It is that day's report like any other (one a day, counted in
the sums and the year of its day by ``report_sums``' triggers), stored as the admin's and marked
``reports.backfill`` (kept by every correction of it: what the views read), and audited as ``report.backfill``
with the day and the reason (``storage.corrections`` reads it back for the history and the bulletins'
上期数据更正 line).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import Actor
from storage.reports import NewReport, add_report


async def backfill_report(session: AsyncSession, *, project_id: int, project_code: str, person_id: int,
                          local_day: date, amount: Decimal, progress_text: str, reason: str, channel: str,
                          now: datetime, actor: Actor) -> NewReport:
    """Store the report of `local_day` entered afterwards; `ReportConflict` (nothing written) if the day has a
    live report meanwhile."""
    return await add_report(session, project_id=project_id, person_id=person_id, local_day=local_day,
                            amount=amount, progress_text=progress_text, photos=(), channel=channel, now=now,
                            actor=actor, project_code=project_code, backfill_reason=reason)
