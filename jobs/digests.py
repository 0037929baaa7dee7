"""Periodic bulletins: the weekly ranking and the monthly/quarterly/half-year/annual editions.

A bulletin is keyed by (kind, period): the `bulletins` row is inserted in the same transaction as the
notices it sends, under a unique constraint, so it is produced at most once across restarts and
processes. The digest tick looks for the latest period of each kind that is due; a period missed while
the bot was down is produced once on start-up, marked late, and never once per missed tick.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import Attachment
from bot.clock import SHANGHAI
from bot.domain.digest_settings import DigestSettings
from bot.domain.messages import Reply
from bot.domain.periods import KIND_NAMES, KINDS, Period, due_day, latest_due, measured_on, parse_period, refusal
from bot.domain.standings import ProblemRow, Standings
from bot.domain.workdays import WorkCalendar
from bot.html_split import split_html
from bot.render import Renderer
from bot.services.standings import compute_standings
from storage import outbox
from storage import people as people_repo
from storage.annual_plans import year_facts
from storage.corrections import Correction, corrections_since, last_bulletin_before
from storage.db import Database
from storage.digest_queries import UnitProblems, bulletin_groups, problems_by_unit, reported_between
from storage.models import Bulletin, Person, Problem, Project
from storage.settings import load_calendar, load_digest_settings
from storage.standings import problem_rows

log = logging.getLogger(__name__)
LATE_AFTER = timedelta(minutes=30)
# What each file of a bulletin is called when the admins are told it could not be built.
FILE_NAMES = {"chart": "项目排名图", "units": "牵头单位得分图", "ledger": "Excel 台账"}


@dataclass
class Rendered:
    """A bulletin's texts and files, before anything is sent."""

    period: Period
    standings: Standings
    text: str
    parts: list[str]
    files: dict[str, Path] = field(default_factory=dict)
    leaders: dict[int, str] = field(default_factory=dict)
    top_summary: str = ""
    failed: list[str] = field(default_factory=list)  # the parts that could not be built (FILE_NAMES' words)


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


async def render_bulletin(session: AsyncSession, renderer: Renderer, *, period: Period, calendar: WorkCalendar,
                          settings: DigestSettings, out_dir: Path) -> Rendered:
    """Compute the standings for a period and render its text, chart and (monthly and up) Excel ledger.

    The database is read on the event loop; everything else (the standings' assembly, the charts, the
    workbook, the texts and their splitting, a few seconds for 10,000 projects) runs in a worker thread,
    so that the bot keeps answering meanwhile.
    """
    standings = await compute_standings(
        session, period=period.name, cutoff=measured_on(period), window_start=period.start, calendar=calendar,
        thresholds=settings.thresholds, weights=settings.weights, praise_n=settings.praise_n,
    )
    start = datetime.combine(period.start, datetime.min.time(), tzinfo=SHANGHAI)
    end = datetime.combine(period.end + timedelta(days=1), datetime.min.time(), tzinfo=SHANGHAI)
    unit_problems: list[UnitProblems] = []
    problems = None
    if period.kind != "weekly":
        problems = await problem_rows(session)
        unit_problems = await problems_by_unit(session, start=start, end=end)
    period_done = await reported_between(session, start=period.start, end=period.end)
    open_problems = await _open_problems_by_project(session)
    corrections = await _corrections_since_last(session, period)
    files, failed = await asyncio.to_thread(_write_files, standings, problems, period, out_dir)
    rendered = await asyncio.to_thread(
        _render_texts, renderer, standings, period=period, files=files, unit_problems=unit_problems,
        period_done=period_done, open_problems=open_problems, corrections=corrections,
    )
    rendered.failed = failed
    return rendered


def _write_files(standings: Standings, problems: list[ProblemRow] | None, period: Period,
                 out_dir: Path) -> tuple[dict[str, Path], list[str]]:
    """The bulletin's chart (and for monthly and up: the units' chart and the Excel ledger) under out_dir,
    and the names of the files that could not be built: each is built on its own, so that one failing
    (an odd name in the ledger, a full disk) leaves the others and the text to be sent.

    Blocking (a second or more for 10,000 projects): run it in a worker thread. matplotlib and openpyxl
    are imported here, the first time a bulletin is drawn, not when the bot starts.
    """
    from bot.chart import group_chart, ranking_chart
    from bot.services.ledger_export import bulletin_filename, ledger_workbook

    builders: dict[str, tuple[str, Callable[[], bytes]]] = {
        "chart": ("ranking.png", lambda: ranking_chart(standings))}
    if problems is not None:
        builders["units"] = ("units.png", lambda: group_chart(standings.units, "牵头单位综合得分"))
        builders["ledger"] = (bulletin_filename("ledger", period.name),
                              lambda: ledger_workbook(standings, problems))
    files: dict[str, Path] = {}
    failed: list[str] = []
    for name, (filename, build) in builders.items():
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            (out_dir / filename).write_bytes(build())
        except Exception:  # noqa: BLE001 - whatever broke one file, the rest of the bulletin goes out
            log.exception("%s %s: could not build its %s", period.kind, period.name, name)
            failed.append(FILE_NAMES[name])
            continue
        files[name] = out_dir / filename
    return files, failed


def _render_texts(renderer: Renderer, standings: Standings, *, period: Period, files: dict[str, Path],
                  unit_problems: list[UnitProblems], period_done: Decimal,
                  open_problems: dict[str, list[Problem]], corrections: list[Correction]) -> Rendered:
    """The bulletin's text, its parts, the top officials' summary and each lead official's digest.

    Pure rendering over what was read (blocking for large districts: run it in a worker thread).
    """
    text = renderer.render(
        "bulletin_weekly" if period.kind == "weekly" else "bulletin_periodic",
        s=standings, period=period, kind_name=KIND_NAMES[period.kind], unit_problems=unit_problems,
        corrections=corrections,
        names={p.code: p.name for p in standings.projects},
        total_plan=sum((p.annual_plan for p in standings.projects), start=Decimal(0)),
        total_done=sum((p.ytd_done for p in standings.projects), start=Decimal(0)),
        period_done=period_done,
    )
    rendered = Rendered(period=period, standings=standings, text=text, parts=split_html(text),
                        files=files)
    rendered.top_summary = renderer.render("bulletin_top_summary", s=standings, period=period,
                                           kind_name=KIND_NAMES[period.kind])
    by_leader: dict[int, list] = {}
    for project in standings.projects:
        if project.lead_official_id is not None:
            by_leader.setdefault(project.lead_official_id, []).append(project)
    for leader_id, projects in by_leader.items():
        rendered.leaders[leader_id] = renderer.render(
            "bulletin_leader", projects=projects, s=standings, period=period, kind_name=KIND_NAMES[period.kind],
            problems={p.code: open_problems.get(p.code, []) for p in projects},
        )
    return rendered


async def _corrections_since_last(session: AsyncSession, period: Period) -> list[Correction]:
    """Corrections made since the previous bulletin of this kind that change a figure of a period already
    sent (a report dated up to that bulletin's last day); none before the first bulletin. Sent bulletins
    are never sent again: the next one notes the corrections."""
    last = await last_bulletin_before(session, kind=period.kind, period=period.name)
    if last is None:
        return []
    name, produced_at = last
    return await corrections_since(session, since=produced_at, up_to_day=parse_period(period.kind, name).end)


async def _open_problems_by_project(session: AsyncSession) -> dict[str, list[Problem]]:
    rows = await session.scalars(
        select(Problem).join(Project, Project.id == Problem.project_id)
        .where(Problem.status.in_(("open", "accepted", "answered", "resolved"))).order_by(Problem.id)
    )
    grouped: dict[str, list[Problem]] = {}
    for problem in rows.unique().all():
        grouped.setdefault(problem.project.code, []).append(problem)
    return grouped


async def why_not(session: AsyncSession, period: Period, *, today: date) -> str | None:
    """Why ``period`` gets no bulletin on ``today`` (bot.domain.periods.refusal), None when it may."""
    planned, reported = await year_facts(session, cutoff=measured_on(period))
    return refusal(period, today=today, planned=planned, reported=reported)


async def _skip(session: AsyncSession, renderer: Renderer, period: Period, reason: str, *, now: datetime) -> None:
    """A due bulletin that would say nothing is not sent: a log line, and one notice to the admins."""
    text = renderer.render("bulletin_refused", period=period, kind_name=KIND_NAMES[period.kind], reason=reason,
                           year=measured_on(period).year, scheduled=True)
    queued = 0
    for admin in await people_repo.people_with_role(session, role="admin"):
        queued += len(await outbox.enqueue_for_person(
            session, person_id=admin.id, reply=Reply(html=text),
            key=f"bulletin:{period.kind}:{period.name}:skipped:p{admin.id}", now=now))
    if queued:
        log.info("%s %s not sent: %s", period.kind, period.name, reason)


async def produce(db: Database, renderer: Renderer, *, period: Period, now: datetime, files_root: Path,
                  late: bool = False) -> Produced | None:
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
        out_dir = files_root / "bulletins" / period.kind / period.name
        rendered = await render_bulletin(session, renderer, period=period, calendar=calendar,
                                         settings=settings, out_dir=out_dir)
    try:
        async with db.session() as session:
            session.add(Bulletin(kind=period.kind, period=period.name, produced_at=now, late=late, summary={}))
            await session.flush()  # claims (kind, period): a concurrent producer fails here
            notices = await _send(session, rendered, now=now, files_root=files_root, late=late, renderer=renderer)
            bulletin = await _get(session, period)
            bulletin.recipients = notices  # type: ignore[union-attr]
            bulletin.summary = {"projects": len(rendered.standings.projects), "parts": len(rendered.parts)}  # type: ignore[union-attr]
    except IntegrityError:
        log.info("%s %s was produced by another process", period.kind, period.name)
        return None
    return Produced(kind=period.kind, period=period.name, late=late, notices=notices)


async def _exists(session: AsyncSession, period: Period) -> bool:
    return await _get(session, period) is not None


async def _get(session: AsyncSession, period: Period) -> Bulletin | None:
    return await session.scalar(select(Bulletin).where(Bulletin.kind == period.kind, Bulletin.period == period.name))


async def _send(session: AsyncSession, rendered: Rendered, *, now: datetime, files_root: Path, late: bool,
                renderer: Renderer) -> int:
    period = rendered.period
    key = f"bulletin:{period.kind}:{period.name}"
    parts = rendered.parts
    if late:  # the notice goes in before splitting: added to a full first part it would not fit
        notice = renderer.render("bulletin_late", kind_name=KIND_NAMES[period.kind])
        parts = await asyncio.to_thread(split_html, notice + "\n" + rendered.text)
    attachments = [Attachment(kind="photo", path=str(rendered.files[name].relative_to(files_root)))
                   for name in ("chart", "units") if name in rendered.files]
    if "ledger" in rendered.files:
        attachments.append(Attachment(kind="document", path=str(rendered.files["ledger"].relative_to(files_root)),
                                      filename=rendered.files["ledger"].name))
    count = 0
    for group in await bulletin_groups(session):
        for index, part in enumerate(parts):
            count += len(await outbox.enqueue_for_chat(session, channel=group.channel, chat_id=group.chat_id,
                                                       reply=Reply(html=part), key=f"{key}:g{group.id}:{index}",
                                                       now=now))
        for index, attachment in enumerate(attachments):
            count += len(await outbox.enqueue_for_chat(
                session, channel=group.channel, chat_id=group.chat_id, reply=Reply(html=""),
                key=f"{key}:g{group.id}:file{index}", now=now, attachment=attachment))
    for person in await people_repo.people_with_role(session, role="top"):
        for index, part in enumerate(split_html(rendered.top_summary)):
            count += len(await outbox.enqueue_for_person(session, person_id=person.id, reply=Reply(html=part),
                                                         key=f"{key}:top:{index}:p{person.id}", now=now))
        if "chart" in rendered.files:
            count += len(await outbox.enqueue_for_person(session, person_id=person.id, reply=Reply(html=""),
                                                         key=f"{key}:top:chart:p{person.id}", now=now,
                                                         attachment=attachments[0]))
    for leader_id, text in rendered.leaders.items():
        leader = await session.get(Person, leader_id)
        if leader is None or not leader.active:
            continue
        for index, part in enumerate(split_html(text)):
            count += len(await outbox.enqueue_for_person(session, person_id=leader_id, reply=Reply(html=part),
                                                         key=f"{key}:lead:{index}:p{leader_id}", now=now))
    if rendered.failed:
        html = renderer.render("bulletin_part_failed", kind_name=KIND_NAMES[period.kind], period=period,
                               failed=rendered.failed)
        for admin in await people_repo.people_with_role(session, role="admin"):
            count += len(await outbox.enqueue_for_person(session, person_id=admin.id, reply=Reply(html=html),
                                                         key=f"{key}:failed:p{admin.id}", now=now))
    return count


async def run_due(db: Database, renderer: Renderer, *, now: datetime, files_root: Path,
                  kinds: tuple[str, ...] = KINDS) -> list[Produced]:
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
        for kind in kinds:
            if not _enabled(settings, kind):
                continue
            period = latest_due(calendar, kind, now.astimezone(SHANGHAI).date())
            if period is None or due_day(calendar, period) < since or await _exists(session, period):
                continue
            moment = scheduled_at(calendar, settings, period)
            if now < moment:
                continue
            reason = await why_not(session, period, today=today)
            if reason is not None:
                await _skip(session, renderer, period, reason, now=now)
                continue
            due.append((period, now - moment > LATE_AFTER))
    produced = []
    for period, late in due:
        result = await produce(db, renderer, period=period, now=now, files_root=files_root, late=late)
        if result is not None:
            produced.append(result)
    return produced
