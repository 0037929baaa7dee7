"""问题: open problems filtered by level, unit, category and overdue; a problem's page is its timeline."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from bot.domain.digits import as_int
from bot.domain.escalation import CATEGORIES, LEVEL_NAMES
from bot.domain.problem_numbers import parse_problem_number
from bot.domain.urgent_problems import urgency_given
from bot.web import access, evidence_photos
from bot.web.auth import page_route
from bot.web.listing import paged
from bot.web.state import View
from storage import problems as problem_repo
from storage.models import Problem
from storage.web_queries import ProblemLine

PAGE_SIZE = 50  # problems listed on one page (the most urgent first)


def is_overdue(problem: Problem | ProblemLine, now: datetime) -> bool:
    return access.overdue(problem, now)


def overdue_first(problems: list[ProblemLine], now: datetime) -> list[ProblemLine]:
    """The most urgent first, in the order a leader's digest names them (bot.domain.urgent_problems): overdue,
    then by level (highest first), then the oldest (the lists hold only problems still being handled)."""
    return sorted(problems, key=lambda p: urgency_given(p, overdue=is_overdue(p, now)))


def _level(text: str | None) -> int | None:
    """The level filter asked for: one of LEVEL_NAMES' indexes, else None (all levels)."""
    level = as_int(text) if text is not None else None
    return level if level is not None and 0 <= level < len(LEVEL_NAMES) else None


@page_route
async def problem_list(view: View) -> web.StreamResponse:
    query = view.request.query
    level, unit, category = _level(query.get("level")), query.get("unit") or None, query.get("category") or None
    overdue = query.get("overdue") == "1"
    seen = await access.problems_seen(view.session, view.viewer)
    shown = [p for p in seen if (level is None or p.level == level) and (unit is None or p.unit == unit)
             and (category is None or p.category == category) and (not overdue or is_overdue(p, view.now))]
    # Every unit the viewer's open problems are with stays offered, whatever the other filters narrowed to.
    units = sorted({p.unit for p in seen} | ({unit} if unit else set()))
    listed = paged(overdue_first(shown, view.now), query, size=PAGE_SIZE)
    return view.page("problems.html.j2", problems=listed.items, listed=listed, levels=LEVEL_NAMES,
                     categories=CATEGORIES, units=units, level=level, unit=unit, category=category,
                     overdue=overdue, filtered=any((level is not None, unit, category, overdue)), now=view.now,
                     is_overdue=is_overdue)


@page_route
async def problem_page(view: View) -> web.StreamResponse:
    number = parse_problem_number(view.request.match_info["number"])
    problem = await problem_repo.get_problem(view.session, problem_id=number) if number is not None else None
    if problem is None:
        return view.not_found("problem")
    if not access.problem_in_scope(view.viewer, problem):
        return view.refuse()
    events = await problem_repo.history(view.session, problem_id=problem.id)
    pictures = await evidence_photos.of_problem(view.session, problem_id=problem.id)
    project_link = problem.project is not None and access.project_in_scope(view.viewer, problem.project)
    return view.page("problem.html.j2", problem=problem, events=events, overdue=is_overdue(problem, view.now),
                     pictures=pictures, project_link=project_link)
