"""Scope for stored problems: the facts `bot.domain.scope` decides on, read from a problem and the database,
and a viewer's queue of problems by urgency (chat's /issues; the web dashboard can use the same)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.nodes import NODE_PROBLEM
from bot.domain.scope import ProblemFacts, Viewer, urgency
from bot.services.problems import promised_due_at
from storage import scope as scope_repo
from storage.models import Problem

__all__ = ["facts_of", "problem_facts", "queue"]


def facts_of(problem: Problem, *, unit_staffed: bool) -> ProblemFacts:
    """The scope facts of a loaded problem (its project joined), given whether its unit has a handler."""
    project = problem.project
    return ProblemFacts(
        raised_by_id=problem.raised_by_id, unit_id=problem.unit_id, status=problem.status, level=problem.level,
        liaison_id=project.liaison_id if project is not None else None,
        lead_official_id=project.lead_official_id if project is not None else None,
        unit_staffed=unit_staffed, problem_id=problem.id, response_due_at=problem.response_due_at,
        resolution_due_at=problem.resolution_due_at, promised_due_at=promised_due_at(problem),
        node=problem.kind == NODE_PROBLEM,
    )


async def problem_facts(session: AsyncSession, problem: Problem) -> ProblemFacts:
    """The scope facts of one problem (one query: whether its unit has an active handler)."""
    staffed = problem.unit_id in await scope_repo.staffed_units(session, unit_ids=[problem.unit_id])
    return facts_of(problem, unit_staffed=staffed)


async def queue(session: AsyncSession, *, viewer: Viewer, now: datetime, include_closed: bool = False
                ) -> list[Problem]:
    """The problems the viewer sees, most urgent first (bot.domain.scope.urgency): for a 包抓领导 every
    open problem of his projects, for top officials and admins every one."""
    problems = await scope_repo.visible_problems(session, viewer=viewer, include_closed=include_closed)
    # Staffing does not change the order: the facts are built only to sort.
    return sorted(problems, key=lambda p: urgency(facts_of(p, unit_staffed=True), now))
