"""Corrections (更正) of past reports: a correction is a new version of the day's report that replaces the
old one, on the same versioning as a same-day replacement (`storage.reports`).

The old version is withdrawn (it stops counting in every sum and ranking, and the triggers of
``report_sums`` take its amount away) and named by the new version's ``replaces_id``; it is never deleted.
The new version keeps the day, the reporter and the time of the original report (it is still that day's
report, made then); who corrected it, when and why is in its ``report.correct`` audit entry, which is
also where the history shown by /project and the bulletins' 上期数据更正 line are read from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.periods import KINDS, Period, measured_on, period_containing
from bot.domain.year_to_date import counts
from storage import audit
from storage.audit import Actor
from storage.ledger_bases import base_day_by_code
from storage.models import AuditEntry, Bulletin, Person, Project, Report, ReportPhoto
from storage.reports import ReportConflict

ACTION = "report.correct"
BACKFILL = "report.backfill"  # a past day's report entered by the 项目办 (补报): shown as a correction from nothing
_REPORTS, _PHOTOS = Report.__table__, ReportPhoto.__table__


@dataclass(frozen=True)
class Correctable:
    """A live report as the correction flow shows it (plain values)."""

    id: int
    project_id: int
    local_day: date
    amount: Decimal
    progress_text: str
    person_id: int
    person_name: str
    created_at: datetime


@dataclass(frozen=True)
class Correction:
    """One correction as the history and the bulletins show it (from its audit entry)."""

    code: str
    day: date
    before: Decimal
    after: Decimal
    before_progress: str
    after_progress: str
    reason: str
    reported_by: str
    by: str
    at: datetime
    backfill: bool = False  # 补报: the day had no report (`before` is 0)


def _correctable_query() -> Any:
    return (select(Report.id, Report.project_id, Report.local_day, Report.amount, Report.progress_text,
                   Report.person_id, Person.name, Report.created_at)
            .join(Person, Person.id == Report.person_id)
            .where(Report.withdrawn_at.is_(None)))


async def live_report(session: AsyncSession, *, project_id: int, local_day: date) -> Correctable | None:
    """The report that counts for the project on that day, if any."""
    row = (await session.execute(
        _correctable_query().where(Report.project_id == project_id, Report.local_day == local_day)
        .order_by(Report.id.desc()).limit(1))).first()
    return Correctable(*row) if row is not None else None


async def live_report_by_id(session: AsyncSession, *, report_id: int, project_id: int) -> Correctable | None:
    """That report of the project, if it still counts."""
    row = (await session.execute(
        _correctable_query().where(Report.id == report_id, Report.project_id == project_id))).first()
    return Correctable(*row) if row is not None else None


async def recent_reports(session: AsyncSession, *, project_id: int, since: date, limit: int = 10) -> list[Correctable]:
    """The project's live reports from `since` on, newest day first (the guided flow's choice)."""
    rows = await session.execute(
        _correctable_query().where(Report.project_id == project_id, Report.local_day >= since)
        .order_by(Report.local_day.desc(), Report.id.desc()).limit(limit))
    return [Correctable(*row) for row in rows.all()]


async def correct_report(
    session: AsyncSession,
    *,
    old: Correctable,
    amount: Decimal,
    progress_text: str,
    reason: str,
    channel: str,
    now: datetime,
    actor: Actor,
    project_code: str,
) -> int:
    """Replace the live report `old` (as shown to the user) by a corrected version and audit it
    (``report.correct``: day, amount and progress before and after, reason); returns the new version's id.

    Raises `ReportConflict`, with nothing written, if `old` no longer counts (withdrawn, replaced or
    corrected meanwhile).
    """
    if session.get_bind().dialect.name == "postgresql":  # reports of one project wait for each other
        await session.execute(select(Project.id).where(Project.id == old.project_id).with_for_update())
    withdrawn = await session.scalar(
        update(_REPORTS).where(_REPORTS.c.id == old.id, _REPORTS.c.withdrawn_at.is_(None))
        .values(withdrawn_at=now).returning(_REPORTS.c.id))
    if withdrawn is None:
        raise ReportConflict(project_code)
    new_id = await session.scalar(insert(_REPORTS).values(
        project_id=old.project_id, person_id=old.person_id, local_day=old.local_day, amount=amount,
        progress_text=progress_text, channel=channel, created_at=old.created_at, replaces_id=old.id,
        # a correction of a 补报 is still a 补报 (not the liaison's report of that day)
        backfill=select(_REPORTS.c.backfill).where(_REPORTS.c.id == old.id).scalar_subquery(),
    ).returning(_REPORTS.c.id))
    # The photos stay with the report, as they are kept (downloaded, or still due) and flagged.
    copied = [name for name in _PHOTOS.c.keys() if name not in ("id", "report_id")]
    await session.execute(insert(_PHOTOS).from_select(
        ["report_id", *copied],
        select(literal(new_id, _PHOTOS.c.report_id.type), *(_PHOTOS.c[name] for name in copied))
        .where(_PHOTOS.c.report_id == old.id).order_by(_PHOTOS.c.id)))
    await audit.record(session, actor=actor, at=now, action="report.correct", object_type="project",
                       object_key=project_code,
                       detail={"report_id": new_id, "replaces": old.id, "day": old.local_day.isoformat(),
                               "before": f"{old.amount.normalize():f}", "after": f"{amount.normalize():f}",
                               "before_progress": old.progress_text, "after_progress": progress_text,
                               "reason": reason, "reported_by": old.person_name})
    return int(new_id)


def _correction(entry: AuditEntry) -> Correction:
    d = entry.detail
    return Correction(code=entry.object_key, day=date.fromisoformat(d["day"]), before=Decimal(d["before"]),
                      after=Decimal(d["after"]), before_progress=d.get("before_progress", ""),
                      after_progress=d.get("after_progress", ""), reason=d.get("reason", ""),
                      reported_by=d.get("reported_by", ""), by=entry.actor, at=entry.at,
                      backfill=entry.action == BACKFILL)


async def corrections_of(session: AsyncSession, *, code: str, limit: int = 5) -> list[Correction]:
    """The project's latest corrections and 补报, newest first."""
    rows = await session.scalars(
        select(AuditEntry).where(AuditEntry.action.in_((ACTION, BACKFILL)), AuditEntry.object_key == code)
        .order_by(AuditEntry.id.desc()).limit(limit))
    return [_correction(entry) for entry in rows.all()]


async def corrections_since(session: AsyncSession, *, since: datetime, up_to_day: date) -> list[Correction]:
    """Corrections (and 补报) made after `since` of a report dated up to `up_to_day` that changed its amount,
    oldest first. A correction of the progress text alone changes no figure, and neither does one of a day the
    project's ledger base of that year now holds (a ledger dated on or after the day, imported since: the
    reports up to its day never count again)."""
    rows = await session.scalars(
        select(AuditEntry).where(AuditEntry.action.in_((ACTION, BACKFILL)), AuditEntry.at > since)
        .order_by(AuditEntry.id))
    found = [_correction(entry) for entry in rows.all()]
    changed = [c for c in found if c.day <= up_to_day and c.before != c.after]
    bases = {year: await base_day_by_code(session, year=year, codes={c.code for c in changed if c.day.year == year})
             for year in {c.day.year for c in changed}}
    return [c for c in changed
            if counts(c.day, baseline_year=c.day.year, baseline_date=bases[c.day.year].get(c.code), day=c.day)]


async def last_bulletin_before(session: AsyncSession, *, kind: str, period: str) -> tuple[str, datetime] | None:
    """The latest bulletin of that kind produced before the one of `period` (its period and when)."""
    row = (await session.execute(
        select(Bulletin.period, Bulletin.produced_at).where(Bulletin.kind == kind, Bulletin.period < period)
        .order_by(Bulletin.period.desc()).limit(1))).first()
    return (row[0], row[1]) if row is not None else None



async def published_with(session: AsyncSession, *, day: date) -> list[Period]:
    """The bulletins already sent whose figures count the report of `day` (its week, unless the week's
    figures stop at 31 December before it, its month, quarter, half-year and year), shortest period first.
    A correction of that day does not change them: the next bulletin of each kind notes it."""
    periods = [p for p in (period_containing(kind, day) for kind in KINDS) if day <= measured_on(p)]
    sent = set((await session.execute(
        select(Bulletin.kind, Bulletin.period).where(or_(*(
            and_(Bulletin.kind == p.kind, Bulletin.period == p.name) for p in periods))))).all())
    return [p for p in periods if (p.kind, p.name) in sent]
