"""What the web pages read beyond the standings: the year's counted reports by day (the charts), a project's
report timeline, problems with filters, who reported on which day (填报情况), and what a photo's own page says
of it (the day, who sent it, its place among the photos sent with it).

Year-to-date follows ``bot.domain.year_to_date`` in SQL, as ``storage.report_figures`` does: a project's
baseline counts when it is of the year, and its reports count when they are of the year, live, and after the
baseline's day (when the baseline is dated in that year).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.escalation import ACTIVE
from bot.domain.problem_numbers import problem_number
from storage.annual_plans import plan_join
from storage.entered import entered_on
from storage.ledger_bases import base_join
from storage.models import (
    Bulletin,
    NodePhoto,
    Person,
    Problem,
    ProblemPhoto,
    Project,
    ProjectNode,
    Report,
    ReportPhoto,
    Unit,
)
from storage.report_figures import counts_in_year


async def counted_daily(session: AsyncSession, *, year: int, up_to: date,
                        project_id: int | None = None) -> tuple[Decimal, dict[date, Decimal]]:
    """(Σ baselines of ``year``, {day: Σ reports that count on top of them}) up to ``up_to``, for every
    project or one. Two queries."""
    year_start = date(year, 1, 1)
    base = base_join(Project, year)  # the base of the year (storage.ledger_bases)
    query = (
        select(Report.local_day, func.sum(Report.amount))
        .join(Project, Project.id == Report.project_id)
        .outerjoin(base.table, base.on)
        .where(Report.withdrawn_at.is_(None), Report.local_day >= year_start, Report.local_day <= up_to,
               counts_in_year(base, year))
        .group_by(Report.local_day)
    )
    baseline = select(func.sum(base.done_before)).select_from(Project).outerjoin(base.table, base.on)
    if project_id is not None:
        query = query.where(Report.project_id == project_id)
        baseline = baseline.where(Project.id == project_id)
    daily = {day: Decimal(total or 0) for day, total in (await session.execute(query)).all()}
    return Decimal(await session.scalar(baseline) or 0), daily


async def entered_totals(session: AsyncSession, *, year: int) -> dict[date, tuple[Decimal, Decimal]]:
    """The local day projects came into the ledger (storage.entered) → Σ of their bases and of their plans of
    ``year`` (a project without one adds nothing): what a past week of the overview's trend counts. One query."""
    base = base_join(Project, year)
    plans, on, plan = plan_join(Project, year)
    rows = await session.execute(select(Project.created_at, base.done_before, plan)
                                 .outerjoin(base.table, base.on).outerjoin(plans, on))
    totals: dict[date, tuple[Decimal, Decimal]] = {}
    for entered, done_before, amount in rows.all():
        day = entered_on(entered)
        bases, planned = totals.get(day, (Decimal(0), Decimal(0)))
        totals[day] = (bases + Decimal(done_before or 0), planned + Decimal(amount or 0))
    return totals


async def project_reports(session: AsyncSession, *, project_id: int, limit: int = 60,
                          offset: int = 0) -> list[tuple[Report, str]]:
    """The project's reports, newest day first (withdrawn and replaced versions too, marked by
    ``withdrawn_at``), each with its reporter's name; ``offset`` newest ones left out."""
    rows = await session.execute(
        select(Report, Person.name).join(Person, Person.id == Report.person_id)
        .where(Report.project_id == project_id)
        .order_by(Report.local_day.desc(), Report.created_at.desc(), Report.id.desc()).limit(limit).offset(offset))
    return [(report, name) for report, name in rows.all()]


async def open_problems(session: AsyncSession, *, level: int | None = None, unit: str | None = None,
                        category: str | None = None, project_id: int | None = None,
                        include_closed: bool = False) -> list[Problem]:
    """Problems (open ones unless ``include_closed``), filtered, by number."""
    query = select(Problem).join(Unit, Unit.id == Problem.unit_id).order_by(Problem.id)
    if not include_closed:
        query = query.where(Problem.status.in_(sorted(ACTIVE)))
    query = _filtered(query, level=level, unit=unit, category=category)
    if project_id is not None:
        query = query.where(Problem.project_id == project_id)
    return list((await session.scalars(query)).unique().all())


class ProblemLine(NamedTuple):
    """A problem as the web lists show it (read without the ORM: thousands may be open), with what the scope
    rules need to know about it (bot.domain.scope.ProblemFacts)."""

    id: int
    level: int
    status: str
    category: str
    text: str
    unit_id: int
    unit: str
    raised_by_id: int
    project_code: str | None
    project_name: str | None
    liaison_id: int | None
    lead_official_id: int | None
    response_due_at: datetime | None
    resolution_due_at: datetime | None
    promised_date: date | None
    policy: dict[str, Any] | None  # read only when there is a promised day

    @property
    def number(self) -> str:
        return problem_number(self.id)


async def problem_lines(session: AsyncSession, *, where: Any = None, level: int | None = None,
                        unit: str | None = None, category: str | None = None) -> list[ProblemLine]:
    """The open problems (open, accepted, answered), filtered (``where``: a condition on Problem outer-joined
    to its Project, e.g. storage.scope.visible), by number. One query."""
    query = (
        select(Problem.id, Problem.level, Problem.status, Problem.category, Problem.text, Problem.unit_id,
               Unit.name, Problem.raised_by_id, Project.code, Project.name, Project.liaison_id,
               Project.lead_official_id, Problem.response_due_at, Problem.resolution_due_at,
               Problem.promised_date,
               # the policy only matters with a promised day (bot.services.problems.promised_due_at)
               case((Problem.promised_date.is_not(None), Problem.policy)))
        .join(Unit, Unit.id == Problem.unit_id)
        .outerjoin(Project, Project.id == Problem.project_id)
        .where(Problem.status.in_(sorted(ACTIVE)))
        .order_by(Problem.id)
    )
    if where is not None:
        query = query.where(where)
    query = _filtered(query, level=level, unit=unit, category=category)
    return [ProblemLine(*row) for row in (await session.execute(query)).all()]


def _filtered(query: Any, *, level: int | None, unit: str | None, category: str | None) -> Any:
    """A query of problems (joined with their unit) narrowed to the 问题 page's filters that are set."""
    if level is not None:
        query = query.where(Problem.level == level)
    if unit:
        query = query.where(Unit.name == unit)
    if category:
        query = query.where(Problem.category == category)
    return query


async def reported_days(session: AsyncSession, *, start: date, end: date) -> set[tuple[int, date]]:
    """(project id, day) of every day ``start``..``end`` a project has a live report."""
    rows = await session.execute(
        select(Report.project_id, Report.local_day).where(
            Report.withdrawn_at.is_(None), Report.local_day >= start, Report.local_day <= end).distinct())
    return {(project_id, day) for project_id, day in rows.all()}


async def latest_bulletins(session: AsyncSession, *, limit: int = 12) -> list[tuple[str, str, datetime]]:
    """(kind, period, produced at) of the latest bulletins, newest first."""
    rows = await session.execute(select(Bulletin.kind, Bulletin.period, Bulletin.produced_at)
                                 .order_by(Bulletin.produced_at.desc()).limit(limit))
    return [(kind, period, at) for kind, period, at in rows.all()]


class PhotoAbout(NamedTuple):
    """What a photo's page says of it: the day it is of (a report's day, the day a node was done; a problem's
    photo has none: it is of the moment the problem was raised), who sent it and when, and the ids of the
    photos sent with it (itself included) in the order they were sent, for 第 N 张，共 M 张 and the previous and
    next photo."""

    day: date | None
    sender: str | None
    sent_at: datetime | None
    siblings: tuple[int, ...]
    owner_id: int | None = None  # the report's, problem's or node's id the photo was sent with

    def neighbours(self, photo_id: int) -> tuple[int | None, int | None]:
        """(the previous photo's id, the next one's) among the siblings, None at either end."""
        at = self.siblings.index(photo_id) if photo_id in self.siblings else -1
        if at < 0:
            return None, None
        return (self.siblings[at - 1] if at > 0 else None,
                self.siblings[at + 1] if at + 1 < len(self.siblings) else None)


async def photo_about(session: AsyncSession, *, kind: str, photo_id: int) -> PhotoAbout | None:
    """A photo of ``kind`` ("report", "problem", "node") as its page describes it, or None. Two queries."""
    if kind == "report":
        head = (select(Report.local_day, Person.name, Report.created_at, ReportPhoto.report_id)
                .join(Report, Report.id == ReportPhoto.report_id).join(Person, Person.id == Report.person_id)
                .where(ReportPhoto.id == photo_id))
        table, owner = ReportPhoto, ReportPhoto.report_id
    elif kind == "problem":
        head = (select(Problem.created_at, Person.name, Problem.created_at, ProblemPhoto.problem_id)
                .join(Problem, Problem.id == ProblemPhoto.problem_id)
                .join(Person, Person.id == Problem.raised_by_id).where(ProblemPhoto.id == photo_id))
        table, owner = ProblemPhoto, ProblemPhoto.problem_id
    elif kind == "node":
        head = (select(ProjectNode.done_on, Person.name, NodePhoto.created_at, NodePhoto.node_id)
                .join(ProjectNode, ProjectNode.id == NodePhoto.node_id)
                .outerjoin(Person, Person.id == ProjectNode.done_by_id).where(NodePhoto.id == photo_id))
        table, owner = NodePhoto, NodePhoto.node_id
    else:
        raise ValueError(kind)
    row = (await session.execute(head)).first()
    if row is None:
        return None
    day, sender, sent_at, owner_id = row
    siblings = (await session.scalars(select(table.id).where(owner == owner_id).order_by(table.id))).all()
    return PhotoAbout(day if kind != "problem" else None, sender, sent_at, tuple(siblings), owner_id)
