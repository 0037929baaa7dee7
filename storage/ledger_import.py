"""Upserting a validated ledger (projects, units, people) into the database, all or nothing."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.ledger import ImportIssue, Ledger, PersonRow, ProjectRow
from storage import audit, people
from storage.audit import Actor
from storage.models import Person, Project, ProjectSupportingUnit, Unit

MONEY_FIELDS = ("total_investment", "annual_plan", "done_before")
ONE_YUAN = Decimal("0.0001")
PROJECT_FIELDS = ("name", "category", "level", "location", "owner", "total_investment", "annual_plan",
                  "done_before", "stage", "planned_start", "planned_finish")


@dataclass
class ImportSummary:
    """What an import did (or, in a dry run, would do), counted per kind of thing."""

    added: Counter[str] = field(default_factory=Counter)
    changed: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)
    issues: list[ImportIssue] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)


async def known_unit_names(session: AsyncSession) -> set[str]:
    return set((await session.scalars(select(Unit.name))).all())


class _Importer:
    def __init__(self, session: AsyncSession, *, now: datetime, actor: Actor, year: int) -> None:
        self.session, self.now, self.actor, self.year = session, now, actor, year
        self.summary = ImportSummary()
        self.units: dict[str, Unit] = {}

    async def _audit(self, action: str, object_type: str, key: str, detail: dict[str, Any]) -> None:
        await audit.record(self.session, actor=self.actor, at=self.now, action=action, object_type=object_type,
                           object_key=key, detail=detail)

    async def unit(self, name: str) -> Unit:
        if name not in self.units:
            found = await self.session.scalar(select(Unit).where(Unit.name == name))
            if found is None:
                found = Unit(name=name, created_at=self.now)
                self.session.add(found)
                await self.session.flush()
                self.summary.added["unit"] += 1
                self.summary.changes.append(f"新增单位 {name}")
                await self._audit("unit.create", "unit", name, {})
            self.units[name] = found
        return self.units[name]

    async def _find_person(self, name: str, phone: str | None, role: str, title: str | None,
                           unit: Unit | None) -> Person | None:
        """The same person by phone, else by name with the same role and title or unit, else the only
        person of that name and role; None means a new person."""
        if phone:
            by_phone = await self.session.scalar(select(Person).where(Person.phone == phone))
            if by_phone is not None:
                return by_phone
        same_role = [p for p in await people.find_people_by_name(self.session, name=name)
                     if role in p.role_names and not (phone and p.phone)]
        for person in same_role:
            if (title and person.title == title) or (unit and person.unit_id == unit.id):
                return person
        return same_role[0] if len(same_role) == 1 else None

    async def person(self, *, name: str, role: str, phone: str | None, title: str | None,
                     unit_name: str | None, roster_row: bool = False) -> Person:
        unit = await self.unit(unit_name) if unit_name else None
        person = await self._find_person(name, phone, role, title, unit)
        wanted = {"name": name, "phone": phone, "title": title, "unit_id": unit.id if unit else None}
        if person is None:
            person = Person(created_at=self.now, active=True, roles=[], **wanted)
            self.session.add(person)
            await self.session.flush()
            people.grant_role(person, role)
            self.summary.added["person"] += 1
            self.summary.changes.append(f"新增人员 {name}")
            await self._audit("person.create", "person", str(person.id), {"role": role, **_jsonable(wanted)})
            return person
        changed = {k: v for k, v in wanted.items() if v is not None and getattr(person, k) != v}
        before = {k: getattr(person, k) for k in changed}
        for key, value in changed.items():
            setattr(person, key, value)
        new_role = people.grant_role(person, role)
        if changed or new_role:
            self.summary.changed["person"] += 1
            self.summary.changes.append(f"更新人员 {name}:{'、'.join([*changed, *(['role'] if new_role else [])])}")
            await self._audit("person.update", "person", str(person.id),
                              {"changed": _jsonable(changed), "before": _jsonable(before),
                               "role_added": role if new_role else None})
        elif roster_row:
            self.summary.unchanged["person"] += 1
        return person

    async def person_row(self, row: PersonRow) -> None:
        await self.person(name=row.name, role=row.role, phone=row.phone, title=row.title, unit_name=row.unit,
                          roster_row=True)

    async def project_row(self, row: ProjectRow) -> None:
        lead_unit = await self.unit(row.lead_unit)
        supporting = [await self.unit(name) for name in row.supporting_units]
        lead = None
        if row.lead_official:
            lead = await self.person(name=row.lead_official, role="lead", phone=None,
                                     title=row.lead_official_title, unit_name=None)
        liaison = None
        if row.liaison:
            liaison = await self.person(name=row.liaison, role="liaison", phone=row.liaison_phone, title=None,
                                        unit_name=None)
        wanted: dict[str, Any] = {k: getattr(row, k) for k in PROJECT_FIELDS}
        for key in MONEY_FIELDS:  # stored to the 元, so compare to the 元 too
            wanted[key] = Decimal(wanted[key]).quantize(ONE_YUAN, rounding=ROUND_HALF_UP)
        wanted.update(lead_official_id=lead.id if lead else None, liaison_id=liaison.id if liaison else None,
                      lead_unit_id=lead_unit.id)
        project = await self.session.scalar(select(Project).where(Project.code == row.code))
        supporting_ids = [u.id for u in supporting]
        if project is None:
            project = Project(code=row.code, baseline_year=self.year, created_at=self.now, updated_at=self.now,
                              supporting=[ProjectSupportingUnit(unit_id=uid, position=i)
                                          for i, uid in enumerate(supporting_ids)], **wanted)
            self.session.add(project)
            self.summary.added["project"] += 1
            self.summary.changes.append(f"新增项目 {row.code} {row.name}")
            await self._audit("project.create", "project", row.code, _jsonable(wanted))
            return
        changed = {k: v for k, v in wanted.items() if getattr(project, k) != v}
        before: dict[str, Any] = {k: getattr(project, k) for k in changed}
        if project.done_before != row.done_before or project.baseline_year != self.year:
            changed["baseline_year"], before["baseline_year"] = self.year, project.baseline_year
        if [s.unit_id for s in project.supporting] != supporting_ids:
            changed["supporting_units"] = list(row.supporting_units)
            before["supporting_units"] = [s.unit.name for s in project.supporting]
            project.supporting.clear()
            await self.session.flush()
            project.supporting.extend(
                ProjectSupportingUnit(unit_id=uid, position=i) for i, uid in enumerate(supporting_ids)
            )
        if not changed:
            self.summary.unchanged["project"] += 1
            return
        for key, value in changed.items():
            if key != "supporting_units":
                setattr(project, key, value)
        project.updated_at = self.now
        self.summary.changed["project"] += 1
        self.summary.changes.append(f"更新项目 {row.code}:{'、'.join(changed)}")
        await self._audit("project.update", "project", row.code,
                          {"changed": _jsonable(changed), "before": _jsonable(before)})


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (v if v is None or isinstance(v, bool | int | str) else [str(x) for x in v] if isinstance(v, list)
                else str(v)) for k, v in values.items()}


async def apply_ledger(session: AsyncSession, ledger: Ledger, *, now: datetime, actor: Actor,
                       year: int) -> ImportSummary:
    """Upsert people first (so projects can name them), then projects by 项目编号.

    The caller owns the transaction: on issues it must not commit (and in a dry run it never does).
    """
    importer = _Importer(session, now=now, actor=actor, year=year)
    for person_row in ledger.people:
        await importer.person_row(person_row)
    for project_row in ledger.projects:
        await importer.project_row(project_row)
    await session.flush()
    return importer.summary
