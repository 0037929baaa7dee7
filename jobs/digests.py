"""Periodic bulletins: the weekly ranking and the monthly/quarterly/half-year/annual editions.

A bulletin is keyed by (kind, period): the `bulletins` row is inserted in the same transaction as the
notices it sends, under a unique constraint, so it is produced at most once across restarts and
processes. The digest tick looks for the latest period of each kind that is due, with the earlier ones due
the same day (two weeks after the 春节 break); a period missed while the bot was down is produced once on
start-up, marked late, and never once per missed tick.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import SHANGHAI
from bot.domain.digest_settings import DigestSettings
from bot.domain.messages import BULLETIN_FILES
from bot.domain.periods import KINDS, Period, due_day, due_together
from bot.domain.workdays import WorkCalendar
from bot.render import Renderer
from bot.workers import Workers
from jobs import bulletin_refusals
from jobs.bulletin_render import render_bulletin
from jobs.bulletin_send import enqueue_bulletin
from storage.db import Database
from storage.models import Bulletin, Project
from storage.settings import load_calendar, load_digest_settings

log = logging.getLogger(__name__)
LATE_AFTER = timedelta(minutes=30)


@dataclass
class Produced:
    """What producing a bulletin did."""

    kind: str
    period: str
    late: bool
    notices: int


def scheduled_at(calendar: WorkCalendar, settings: DigestSettings, period: Period) -> datetime:
    """When a period's bulletin is meant to go out (Shanghai time on its due day)."""
    at = settings.weekly_time if period.kind == "weekly" else settings.monthly_time
    return datetime.combine(due_day(calendar, period), at, tzinfo=SHANGHAI)


def _enabled(settings: DigestSettings, kind: str) -> bool:
    return settings.weekly_enabled if kind == "weekly" else settings.monthly_enabled


async def produce(db: Database, renderer: Renderer, *, period: Period, now: datetime, files_root: Path,
                  late: bool = False, workers: Workers | None = None, web_url: str | None = None) -> Produced | None:
    """Produce and send one bulletin, unless it was produced before (then None).

    Rendering reads in one transaction and writes nothing, so the seconds it takes for a large district
    hold no write lock (on SQLite, replies to reports would wait for it). The bulletin is then claimed and
    its notices queued in one short transaction: the claim's unique key makes sure that of two producers
    racing for a period only one sends it (the other's rendering is wasted, nothing more).
    """
    async with db.session() as session:
        if await _exists(session, period):
            return None
        calendar = await load_calendar(session)
        settings = await load_digest_settings(session)
        out_dir = files_root / BULLETIN_FILES / period.kind / period.name
        rendered = await render_bulletin(session, renderer, period=period, calendar=calendar,
                                         settings=settings, out_dir=out_dir, late=late, workers=workers)
    try:
        async with db.session() as session:
            session.add(Bulletin(kind=period.kind, period=period.name, produced_at=now, late=late, summary={}))
            await session.flush()  # claims (kind, period): a concurrent producer fails here
            notices = await enqueue_bulletin(session, rendered, now=now, files_root=files_root, renderer=renderer,
                                             web_url=web_url)
            bulletin = await _get(session, period)
            bulletin.recipients = notices  # type: ignore[union-attr]
            bulletin.summary = {"projects": rendered.projects, "parts": len(rendered.parts)}  # type: ignore[union-attr]
    except IntegrityError:
        log.info("%s %s was produced by another process", period.kind, period.name)
        return None
    return Produced(kind=period.kind, period=period.name, late=late, notices=notices)


async def _exists(session: AsyncSession, period: Period) -> bool:
    return await _get(session, period) is not None


async def _get(session: AsyncSession, period: Period) -> Bulletin | None:
    return await session.scalar(select(Bulletin).where(Bulletin.kind == period.kind, Bulletin.period == period.name))


async def run_due(db: Database, renderer: Renderer, *, now: datetime, files_root: Path,
                  kinds: tuple[str, ...] = KINDS, workers: Workers | None = None,
                  web_url: str | None = None) -> list[Produced]:
    """Produce every bulletin whose time has come and that was not produced yet (the digest tick).

    Bulletins that were due before the ledger was first imported are never produced: a fresh install
    does not send last year's annual assessment.
    """
    async with db.session() as session:
        first_import = await session.scalar(select(func.min(Project.created_at)))
        if first_import is None:
            return []
        since = first_import.astimezone(SHANGHAI).date()
        calendar = await load_calendar(session)
        settings = await load_digest_settings(session)
        due: list[tuple[Period, bool]] = []
        today = now.astimezone(SHANGHAI).date()
        for period in [period for kind in kinds if _enabled(settings, kind)
                       for period in due_together(calendar, kind, today)]:
            if due_day(calendar, period) < since or await _exists(session, period):
                continue
            moment = scheduled_at(calendar, settings, period)
            if now < moment:
                continue
            reason = await bulletin_refusals.why_not(session, period, today=today)
            if reason is not None:
                await bulletin_refusals.skip(session, renderer, period, reason, now=now)
                continue
            due.append((period, now - moment > LATE_AFTER))
    produced = []
    for period, late in due:
        result = await produce(db, renderer, period=period, now=now, files_root=files_root, late=late,
                               workers=workers, web_url=web_url)
        if result is not None:
            produced.append(result)
    return produced

