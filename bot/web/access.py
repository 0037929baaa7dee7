"""Who may see what on the web pages: every route, chart and download asks this module, and only this one.

The rules are the chat's (the scope of /project, /issues, /rank and /export):

- 管理员 (admin) and 区主要领导 (top) see everything.
- A 包抓领导 (lead) sees the projects he holds and their problems.
- A 单位经办人 (unit) sees the projects his unit leads or supports and the problems assigned to his unit or
  raised on those projects.
- A 联络员 (liaison) sees the projects he reports on and their problems, and the problems he raised.
- The ranking of the overview is the public one every bulletin shows (any signed-in person sees it); the
  project, problem, unit, town and reporting pages and the charts show only what the person may see, and a
  page of something out of scope is refused (403).
- The ledger (台账) download is for admins (as /export); the latest bulletins for leads, top officials and
  admins (the people bulletins are sent to).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Problem, Project, ProjectSupportingUnit, Unit

EVERYTHING = frozenset({"admin", "top"})


@dataclass(frozen=True)
class Viewer:
    """The signed-in person as the pages need them."""

    person_id: int
    name: str
    roles: frozenset[str]
    unit: str | None  # the name of their unit

    @property
    def sees_all(self) -> bool:
        return bool(self.roles & EVERYTHING)


def sees_project(viewer: Viewer, *, liaison_id: int | None, lead_official_id: int | None, lead_unit: str,
                 supporting: Collection[str] = ()) -> bool:
    """Whether the viewer may open this project's page (and its chart and photos)."""
    if viewer.sees_all:
        return True
    if "liaison" in viewer.roles and liaison_id == viewer.person_id:
        return True
    if "lead" in viewer.roles and lead_official_id == viewer.person_id:
        return True
    return "unit" in viewer.roles and viewer.unit is not None and (
        lead_unit == viewer.unit or viewer.unit in supporting)


def sees_problem(viewer: Viewer, *, unit: str, raised_by_id: int, project_visible: bool) -> bool:
    """Whether the viewer may open this problem's page; ``project_visible``: whether they see its project
    (``sees_project``; False for a meeting decision, which has none)."""
    if viewer.sees_all or project_visible or raised_by_id == viewer.person_id:
        return True
    return "unit" in viewer.roles and viewer.unit == unit


def sees_group(viewer: Viewer, *, visible_projects: int, unit: str | None = None) -> bool:
    """Whether the viewer may open a unit's or town's page: they see all, it is their unit, or they see at
    least one of its projects (the page then shows only those)."""
    return viewer.sees_all or visible_projects > 0 or (unit is not None and viewer.unit == unit
                                                       and "unit" in viewer.roles)


def may_download_ledger(viewer: Viewer) -> bool:
    return "admin" in viewer.roles


def may_download_bulletins(viewer: Viewer) -> bool:
    return bool(viewer.roles & {"admin", "top", "lead"})


async def visible_codes(session: AsyncSession, viewer: Viewer) -> frozenset[str] | None:
    """The codes of the projects the viewer sees (``sees_project`` over every project), None: all of them."""
    if viewer.sees_all:
        return None
    supporting: dict[int, list[str]] = {}
    for project_id, unit in (await session.execute(
            select(ProjectSupportingUnit.project_id, Unit.name).join(Unit, Unit.id == ProjectSupportingUnit.unit_id)
    )).all():
        supporting.setdefault(project_id, []).append(unit)
    rows = await session.execute(select(Project.id, Project.code, Project.liaison_id, Project.lead_official_id,
                                        Unit.name).join(Unit, Unit.id == Project.lead_unit_id))
    return frozenset(code for project_id, code, liaison_id, lead_id, lead_unit in rows.all()
                     if sees_project(viewer, liaison_id=liaison_id, lead_official_id=lead_id, lead_unit=lead_unit,
                                     supporting=supporting.get(project_id, ())))


def project_in_scope(viewer: Viewer, project: Project) -> bool:
    """``sees_project`` for a stored project (its supporting units loaded)."""
    return sees_project(viewer, liaison_id=project.liaison_id, lead_official_id=project.lead_official_id,
                        lead_unit=project.lead_unit.name, supporting=[s.unit.name for s in project.supporting])


def problem_in_scope(viewer: Viewer, problem: Problem) -> bool:
    """``sees_problem`` for a stored problem."""
    visible = problem.project is not None and project_in_scope(viewer, problem.project)
    return sees_problem(viewer, unit=problem.unit.name, raised_by_id=problem.raised_by_id, project_visible=visible)
