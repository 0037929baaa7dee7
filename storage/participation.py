"""What 填报率 (``bot.domain.participation``) is counted from: the projects that may owe reports, with their
lead unit, liaison and the liaison's leaves, the stage moves of those whose stage moved in the weeks, and the
days each project has a live report. Three queries whatever the number of projects, one more when the stage
histories are not given and one more when the projects' versions are not. Each project's unit and liaison are
those it had at the end of the weeks (``storage.project_versions``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import day_start, to_local
from bot.domain.duties import REPORTING_STAGES
from bot.domain.leave import LeaveSpan
from bot.domain.participation import Duty, day_bits
from bot.domain.stage_history import Move
from storage.leaves import spans_between
from storage.models import Person, Project, Report, Unit
from storage.project_versions import Held, Versions, held_at
from storage.rows import all_rows, gc_paused
from storage.stage_events import histories

__all__ = ["participation_duties", "reported_day_masks"]


async def participation_duties(session: AsyncSession, *, start: date, end: date,
                               moves: Mapping[int, Sequence[Move]] | None = None,
                               versions: Versions | None = None) -> list[Duty]:
    """The projects being prepared or built, or whose stage moved after ``start`` (the others owe nothing), by
    code, with the leaves of their liaison that share a day with ``start``..``end``, the day each was entered and
    the stage moves of those that moved; ``moves``: the projects' stage histories (``storage.stage_events.
    histories``) when the caller has read them (a bulletin reads them once); else only those of the projects that
    moved after ``start`` are read. ``versions``: the projects' dated versions (``storage.project_versions``)
    when the caller has read them."""
    if moves is None:
        moves = await histories(session, moved_after=start)
    moved = {project_id: tuple(made) for project_id, made in moves.items() if any(m.day > start for m in made)}
    rows = await all_rows(session, select(Project.id, Project.code, Project.stage, Unit.name, Project.liaison_id,
                                          Person.name, Project.created_at)
                          .join(Unit, Unit.id == Project.lead_unit_id)
                          .outerjoin(Person, Person.id == Project.liaison_id)
                          .where(Project.stage.in_(REPORTING_STAGES) | Project.id.in_(sorted(moved)))
                          .order_by(Project.code))
    # each project's unit and liaison as the ledger had them at the end of ``end`` (storage.project_versions)
    then = await held_at(session, at=day_start(end + timedelta(days=1)), versions=versions)
    rows = [row if row[0] not in then else _held_then(row, then[row[0]]) for row in rows]
    away: dict[int, list[LeaveSpan]] = {}
    for leave in await spans_between(session, start=start, end=end):
        away.setdefault(leave.person_id, []).append(leave)
    with gc_paused():  # thousands of small objects, no cycles: a full collection here would double the time
        return [Duty(project_id, code, stage, unit, liaison_id, liaison, tuple(away.get(liaison_id, ())),
                     to_local(entered).date(), moved.get(project_id, ()))
                for project_id, code, stage, unit, liaison_id, liaison, entered in rows]


def _held_then(row: Any, held: Held) -> tuple[Any, ...]:
    """A duty's row with the lead unit and liaison its project had then."""
    project_id, code, stage, _unit, _liaison_id, _liaison, entered = row
    return project_id, code, stage, held.lead_unit, held.liaison_id, held.liaison, entered


async def reported_day_masks(session: AsyncSession, *, start: date,
                             end: date) -> Sequence[tuple[int, int, int]]:
    """(project id, days mask, 补报 mask) for each project with a live report in ``start``..``end``: bit n of the
    first set when its liaison reported on day n of the range (``bot.domain.participation.day_bits``), of the
    second when the day's report is a 补报 the 项目办 entered afterwards (``storage.reports.reported_by_liaison``:
    it is not the liaison's), counted as ``ReportedMasks`` (``bot.domain.participation.reported_masks``).

    One row per project (10,000) rather than one per project and day (75,000 on a large district, read on
    the event loop): each report's day gives its bit, and the sum of the distinct bits is the mask (a 0 for
    the reports of the other kind adds nothing).
    """
    bit = _bit_of(Report.local_day, list(day_bits(start, end).items()))
    return await all_rows(session, select(
        Report.project_id, func.sum(func.distinct(case((Report.backfill, 0), else_=bit))),
        func.sum(func.distinct(case((Report.backfill, bit), else_=0)))).where(
        Report.withdrawn_at.is_(None), Report.local_day >= start, Report.local_day <= end)
        .group_by(Report.project_id))


def _bit_of(day: ColumnElement[date], bits: Sequence[tuple[date, int]]) -> ColumnElement[int]:
    """The bit of ``day`` among ``bits`` (every day of a range, in order; ``day`` is in the range), found by
    halving the range: five comparisons a report for four weeks, where a CASE naming each day in turn makes
    fifteen on average (on a large district 90,000 reports: a quarter of the query's time)."""
    if len(bits) == 1:
        return literal(bits[0][1])
    middle = len(bits) // 2
    return case((day < bits[middle][0], _bit_of(day, bits[:middle])), else_=_bit_of(day, bits[middle:]))
