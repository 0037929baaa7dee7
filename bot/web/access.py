"""Who may see what on the web pages: every route, chart and download asks this module, and only this one.
It applies the chat's scope rules (``bot.domain.scope``) to the chat's viewer of the page's day
(``storage.scope.viewer_on``, as /issues and /issue take it), with one difference the web pages need:

- Problems: ``scope.can_see`` (a liaison the problems of their projects and those they raised, a unit's
  handlers those assigned to their unit, a 包抓领导 those on his projects, top officials and admins all).
- Project pages (card, chart, report timeline, photos): the projects a person follows
  (``scope.follows_project``: liaison, 包抓领导, a handler of its lead or a supporting unit; top officials and
  admins all). The chat shows any project's card to anyone bound; the web page of a project also holds its
  people, its report timeline and photos, so another liaison's project answers 403.
- A 包抓领导's stand-in (代理人) sees, while the leave runs, the absent lead's projects and their problems as
  their 包抓领导 (``scope.Viewer.stands_for``), and the pages say so (``Viewer.stand_ins``).
- The ranking of the overview is the public one every bulletin shows (anyone signed in sees it, with links
  only to the projects they follow).
- A unit's or town's page: top officials and admins, a handler of that unit, and whoever follows one of its
  projects (the page then lists only those, and the problems they see).
- 填报情况 lists the projects the person follows.
- The ledger (台账) download is for admins (as /export); the latest bulletins for 包抓领导, top officials
  and admins (the people bulletins are sent to).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import scope
from bot.services.problems import promised_due_at
from bot.services.scope import facts_of
from storage.models import Person, Problem, Project, ProjectSupportingUnit
from storage.scope import StandIn, followed, project_facts, standing_on, visible
from storage.web_queries import ProblemLine, problem_lines


@dataclass(frozen=True)
class Viewer:
    """The signed-in person as the pages need them, on the day of the page (``viewer_on``)."""

    person_id: int
    name: str
    roles: frozenset[str]
    unit_id: int | None
    unit: str | None  # the name of their unit
    scope: scope.Viewer  # what the chat lets them see that day (``storage.scope.viewer_on``)
    stand_ins: tuple[StandIn, ...] = ()  # the 包抓领导 they stand in for that day (their leave's last day)

    @property
    def sees_all(self) -> bool:
        return bool(self.roles & scope.SEE_ALL)

    def standing_in_for(self, lead_id: int | None) -> StandIn | None:
        """Whether the viewer sees this 包抓领导's projects as his stand-in today (the pages say so)."""
        return next((s for s in self.stand_ins if s.lead_id == lead_id), None)


async def viewer_on(session: AsyncSession, person: Person, *, day: date) -> Viewer:
    """The signed-in person on ``day`` (the clock's today): the chat's viewer of that day, so that a 包抓领导's
    stand-in sees his projects and problems on the pages too while the leave runs, and no longer after."""
    seeing, standing = await standing_on(session, person, day=day)
    return Viewer(person_id=person.id, name=person.name, roles=seeing.roles, unit_id=seeing.unit_id,
                  unit=person.unit.name if person.unit is not None else None, scope=seeing,
                  stand_ins=tuple(standing))


def project_in_scope(viewer: Viewer, project: Project) -> bool:
    """Whether the viewer may open this project's page (and its chart and photos)."""
    return scope.follows_project(viewer.scope, project_facts(project))


def problem_in_scope(viewer: Viewer, problem: Problem) -> bool:
    """Whether the viewer may see this problem (in lists, and its page)."""
    return scope.can_see(viewer.scope, facts_of(problem, unit_staffed=True))


def overdue(problem: Problem | ProblemLine, now: datetime) -> bool:
    """Whether a deadline running on the problem has passed (the chat's ⚠️已超期)."""
    return scope.overdue(_facts(problem), now)


def _facts(problem: Problem | ProblemLine) -> scope.ProblemFacts:
    if isinstance(problem, Problem):
        return facts_of(problem, unit_staffed=True)
    return scope.ProblemFacts(
        raised_by_id=problem.raised_by_id, unit_id=problem.unit_id, status=problem.status, level=problem.level,
        liaison_id=problem.liaison_id, lead_official_id=problem.lead_official_id, problem_id=problem.id,
        response_due_at=problem.response_due_at, resolution_due_at=problem.resolution_due_at,
        promised_due_at=promised_due_at(problem))  # type: ignore[arg-type]  # reads promised_date, policy


def line_in_scope(viewer: Viewer, line: ProblemLine) -> bool:
    return scope.can_see(viewer.scope, _facts(line))


async def problems_seen(session: AsyncSession, viewer: Viewer, **filters: Any) -> list[ProblemLine]:
    """The open problems the viewer sees (the condition in SQL, ``storage.scope.visible``, and the rule)."""
    lines = await problem_lines(session, where=None if viewer.sees_all else visible(viewer.scope), **filters)
    return [line for line in lines if line_in_scope(viewer, line)]


async def visible_codes(session: AsyncSession, viewer: Viewer) -> frozenset[str] | None:
    """The codes of the projects the viewer follows (``scope.follows_project`` over every project), None:
    all of them."""
    if viewer.sees_all:
        return None
    # Only the projects the condition says (with 10,000 projects, reading every one cost each page of a
    # 包抓领导's or a liaison's some 40 ms), then the rule itself.
    rows = (await session.execute(select(Project.id, Project.code, Project.liaison_id, Project.lead_official_id,
                                         Project.lead_unit_id).where(followed(viewer.scope)))).all()
    supporting: dict[int, set[int]] = {}
    if rows:
        for project_id, unit_id in (await session.execute(
                select(ProjectSupportingUnit.project_id, ProjectSupportingUnit.unit_id)
                .where(ProjectSupportingUnit.project_id.in_(select(Project.id).where(followed(viewer.scope)))))).all():
            supporting.setdefault(project_id, set()).add(unit_id)
    return frozenset(
        code for project_id, code, liaison_id, lead_id, lead_unit_id in rows
        if scope.follows_project(viewer.scope, scope.ProjectFacts(
            liaison_id=liaison_id, lead_official_id=lead_id, lead_unit_id=lead_unit_id,
            supporting_unit_ids=frozenset(supporting.get(project_id, ())))))


def sees_group(viewer: Viewer, *, visible_projects: int, unit: str | None = None) -> bool:
    """Whether the viewer may open a unit's or town's page (``unit``: the unit's name, for a unit's page)."""
    return viewer.sees_all or visible_projects > 0 or (
        unit is not None and viewer.unit == unit and "unit" in viewer.roles)


def may_download_ledger(viewer: Viewer) -> bool:
    return "admin" in viewer.roles


def may_download_bulletins(viewer: Viewer) -> bool:
    return bool(viewer.roles & {"admin", "top", "lead"})
