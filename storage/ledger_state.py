"""What the ledger import compares the file with: every unit, person and project, read once in a few
set-based queries as plain values (bot.domain.ledger_plan.LedgerState), plus the year's reports per project
split at the baseline's day, and the liaisons and leads changed in the chat since the last import (whose
digest, bot.domain.ledger_digest, tells whether a previewed import still holds when it is confirmed)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import case, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.escalation import ACTIVE
from bot.domain.ledger_diff import default_day
from bot.domain.ledger_plan import KEEP, PROJECT_FIELDS, KnownPerson, KnownProject, LedgerState, ReportTotals
from bot.domain.stage_events import CONFIRMED
from bot.domain.stage_history import last_finish
from storage.annual_plans import plans_of_year
from storage.ledger_bases import base_join
from storage.models import (
    AuditEntry,
    Person,
    PersonRole,
    Problem,
    Project,
    ProjectSupportingUnit,
    Report,
    StageEvent,
    Unit,
)
from storage.stage_events import histories

IMPORT_ACTION = "ledger.import"
# Audit entries of a change of a project's people made in the chat (/handover, /project_set).
_PEOPLE_FIELDS = ("liaison", "lead_official")


async def known_unit_names(session: AsyncSession) -> set[str]:
    return set((await session.scalars(select(Unit.name))).all())


async def known_project_codes(session: AsyncSession) -> set[str]:
    return set((await session.scalars(select(Project.code))).all())


async def people_without_phone(session: AsyncSession) -> dict[str, list[frozenset[str]]]:
    """The people stored without a phone, by name: the roles of each (the import joins roster rows of one name
    and no phone into one person only when exactly one such person already holds all their roles)."""
    roles: dict[int, set[str]] = {}
    names: dict[int, str] = {}
    query = select(Person.id, Person.name, PersonRole.role).outerjoin(
        PersonRole, PersonRole.person_id == Person.id).where((Person.phone.is_(None)) | (Person.phone == ""))
    for person_id, name, role in await session.execute(query):  # one query
        names[person_id] = name
        roles.setdefault(person_id, set()).update({role} if role else ())
    found: dict[str, list[frozenset[str]]] = {}
    for person_id, name in names.items():
        found.setdefault(name, []).append(frozenset(roles[person_id]))
    return found


async def load_state(session: AsyncSession, *, today: date, as_of: date | None) -> LedgerState:
    """Everything `plan_import` compares with, in a dozen queries whatever the size of the district (the stage
    histories: each project's moves, the day its finish is recorded from, and the moves made in the chat)."""
    state = LedgerState()
    state.units = {name: unit_id for unit_id, name in await session.execute(select(Unit.id, Unit.name))}
    roles: dict[int, set[str]] = {}
    for person_id, role in await session.execute(select(PersonRole.person_id, PersonRole.role)):
        roles.setdefault(person_id, set()).add(role)
    people = select(Person.id, Person.name, Person.phone, Person.title, Person.unit_id, Person.active,
                    Person.ledger_key)
    state.people = [KnownPerson(pid, name, phone, title, unit_id, bool(active), roles.get(pid, set()), key=key)
                    for pid, name, phone, title, unit_id, active, key
                    in await session.execute(people.order_by(Person.id))]
    supporting: dict[int, list[int]] = {}
    query = select(ProjectSupportingUnit.project_id, ProjectSupportingUnit.unit_id).order_by(
        ProjectSupportingUnit.project_id, ProjectSupportingUnit.position)
    for project_id, unit_id in await session.execute(query):
        supporting.setdefault(project_id, []).append(unit_id)
    columns = [Project.id, Project.code, *(getattr(Project, k) for k in _PROJECT_COLUMNS)]
    for row in await session.execute(select(*columns)):
        project_id, code, *values = row
        state.projects[code] = KnownProject(project_id, code, dict(zip(_PROJECT_COLUMNS, values, strict=True)),
                                            tuple(supporting.get(project_id, ())))
    state.changed_in_chat = await _changed_in_chat(session)
    state.moved_in_chat = await _moved_in_chat(session)
    state.open_problems = {unit_id: count for unit_id, count in await session.execute(
        select(Problem.unit_id, func.count()).where(Problem.status.in_(ACTIVE)).group_by(Problem.unit_id))}
    state.reports = await _report_totals(session, today=today, as_of=as_of)
    # The plans of the year the ledger is for: its baseline's day, else the end of last month (as
    # bot.domain.ledger_diff.plan_import dates it).
    year = (as_of or default_day(today) or today).year
    state.plans = {project_id: plan for project_id, plan in (await plans_of_year(session, year=year)).items()
                   if plan is not None}
    moves = await histories(session)
    state.moves = {project_id: [(move.kind, move.day) for move in made] for project_id, made in moves.items()}
    state.finish_days = {project_id: day for project_id, made in moves.items()
                         if (day := last_finish(made)) is not None}
    return state


_PROJECT_COLUMNS = (*PROJECT_FIELDS, "baseline_year", "baseline_date", "lead_official_id", "liaison_id",
                    "lead_unit_id")


async def _changed_in_chat(session: AsyncSession) -> set[tuple[str, str]]:
    """(project code, field) of the liaisons and leads changed in the chat since the last import, and of those the
    last import kept against its file (``handovers_kept`` of its audit entry: a handover kept, or standing as the
    file's person is deactivated, stays the chat's until a file agrees or the file's is taken: an old file
    imported again is asked about it again, not let to undo it)."""
    last = (await session.execute(select(AuditEntry.id, AuditEntry.detail).where(AuditEntry.action == IMPORT_ACTION)
                                  .order_by(AuditEntry.id.desc()).limit(1))).first()
    query = select(AuditEntry.object_key, AuditEntry.detail).where(
        AuditEntry.action == "project.update", AuditEntry.object_type == "project")
    changed: set[tuple[str, str]] = set()
    if last is not None:
        query = query.where(AuditEntry.id > last.id)  # written after it (in the same instant too)
        for key in _handovers_kept(last.detail or {}):  # "handover:<code>:<field>"
            code, _, field = key.partition(":")[2].rpartition(":")
            if field in _PEOPLE_FIELDS:
                changed.add((code, field))
    for code, detail in await session.execute(query):
        field = (detail or {}).get("field")
        if field in _PEOPLE_FIELDS:
            changed.add((code, field))
    return changed


def _handovers_kept(detail: Mapping[str, Any]) -> list[str]:
    """The handovers an import's audit entry says it kept against its file. An entry written before imports
    recorded them (no ``handovers_kept``) still has the admin's choice of each conflict (``conflicts``): its
    handovers chosen "keep". (One standing only because the file's person was deactivated was recorded as the
    file's choice there, and stays the chat's at the next import while that person is still deactivated.)"""
    if "handovers_kept" in detail:
        return list(detail["handovers_kept"] or ())
    return [key for key, choice in (detail.get("conflicts") or {}).items()
            if key.startswith("handover:") and choice == KEEP]


async def _moved_in_chat(session: AsyncSession) -> dict[int, date]:
    """Project id → the latest day of its 开工, 竣工 and reopenings confirmed in the chat (a report confirmed, an
    admin's /finished or /project_set), for the projects with any: not those an import recorded, which it
    records in the instant of the project's audit entry (storage.ledger_audit, its source the ledger)."""
    by_ledger = exists().where(
        AuditEntry.object_type == "project", AuditEntry.object_key == Project.code,
        AuditEntry.at == StageEvent.decided_at, AuditEntry.detail["source"].as_string() == "ledger")
    query = (select(StageEvent.project_id, func.max(StageEvent.day))
             .join(Project, Project.id == StageEvent.project_id)
             .where(StageEvent.state == CONFIRMED, ~by_ledger).group_by(StageEvent.project_id))
    return {project_id: day for project_id, day in await session.execute(query)}


async def _report_totals(session: AsyncSession, *, today: date, as_of: date | None) -> dict[int, ReportTotals]:
    """Per project with live reports this year up to `today`: their sum and count, the sum and count on or
    before `as_of`, and the sum the stored baseline covers (bot.domain.year_to_date)."""
    year_start = date(today.year, 1, 1)
    split = as_of if as_of is not None else year_start - timedelta(days=1)
    new_covered = Report.local_day <= split
    base = base_join(Project, today.year)  # the stored base of this year (storage.ledger_bases)
    old_covered = Report.local_day <= base.baseline_date
    zero: Any = 0
    query = (
        select(Report.project_id, func.sum(Report.amount), func.count(Report.id),
               func.sum(case((new_covered, Report.amount), else_=zero)),
               func.sum(case((new_covered, 1), else_=0)),
               func.sum(case((old_covered, Report.amount), else_=zero)))
        .join(Project, Project.id == Report.project_id)
        .outerjoin(base.table, base.on)
        .where(Report.withdrawn_at.is_(None), Report.local_day >= year_start, Report.local_day <= today)
        .group_by(Report.project_id)
    )
    return {project_id: ReportTotals(Decimal(total or 0), int(n), Decimal(new_sum or 0), int(new_n or 0),
                                     Decimal(old_sum or 0))
            for project_id, total, n, new_sum, new_n, old_sum in await session.execute(query)}
