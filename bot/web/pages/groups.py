"""单位 and 乡镇: the lead units and towns ranked (the standings' groups), and each one's page: its
projects, its problems and its reporting punctuality, within the viewer's scope. A town may have hundreds of
projects: they are listed a page at a time, in the order and of the light the reader chose, under the figures
of all of them; its problems too."""

from __future__ import annotations

from collections import Counter

from aiohttp import web

from bot.domain.progress import Light
from bot.domain.standings import GroupStanding, ProjectStanding, Standings, totals
from bot.web import access
from bot.web.auth import page_route
from bot.web.listing import paged
from bot.web.live_standings import Snapshot
from bot.web.pages.problem_list import is_overdue, overdue_first
from bot.web.state import View

PROJECTS_PAGE = 50  # projects listed on one page of a unit's or a town's page
PROBLEMS_PAGE = 20  # and problems, under them (on a phone a problem takes some five lines)
LIGHTS: tuple[Light, ...] = ("red", "yellow", "green", "none")
ORDERS = ("rank", "behind", "unreported")  # the standings' order; the worst first; most days unreported first


def _members_of(s: Standings, kind: str) -> dict[str | None, list[ProjectStanding]]:
    """Each lead unit's (or town's) projects, in the standings' order."""
    members: dict[str | None, list[ProjectStanding]] = {}
    for p in s.projects:
        members.setdefault(p.lead_unit if kind == "unit" else p.town, []).append(p)
    return members


def _members(snapshot: Snapshot, kind: str, name: str) -> list[ProjectStanding]:
    """The group's projects (the index made once per snapshot: a list page asks for every group's)."""
    members = snapshot.made(f"members:{kind}", lambda: _members_of(snapshot.current, kind))
    return list(members.get(name, []))


def _groups(s: Standings, kind: str) -> list[GroupStanding]:
    return s.units if kind == "unit" else s.towns


def _visible(projects: list[ProjectStanding], codes: frozenset[str] | None) -> list[ProjectStanding]:
    return projects if codes is None else [p for p in projects if p.code in codes]


def arranged(projects: list[ProjectStanding], *, light: str | None, order: str) -> list[ProjectStanding]:
    """The projects of one light (None: all) in the order asked for: ``rank`` as the standings rank them (the
    unranked last), ``behind`` the ranked from the last place up (the unranked still last), ``unreported`` the most
    days of this week due and not reported first (then as ranked)."""
    chosen = [p for p in projects if light is None or p.light == light]
    if order == "behind":
        ranked = [p for p in chosen if p.rank is not None]
        return ranked[::-1] + [p for p in chosen if p.rank is None]
    if order == "unreported":
        return sorted(chosen, key=lambda p: p.reported_days - p.working_days)  # stable: ties stay as ranked
    return chosen


def openable(viewer: access.Viewer, snapshot: Snapshot, kind: str, codes: frozenset[str] | None) -> set[str] | None:
    """The names of the groups (lead units or towns) whose page the viewer may open; None: all of them."""
    if viewer.sees_all:
        return None
    return {g.name for g in _groups(snapshot.current, kind)
            if access.sees_group(viewer, unit=g.name if kind == "unit" else None,
                                 visible_projects=len(_visible(_members(snapshot, kind, g.name), codes)))}


def group_list(kind: str):  # type: ignore[no-untyped-def]
    @page_route
    async def route(view: View) -> web.StreamResponse:
        snapshot = view.snapshot()
        if snapshot is None:
            return view.computing()
        s = snapshot.current
        names = openable(view.viewer, snapshot, kind, await access.visible_codes(view.session, view.viewer))
        every = _groups(s, kind)
        groups = [g for g in every if names is None or g.name in names]
        return view.page("groups.html.j2", kind=kind, groups=groups, others=len(every) - len(groups), s=s,
                         as_of=snapshot.at, now=view.now)

    return route


def group_page(kind: str):  # type: ignore[no-untyped-def]
    @page_route
    async def route(view: View) -> web.StreamResponse:
        name = view.request.match_info["name"]
        snapshot = view.snapshot()
        if snapshot is None:
            return view.computing()
        s = snapshot.current
        group = next((g for g in _groups(s, kind) if g.name == name), None)
        if group is None:
            return view.not_found(kind)
        codes = await access.visible_codes(view.session, view.viewer)
        projects = _visible(_members(snapshot, kind, name), codes)
        if not access.sees_group(view.viewer, visible_projects=len(projects), unit=name if kind == "unit" else None):
            return view.refuse()
        member_codes = {p.code for p in projects}
        problems = [p for p in await access.problems_seen(view.session, view.viewer)
                    if (kind == "unit" and p.unit == name) or p.project_code in member_codes]
        # The 包抓领导 whose projects here the viewer sees as his stand-in (the page says so, as a project's does).
        leads = {p.lead_official_id for p in projects}
        standing = [stand_in for stand_in in view.viewer.stand_ins if stand_in.lead_id in leads]
        query = view.request.query
        light = query.get("light") if query.get("light") in LIGHTS else None
        order = query.get("order") if query.get("order") in ORDERS else ORDERS[0]
        listed = paged(arranged(projects, light=light, order=order), query, size=PROJECTS_PAGE, anchor="projects")
        return view.page("group.html.j2", kind=kind, group=group, listed=listed, projects=len(projects),
                         totals=totals(projects), lights=Counter(p.light for p in projects), light=light,
                         order=order, orders=ORDERS, page_size=PROJECTS_PAGE, standing=standing, schedule=s.schedule,
                         problem_pages=paged(overdue_first(problems, view.now), query, size=PROBLEMS_PAGE,
                                             key="problems", anchor="problems"),
                         now=view.now, is_overdue=is_overdue, s=s, as_of=snapshot.at)

    return route
