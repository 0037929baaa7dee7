"""Why a period gets no bulletin (``bot.domain.periods.refusal``: a year without plans or reports, a period over
before any project was in the ledger…), and what is said instead: to the admin who asked on the command line, or,
for a due bulletin not sent, to the admins in one notice."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.messages import Reply
from bot.domain.periods import KIND_NAMES, Period, measured_on, refusal
from bot.render import Renderer
from storage import outbox
from storage import people as people_repo
from storage.annual_plans import year_facts
from storage.ledger_entries import first_entered, ledger_on

log = logging.getLogger(__name__)


async def why_not(session: AsyncSession, period: Period, *, today: date) -> str | None:
    """Why ``period`` gets no bulletin on ``today`` (bot.domain.periods.refusal), None when it may."""
    cutoff = measured_on(period)
    planned, reported = await year_facts(session, cutoff=cutoff)
    return refusal(period, today=today, planned=planned, reported=reported,
                   listed=(await ledger_on(session, cutoff)).listed)


async def refused_words(session: AsyncSession, period: Period, reason: str, *, scheduled: bool) -> dict[str, Any]:
    """What ``bulletin_refused.j2`` says ``why_not``'s ``reason`` with (``scheduled``: a due bulletin not sent)."""
    cutoff = measured_on(period)
    return {"period": period, "kind_name": KIND_NAMES[period.kind], "reason": reason, "year": cutoff.year,
            "cutoff": cutoff, "first": await first_entered(session), "scheduled": scheduled}


async def skip(session: AsyncSession, renderer: Renderer, period: Period, reason: str, *, now: datetime) -> None:
    """A due bulletin that would say nothing is not sent: a log line, and one notice to the admins."""
    text = renderer.render("bulletin_refused", **await refused_words(session, period, reason, scheduled=True))
    queued = 0
    for admin in await people_repo.people_with_role(session, role="admin"):
        queued += len(await outbox.enqueue_for_person(
            session, person_id=admin.id, reply=Reply(html=text),
            key=f"bulletin:{period.kind}:{period.name}:skipped:p{admin.id}", now=now))
    log.info("%s %s not sent: %s (%d admins told)", period.kind, period.name, reason, queued)
