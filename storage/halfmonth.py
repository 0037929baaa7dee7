"""Repository of the half-monthly written reports (半月报): what liaisons owe and sent for a half-month, and
the period's daily reports and open problems their texts are prefilled from."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import day_start
from bot.domain.escalation import ACTIVE
from bot.domain.halfmonth import BULLETIN_KIND, DayReport, HalfMonth, OpenIssue, reported_within
from bot.domain.problem_numbers import problem_number
from storage.models import Bulletin, HalfMonthReport, Person, Problem, Project, Report, Unit
from storage.people import active_at
from storage.project_versions import Held, held_at
from storage.stage_events import histories as stage_histories


@dataclass(frozen=True)
class Owed:
    """A project whose half-monthly report its liaison owes."""

    project_id: int
    code: str
    name: str
    liaison_id: int
    liaison: str
    lead_unit: str


async def owed(session: AsyncSession, *, half: HalfMonth) -> list[Owed]:
    """Every project with a liaison active at the end of ``half`` that was being prepared or built on some day
    of it (``bot.domain.halfmonth.reported_within``), by liaison then code: one finished (竣工/投产) within it
    owes its last report, one finished before it owes none, as it owes no daily one. Each project is named and
    held as the ledger had it at the half-month's end (``storage.project_versions``), and its liaison counts
    if he was active then (``storage.people.active_at``): a past half-month's document reads as it stood, a
    handover or a deactivation since changing nothing in it."""
    end = day_start(half.end + timedelta(days=1))
    rows = (await session.execute(
        select(Project.id, Project.code, Project.name, Project.liaison_id, Person.name, Unit.name, Project.stage)
        .outerjoin(Person, Person.id == Project.liaison_id).join(Unit, Unit.id == Project.lead_unit_id))).all()
    then = await held_at(session, at=end)
    rows = [tuple(row) if row[0] not in then else _held_then(tuple(row), then[row[0]]) for row in rows]
    active = await active_at(session, at=end)
    rows = sorted((row for row in rows if row[3] in active), key=lambda row: (row[3], row[1]))
    moves = await stage_histories(session, project_ids=[row[0] for row in rows],
                                  moved_after=half.start - timedelta(days=1))
    return [Owed(*row[:6]) for row in rows if reported_within(row[6], moves.get(row[0], []), half)]


def _held_then(row: tuple[Any, ...], held: Held) -> tuple[Any, ...]:
    """An owed row with the name, liaison and lead unit its project had then."""
    project_id, code, _name, _liaison_id, _liaison, _unit, stage = row
    return project_id, code, held.name, held.liaison_id, held.liaison, held.lead_unit, stage


async def sent(session: AsyncSession, *, period_start: date) -> dict[int, HalfMonthReport]:
    """The reports sent for the half-month starting on `period_start`, by project id."""
    rows = await session.scalars(select(HalfMonthReport).where(HalfMonthReport.period_start == period_start))
    return {row.project_id: row for row in rows.all()}


async def compiled(session: AsyncSession, *, half: HalfMonth) -> bool:
    """Whether the office's document on `half` was compiled and sent."""
    return await session.scalar(select(Bulletin.id).where(Bulletin.kind == BULLETIN_KIND,
                                                          Bulletin.period == half.key)) is not None


async def get(session: AsyncSession, *, project_id: int, period_start: date) -> HalfMonthReport | None:
    return await session.scalar(select(HalfMonthReport).where(
        HalfMonthReport.project_id == project_id, HalfMonthReport.period_start == period_start))


async def save(session: AsyncSession, *, project_id: int, period_start: date, progress: str, problems: str,
               next_steps: str, person_id: int, channel: str, now: datetime) -> bool:
    """Store a project's report for a half-month; returns whether it replaced one sent before."""
    row = await get(session, project_id=project_id, period_start=period_start)
    replaced = row is not None
    if row is None:
        row = HalfMonthReport(project_id=project_id, period_start=period_start, submitted_at=now)
        session.add(row)
    row.progress, row.problems, row.next_steps = progress, problems, next_steps
    row.person_id, row.channel, row.updated_at = person_id, channel, now
    return replaced


async def day_reports(session: AsyncSession, *, project_ids: list[int], start: date,
                      end: date) -> dict[int, list[DayReport]]:
    """The counted daily reports (not withdrawn nor replaced) of these projects from `start` to `end`."""
    grouped: dict[int, list[DayReport]] = defaultdict(list)
    if not project_ids:
        return grouped
    rows = await session.execute(
        select(Report.project_id, Report.local_day, Report.amount, Report.progress_text)
        .where(Report.project_id.in_(project_ids), Report.withdrawn_at.is_(None), Report.local_day >= start,
               Report.local_day <= end).order_by(Report.local_day))
    for project_id, day, amount, progress in rows.all():
        grouped[project_id].append(DayReport(day, amount, progress or ""))
    return grouped


async def open_issues(session: AsyncSession, *, project_ids: list[int]) -> dict[int, list[OpenIssue]]:
    """The problems of these projects not yet solved (raised, accepted or answered), oldest first."""
    grouped: dict[int, list[OpenIssue]] = defaultdict(list)
    if not project_ids:
        return grouped
    rows = await session.execute(
        select(Problem.project_id, Problem.id, Problem.category, Problem.text, Unit.name, Problem.answer_text,
               Problem.promised_date)
        .join(Unit, Unit.id == Problem.unit_id)
        .where(Problem.project_id.in_(project_ids), Problem.status.in_(sorted(ACTIVE))).order_by(Problem.id))
    for project_id, problem_id, category, text, unit, answer, promised in rows.all():
        grouped[project_id].append(OpenIssue(problem_number(problem_id), category, text, unit, answer, promised))
    return grouped
