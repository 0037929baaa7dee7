"""The scope rules (bot.domain.scope) as queries: the problems a viewer sees, read in one statement, and the
facts the rules need about stored problems and people. `tests/storage/test_scope_queries.py` holds the SQL
to the pure rules on both databases."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.escalation import ACTIVE
from bot.domain.leave import standing_for
from bot.domain.scope import SEE_ALL, ProblemFacts, ProjectFacts, Viewer
from storage import leaves, people
from storage.models import Person, PersonRole, Problem, Project, ProjectSupportingUnit


def viewer_of(person: Person, *, stands_for: frozenset[int] = frozenset()) -> Viewer:
    """The viewer a stored person is (roles loaded with the person), standing in for `stands_for`."""
    return Viewer(person_id=person.id, roles=frozenset(person.role_names), unit_id=person.unit_id,
                  stands_for=stands_for)


async def viewer_on(session: AsyncSession, person: Person, *, day: date) -> Viewer:
    """The viewer a stored person is on `day`: with the 包抓领导 whose leave names him substitute that day."""
    return (await standing_on(session, person, day=day))[0]


@dataclass(frozen=True)
class StandIn:
    """Someone whose leave names the viewer substitute on a day, named, with the leave's last day: a 包抓领导
    (what the web pages and the chat's project lists say where the stand-in sees his projects), or a liaison
    (whose projects the viewer reports for; `lead_id` is then the liaison's id)."""

    lead_id: int
    name: str
    until: date


async def standing_on(session: AsyncSession, person: Person, *, day: date) -> tuple[Viewer, list[StandIn]]:
    """The viewer of `viewer_on` and those he stands in for that day, by name, from one read of the leaves
    (and one of their names when he stands in for somebody)."""
    spans = await leaves.covering_for(session, substitute_id=person.id, day=day)
    viewer = viewer_of(person, stands_for=standing_for(spans, person.id, day))
    if not viewer.stands_for:
        return viewer, []
    names = await people.names_of(session, ids=viewer.stands_for)
    standing = sorted((StandIn(lead_id=s.person_id, name=names[s.person_id], until=s.end) for s in spans
                       if s.person_id in viewer.stands_for),
                      key=lambda stand_in: (stand_in.name, stand_in.lead_id))
    return viewer, standing


def project_facts(project: Project) -> ProjectFacts:
    """The scope facts of a loaded project (its supporting units are loaded with it)."""
    return ProjectFacts(liaison_id=project.liaison_id, lead_official_id=project.lead_official_id,
                        lead_unit_id=project.lead_unit_id,
                        supporting_unit_ids=frozenset(s.unit_id for s in project.supporting))


def seeing_facts(problem: Problem) -> ProblemFacts:
    """The facts of a loaded problem (its project joined) that say who sees it (`bot.domain.scope.can_see`);
    the acts' facts (whether its unit has a handler, its deadlines) are `bot.services.scope.facts_of`'s."""
    project = problem.project
    return ProblemFacts(raised_by_id=problem.raised_by_id, unit_id=problem.unit_id, status=problem.status,
                        level=problem.level, liaison_id=project.liaison_id if project is not None else None,
                        lead_official_id=project.lead_official_id if project is not None else None,
                        problem_id=problem.id)


def visible(viewer: Viewer) -> ColumnElement[bool]:
    """The condition on `Problem` (outer-joined to its `Project`) that `bot.domain.scope.can_see` states."""
    if viewer.roles & SEE_ALL:
        return true()
    conditions = [Problem.raised_by_id == viewer.person_id, Project.liaison_id == viewer.person_id,
                  Project.lead_official_id.in_(sorted(viewer.leads_as))]
    if "unit" in viewer.roles and viewer.unit_id is not None:
        conditions.append(Problem.unit_id == viewer.unit_id)
    return or_(*conditions)


def followed(viewer: Viewer) -> ColumnElement[bool]:
    """The condition on `Project` that `bot.domain.scope.follows_project` states (a stand-in's absent leads'
    projects included), so that a list of the projects a person follows reads those, not every project."""
    if viewer.roles & SEE_ALL:
        return true()
    conditions = [Project.liaison_id == viewer.person_id, Project.lead_official_id.in_(sorted(viewer.leads_as))]
    if "unit" in viewer.roles and viewer.unit_id is not None:
        supporting = select(ProjectSupportingUnit.project_id).where(ProjectSupportingUnit.unit_id == viewer.unit_id)
        conditions += [Project.lead_unit_id == viewer.unit_id, Project.id.in_(supporting)]
    return or_(*conditions)


async def visible_problems(session: AsyncSession, *, viewer: Viewer, include_closed: bool = False
                           ) -> list[Problem]:
    """The problems the viewer sees (without closed ones unless asked), in id order; meeting decisions
    included."""
    query = (select(Problem).outerjoin(Project, Project.id == Problem.project_id).where(visible(viewer))
             .order_by(Problem.id))
    if not include_closed:
        query = query.where(Problem.status.in_([*ACTIVE, "resolved"]))
    return list((await session.scalars(query)).unique().all())


async def staffed_units(session: AsyncSession, *, unit_ids: Collection[int]) -> set[int]:
    """Those of the units that have an active handler (a person with the unit role); admins act for the
    others (代办)."""
    if not unit_ids:
        return set()
    query = (select(Person.unit_id).join(PersonRole, PersonRole.person_id == Person.id)
             .where(PersonRole.role == "unit", Person.active.is_(True), Person.unit_id.in_(list(unit_ids)))
             .distinct())
    return {unit_id for unit_id in (await session.scalars(query)).all() if unit_id is not None}
