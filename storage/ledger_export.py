"""The ledger as the import reads it, for the export: every project as a row of 重点项目包抓责任分解表 and
every person as a row of 人员名单 for each of their roles (bot.domain.ledger_rows), a deactivated one marked
停用 (so that the problems and decisions that name him are still his on a fresh database), with the 人员编号 the
admin typed (else, for one without a phone, his internal id: what tells namesakes apart), and with the baseline's
year and day they share.

What the import stored is written back as it is: each project's baseline (截至某日累计完成, not the
year-to-date), the annual plan of its baseline's year, and the days of its 开工 and 竣工 (实际开工, 竣工日期:
bot.domain.stage_history.ledger_days), so that the export imported again changes nothing, and imported into
a fresh database gives each project the same start and finish days; and each project's whole history of
开工, 竣工 and 恢复在建 (阶段记录), so that a reopened project's past figures read the same there too.
A few queries whatever the size of the district.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.ledger_rows import UNIT_ROLES, PersonRow, ProjectRow, StageRow
from bot.domain.stage_history import ledger_days
from storage.annual_plans import plans_of_year
from storage.models import Person, PersonRole, Project, ProjectSupportingUnit, Unit
from storage.stage_events import histories

# The roles of the roster, in the order of a person's rows: one row per role, so that a person with several
# (a 包抓领导 who is also an admin, a unit handler who is also a liaison) keeps them all.
ROSTER_ROLES = ("lead", "top", "admin", "unit", "liaison")


@dataclass
class LedgerTemplate:
    """The import's tables, as stored; ``year`` and ``as_of``: the baseline's year and day most projects
    share (``as_of`` None when the projects of that year do not share one day)."""

    projects: list[ProjectRow] = field(default_factory=list)
    people: list[PersonRow] = field(default_factory=list)
    stages: list[StageRow] = field(default_factory=list)  # every project's 开工, 竣工 and 恢复在建, by code and day
    year: int | None = None
    as_of: date | None = None


async def ledger_template(session: AsyncSession) -> LedgerTemplate:
    """Every project (by code) and every person with a role (by name, a row per role) as the import's rows."""
    units: dict[int, str] = {unit_id: name for unit_id, name in await session.execute(select(Unit.id, Unit.name))}
    roles: dict[int, set[str]] = {}
    for person_id, role in await session.execute(select(PersonRole.person_id, PersonRole.role)):
        roles.setdefault(person_id, set()).add(role)
    people = {pid: (name, phone, title, unit_id, active, key) for pid, name, phone, title, unit_id, active, key
              in await session.execute(select(Person.id, Person.name, Person.phone, Person.title, Person.unit_id,
                                              Person.active, Person.ledger_key))}
    supporting: dict[int, list[str]] = {}
    query = select(ProjectSupportingUnit.project_id, ProjectSupportingUnit.unit_id).order_by(
        ProjectSupportingUnit.project_id, ProjectSupportingUnit.position)
    for project_id, unit_id in await session.execute(query):
        supporting.setdefault(project_id, []).append(units[unit_id])
    projects = (await session.scalars(select(Project).order_by(Project.code))).unique().all()
    template = LedgerTemplate()
    if projects:
        template.year = Counter(p.baseline_year for p in projects).most_common(1)[0][0]
        days = {p.baseline_date for p in projects if p.baseline_year == template.year}
        template.as_of = next(iter(days)) if len(days) == 1 else None
    plans = await plans_of_year(session, year=template.year) if template.year else {}
    moves = await histories(session)
    led: dict[tuple[int, str], list[str]] = {}
    for project in projects:
        lead = people.get(project.lead_official_id) if project.lead_official_id else None
        liaison = people.get(project.liaison_id) if project.liaison_id else None
        if lead:
            led.setdefault((project.lead_official_id, "lead"), []).append(project.code)
        if liaison:
            led.setdefault((project.liaison_id, "liaison"), []).append(project.code)
        plan = plans.get(project.id)
        started_on, finished_on = ledger_days(project.stage, moves.get(project.id, []))
        template.projects.append(ProjectRow(
            row=0, code=project.code, name=project.name, category=project.category or "", level=project.level,
            location=project.location, owner=project.owner, total_investment=project.total_investment,
            annual_plan=project.annual_plan if plan is None else Decimal(plan), done_before=project.done_before,
            stage=project.stage, planned_start=project.planned_start, planned_finish=project.planned_finish,
            lead_official=lead[0] if lead else None, lead_official_title=lead[2] if lead else None,
            lead_unit=units[project.lead_unit_id], supporting_units=tuple(supporting.get(project.id, ())),
            liaison=liaison[0] if liaison else None, liaison_phone=liaison[1] if liaison else None,
            started_on=started_on, finished_on=finished_on))
        template.stages += [StageRow(0, project.code, move.kind, move.day) for move in moves.get(project.id, [])]
    for pid, (name, phone, title, unit_id, active, key) in sorted(people.items(), key=lambda item: item[0]):
        unit = units.get(unit_id) if unit_id else None
        for role in (r for r in ROSTER_ROLES if r in roles.get(pid, ())):
            if role in ("liaison", "unit") and unit is None:
                continue  # the roster needs their unit; a liaison comes with his projects' rows
            template.people.append(PersonRow(
                row=0, name=name, role=role, unit=unit if role in UNIT_ROLES else None,
                title=None if role in UNIT_ROLES else title, phone=phone, projects=tuple(led.get((pid, role), ())),
                active=None if active else False, key=key or (None if phone else str(pid))))
    return template
