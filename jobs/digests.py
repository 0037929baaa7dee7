"""Periodic bulletins: the weekly ranking and the monthly/quarterly/half-year/annual editions.

A bulletin is keyed by (kind, period): the `bulletins` row is inserted in the same transaction as the
notices it sends, under a unique constraint, so it is produced at most once across restarts and
processes. The digest tick looks for the latest period of each kind that is due, with the earlier ones due
the same day (two weeks after the 春节 break); a period missed while the bot was down is produced once on
start-up, marked late, and never once per missed tick.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import Attachment
from bot.clock import SHANGHAI, day_start, local_day
from bot.domain.digest_settings import DigestSettings
from bot.domain.escalation import MAYOR_LEVEL
from bot.domain.messages import Button, Reply
from bot.domain.node_lists import BulletinNodes, bulletin_nodes, period_ahead
from bot.domain.period_problems import (
    ProblemHistory,
    ProblemLine,
    every_problem_at,
    handling_shares,
    ledger_rows,
    problems_at,
    unit_figures,
    units_with_problems,
    unrecorded,
)
from bot.domain.period_problems import unclosed as unclosed_lines
from bot.domain.periods import (
    KIND_NAMES,
    KINDS,
    Period,
    due_day,
    due_together,
    measured_on,
    parse_period,
    previous_period,
)
from bot.domain.problem_numbers import problem_number
from bot.domain.stage_history import Move
from bot.domain.standings import period_opening
from bot.domain.trend import recent_week_ends
from bot.domain.workdays import WorkCalendar
from bot.domain.year_to_date import base_days, change_bases
from bot.render import Renderer, label
from bot.services.bulletin_work import BulletinJob, EarlierFigures, OpenProblem, render_files_and_texts
from bot.services.participation import load_participation
from bot.workers import Workers
from jobs import bulletin_refusals
from storage import outbox
from storage import people as people_repo
from storage import problems as problem_repo
from storage.corrections import Correction, corrections_since, last_bulletin_before
from storage.db import Database
from storage.digest_queries import bulletin_groups
from storage.ledger_bases import base_day_by_project
from storage.ledger_bases import base_days as stored_base_days
from storage.ledger_entries import ledger_on
from storage.models import Bulletin, Person, Project
from storage.node_queries import nodes_for_bulletin
from storage.outbox import PersonNotice
from storage.problem_ledger import problem_ledger
from storage.project_figures import project_figures
from storage.report_figures import counted_after
from storage.rows import gc_paused
from storage.settings import load_calendar, load_digest_settings
from storage.stage_events import histories

log = logging.getLogger(__name__)
LATE_AFTER = timedelta(minutes=30)


@dataclass
class Rendered:
    """A bulletin's texts and files, before anything is sent."""

    period: Period
    text: str
    parts: list[str]  # the text split into messages, with the late notice when late
    files: dict[str, Path] = field(default_factory=dict)
    leaders: dict[int, list[str]] = field(default_factory=dict)  # lead official id → their digest, split
    leader_heads: dict[int, tuple[str, str]] = field(default_factory=dict)  # → its head for him, for his stand-in
    top_parts: list[str] = field(default_factory=list)
    projects: int = 0
    failed: list[str] = field(default_factory=list)  # the files that could not be built (bulletin_part_failed.j2)


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
                          settings: DigestSettings, out_dir: Path, late: bool = False,
                          workers: Workers | None = None) -> Rendered:
    """Compute the standings for a period and render its text, chart(s) and Excel ledger.

    The database is read here, on the event loop; everything else (the standings' assembly, the charts, the
    workbook, the texts and their splitting: seconds of pure Python for 10,000 projects) runs in a worker
    process of ``workers`` (``bot.workers``), so that the bot keeps answering meanwhile. Without
    ``workers`` it runs in a worker thread of this process with ``renderer`` (tests, one-off commands).
    """
    start, end = day_start(period.start), day_start(period.end + timedelta(days=1))
    cutoff = measured_on(period)
    trend_days = recent_week_ends(cutoff)  # a lead official's 4-week trend
    # Every problem with its history, read once, and replayed once at the period's end: the Excel ledger's
    # 问题清单 and every problem figure of the period come from that one replay, the figures of the period before
    # from one at its own end (bot.domain.period_problems).
    ledger = await problem_ledger(session)
    moves = await histories(session)  # the projects' stage histories, read once too
    figures_end = day_start(cutoff + timedelta(days=1))
    with gc_paused():  # tens of thousands of replays: many small objects, no cycles
        period_end = every_problem_at(ledger.histories, end=end)
        # the figures' cut-off is the period's end but in a week spanning two years (bot.domain.periods.measured_on)
        now_problems = period_end if end == figures_end else problems_at(ledger.histories, since=start,
                                                                         end=figures_end)
        # the problems as they stood at the period's end: the Excel ledger's, and those the digests name
        problems = ledger_rows(ledger.rows, period_end)
    # the projects entered by its cut-off day: one the ledger brought in since was not in the period
    figures = await project_figures(session, cutoff=cutoff, window_start=period.start, calendar=calendar,
                                    problems=now_problems, moves=moves, entered_by=cutoff)
    stored_bases = await stored_base_days(session, year=cutoff.year, entered=cutoff)
    shares = handling_shares(now_problems, start=start, units=units_with_problems(ledger.histories, end=figures_end))
    unclosed = unclosed_lines(period_end)
    unit_problems = [] if period.kind == "weekly" else unit_figures(period_end, start=start)
    job = BulletinJob(
        period=period, cutoff=cutoff, settings=settings, figures=figures, problem_shares=shares,
        problems=problems, unit_problems=unit_problems,
        counted_in_period=await _counted_in_period(session, period, cutoff),
        bases=base_days(stored_bases, start=period.start, cutoff=cutoff,
                        opens_year=period_opening(period.start, cutoff) is None),
        change_bases=change_bases(stored_bases, since=measured_on(previous_period(period)), cutoff=cutoff),
        open_problems=_open_problems_by_project(unclosed),
        top_problems=_open_problems_at_the_top(unclosed),
        corrections=await _corrections_since_last(session, period), out_dir=out_dir, late=late,
        nodes=(await _bulletin_nodes(session, period, calendar, moves)).of_projects(p.code for p in figures.projects),
        earlier=await _earlier_figures(session, period, calendar, ledger.histories, moves),
        participation=await load_participation(session, cutoff=cutoff, calendar=calendar, moves=moves)
        if period.kind == "weekly" else None,
        trend_days=trend_days,
        counted_later=await counted_after(session, cutoff=cutoff, days=trend_days[:-1]),
        base_day_of=await base_day_by_project(session, year=cutoff.year),
        unrecorded_deadlines=unrecorded(period_end, start=start),
        entered_later=(await ledger_on(session, cutoff)).later,
    )
    if workers is None:
        work = await asyncio.to_thread(render_files_and_texts, job, renderer)
    else:
        work = await workers.run(render_files_and_texts, job)
    return Rendered(period=period, text=work.text, parts=work.parts, files=work.files, leaders=work.leader_parts,
                    leader_heads=work.leader_heads,
                    top_parts=work.top_parts, projects=work.projects, failed=work.failed)


async def _counted_in_period(session: AsyncSession, period: Period, cutoff: date) -> dict[int, Decimal]:
    """Project id → the reports counted in year-to-date after the period's opening day up to ``cutoff``: its
    本期完成投资 (bot.domain.standings.period_done); none needed when the period starts its year."""
    opening = period_opening(period.start, cutoff)
    if opening is None:
        return {}
    return {project_id: sums[0] for project_id, sums in
            (await counted_after(session, cutoff=cutoff, days=[opening])).items()}


async def _bulletin_nodes(session: AsyncSession, period: Period, calendar: WorkCalendar,
                          moves: Mapping[int, Sequence[Move]]) -> BulletinNodes:
    """The milestones a bulletin lists, as of the day it goes out (bot.domain.node_lists): due ahead (the
    week, or the next period of a monthly and longer bulletin), overdue, and done late since the period
    started."""
    as_of = due_day(calendar, period)
    _, ahead_to = period_ahead(calendar, period, as_of)
    items = await nodes_for_bulletin(session, planned_to=ahead_to, done_since=period.start, as_of=as_of,
                                     moves=moves)
    return bulletin_nodes(items, as_of=as_of, ahead_to=ahead_to, week_start=period.start)


async def _earlier_figures(session: AsyncSession, period: Period, calendar: WorkCalendar,
                           problem_histories: Sequence[ProblemHistory], moves: Mapping[int, Sequence[Move]]
                           ) -> EarlierFigures:
    """The previous period's figures, read as this period's are, of the projects entered by its end: its
    standings are what the bulletin's changes (名次 ↑↓, completion points, 新上榜) are measured against.
    ``problem_histories``: every problem's (``storage.problem_ledger``); ``moves``: the stage histories."""
    earlier = previous_period(period)
    cutoff = measured_on(earlier)
    start, end = day_start(earlier.start), day_start(cutoff + timedelta(days=1))
    with gc_paused():
        problems = problems_at(problem_histories, since=start, end=end)
    return EarlierFigures(
        period=earlier, cutoff=cutoff,
        figures=await project_figures(session, cutoff=cutoff, window_start=earlier.start, calendar=calendar,
                                      entered_by=cutoff, problems=problems, moves=moves),
        problem_shares=handling_shares(problems, start=start, units=units_with_problems(problem_histories, end=end)))


async def _corrections_since_last(session: AsyncSession, period: Period) -> list[Correction]:
    """Corrections made since the previous bulletin of this kind that change a figure of a period already
    sent (a report dated up to that bulletin's last day); none before the first bulletin. Sent bulletins
    are never sent again: the next one notes the corrections."""
    last = await last_bulletin_before(session, kind=period.kind, period=period.name)
    if last is None:
        return []
    name, produced_at = last
    return await corrections_since(session, since=produced_at, up_to_day=parse_period(period.kind, name).end)


def _open_problems_by_project(lines: list[ProblemLine]) -> dict[str, list[OpenProblem]]:
    """Project code → its problems not closed at the period's end, as they stood then, by number."""
    grouped: dict[str, list[OpenProblem]] = {}
    for line in lines:
        if line.project_code is not None:
            then = line.then
            grouped.setdefault(line.project_code, []).append(OpenProblem(
                problem_number(then.id), line.category, line.text, then.resolution_due_at, status=then.status,
                level=then.level))
    return grouped


def _open_problems_at_the_top(lines: list[ProblemLine]) -> list[OpenProblem]:
    """The problems not yet solved at the period's end that had gone up to 区长 or 区委书记/领导小组 (meeting
    decisions too), the highest level first, then the nearest deadline: what the top officials' summary
    names."""
    top = [line for line in lines if line.then.active and line.then.level >= MAYOR_LEVEL]
    top.sort(key=lambda line: (-line.then.level, line.then.resolution_due_at is None,
                               line.then.resolution_due_at or line.then.raised_at, line.then.id))
    return [OpenProblem(problem_number(line.then.id), line.category, line.text, line.then.resolution_due_at,
                        status=line.then.status, level=line.then.level, project=line.project_name)
            for line in top]


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
        out_dir = files_root / "bulletins" / period.kind / period.name
        rendered = await render_bulletin(session, renderer, period=period, calendar=calendar,
                                         settings=settings, out_dir=out_dir, late=late, workers=workers)
    try:
        async with db.session() as session:
            session.add(Bulletin(kind=period.kind, period=period.name, produced_at=now, late=late, summary={}))
            await session.flush()  # claims (kind, period): a concurrent producer fails here
            notices = await _send(session, rendered, now=now, files_root=files_root, renderer=renderer,
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


def _web_buttons(web_url: str | None, index: int, count: int, *, group_channel: str | None = None
                 ) -> tuple[tuple[Button, ...], ...]:
    """The 驾驶舱 button under the last part of a bulletin (when the web pages are configured): in a Telegram
    group a link to the pages (signing in is then /web in a private chat), for a person a button answering
    with their own sign-in link; a WeCom group robot shows no buttons."""
    if web_url is None or index != count - 1 or group_channel not in (None, "telegram"):
        return ()
    if group_channel == "telegram":
        return ((Button(label("web_open"), "", url=f"{web_url}/web/"),),)
    return ((Button(label("web_view"), "web:/web/"),),)


async def _send(session: AsyncSession, rendered: Rendered, *, now: datetime, files_root: Path,
                renderer: Renderer, web_url: str | None = None) -> int:
    period = rendered.period
    key = f"bulletin:{period.kind}:{period.name}"
    parts = rendered.parts
    attachments = [Attachment(kind="photo", path=str(rendered.files[name].relative_to(files_root)))
                   for name in ("chart", "units", "participation") if name in rendered.files]
    for name in ("ledger", "document"):  # the Excel ledger and the Word bulletin, monthly and up
        if name in rendered.files:
            attachments.append(Attachment(kind="document", path=str(rendered.files[name].relative_to(files_root)),
                                          filename=rendered.files[name].name))
    count = 0
    for group in await bulletin_groups(session, receiving=True):
        for index, part in enumerate(parts):
            count += len(await outbox.enqueue_for_chat(session, channel=group.channel, chat_id=group.chat_id,
                                                       reply=Reply(html=part, buttons=_web_buttons(
                                                           web_url, index, len(parts), group_channel=group.channel)),
                                                       key=f"{key}:g{group.id}:{index}",
                                                       now=now))
        for index, attachment in enumerate(attachments):
            count += len(await outbox.enqueue_for_chat(
                session, channel=group.channel, chat_id=group.chat_id, reply=Reply(html=""),
                key=f"{key}:g{group.id}:file{index}", now=now, attachment=attachment))
    # The officials' notices in a few statements whatever their number: the transaction holds SQLite's write
    # lock, and replies to reports wait for it.
    notices: list[PersonNotice] = []
    for person in await people_repo.people_with_role(session, role="top"):
        notices += [PersonNotice(person.id, Reply(html=part, buttons=_web_buttons(
                        web_url, index, len(rendered.top_parts))), f"{key}:top:{index}:p{person.id}")
                    for index, part in enumerate(rendered.top_parts)]
        if "chart" in rendered.files:
            notices.append(PersonNotice(person.id, Reply(html=""), f"{key}:top:chart:p{person.id}",
                                        attachments[0]))
    active = {p.id: p for p in (await session.scalars(select(Person).where(
        Person.id.in_(sorted(rendered.leaders)), Person.active.is_(True)))).all()} if rendered.leaders else {}
    # On a day of his leave that names a substitute, the substitute gets his digest (he holds his level).
    holders = await problem_repo.lead_holders(session, list(active.values()), day=local_day(now))
    for leader_id, leader_parts in rendered.leaders.items():
        holder = holders.get(leader_id)
        if holder is None:
            continue
        standing = holder.id != leader_id
        own, stood_in = rendered.leader_heads[leader_id]
        head = (stood_in if standing else own) + "\n"
        notices += [PersonNotice(holder.id, Reply(html=(head if index == 0 else "") + part, buttons=_web_buttons(
                        web_url, index, len(leader_parts))),
                                 f"{key}:lead:{index}:p{holder.id}" + (f":l{leader_id}" if standing else ""))
                    for index, part in enumerate(leader_parts)]
    count += len(await outbox.enqueue_for_people(session, notices, now=now))
    if rendered.failed:
        html = renderer.render("bulletin_part_failed", kind_name=KIND_NAMES[period.kind], period=period,
                               failed=rendered.failed)
        for admin in await people_repo.people_with_role(session, role="admin"):
            count += len(await outbox.enqueue_for_person(session, person_id=admin.id, reply=Reply(html=html),
                                                         key=f"{key}:failed:p{admin.id}", now=now))
    return count


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
