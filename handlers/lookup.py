"""/project and /mine: read-only views of projects for anyone bound (/project with its milestones, 节点)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from typing import Any

from bot.clock import to_local
from bot.domain.duties import is_reporting_day, report_due
from bot.domain.leave import on_leave
from bot.domain.messages import Button
from bot.domain.paging import page_of
from bot.domain.progress import completion_rate, gap_points, schedule_progress, traffic_light
from bot.domain.scope import SEE_ALL, follows_in_own_right
from bot.render import label
from bot.services.node_timeline import project_timeline
from bot.services.photos import photo_view
from handlers.context import Context
from handlers.paging import page_buttons
from handlers.web import web_button
from storage import approvals as approval_repo
from storage import corrections
from storage import leaves as leave_repo
from storage import photos as photo_repo
from storage import projects as project_repo
from storage import reports as report_repo
from storage.models import Project
from storage.projects import ProjectFigures, ReportTarget
from storage.scope import StandIn, project_facts, standing_on, viewer_of
from storage.settings import load_calendar

MINE_DISTRICT_SHOWN = 20  # the projects not yet reported today that /mine names for the whole district
SEARCH_PAGE = 8  # projects to a page of /project's search by name
MINE_PAGE = 50  # projects to a page of /mine (a unit's or a leader's list may run to hundreds)
PROJECT_BUTTONS = 20  # the caller's projects offered as buttons under /project's usage


async def project_card(
    ctx: Context, project: Project, *, figures: ProjectFigures | None = None, with_approvals: bool = False
) -> dict[str, object]:
    """Everything /project shows about one project, computed for today (from `figures` when the caller
    already has today's). The 前期手续 checklist only `with_approvals` (one more query; the report card
    does without), and only for projects still being prepared or with an item recorded."""
    if figures is None:
        figures = await project_repo.project_figures(ctx.session, project=project, today=ctx.today)
    return {
        "project": project,
        "figures": figures,
        **progress_numbers(ctx.today, project, figures),
        "supporting": [s.unit.name for s in project.supporting],
        "approvals": await _approvals(ctx, project) if with_approvals else [],
    }


def progress_numbers(today: date, project: Project | ReportTarget, figures: ProjectFigures) -> dict[str, Any]:
    """What the card's progress lines show: the year's plan, schedule progress today, completion rate, gap and
    light (against the plan of today's year, storage.annual_plans: none yet means no rate)."""
    schedule = schedule_progress(today)
    rate = completion_rate(figures.ytd_done, figures.plan)
    gap = gap_points(rate, schedule)
    return {"schedule": schedule, "rate": rate, "gap": gap, "light": traffic_light(rate, gap, today),
            "plan": figures.plan, "year": today.year}


async def _approvals(ctx: Context, project: Project) -> list[approval_repo.ChecklistItem]:
    checklist = await approval_repo.checklist(ctx.session, project_id=project.id)
    if project.stage in ("谋划", "前期") or any(item.recorded for item in checklist):
        return checklist
    return []


async def project_command(ctx: Context, args: str) -> None:
    """Show one project's status, found by its code or by words of its code or name (as /correct and /node
    find it): one match shows its card, several a page of buttons to pick it (``ctx.page``)."""
    words = args.strip()
    if not words:
        mine = await project_repo.projects_for_person(ctx.session, person=ctx.person) if ctx.person else []
        stood = await stood_for(ctx, own_ids(ctx, mine)) if ctx.person else []
        held = {p.id for _s, projects in stood for p in projects}  # a 区领导's list has them among all projects
        # The projects held as a stand-in first: the text says they are below, however many his own are.
        buttons = [*([Button(label("project_stood", p.code, p.name, s.name), f"pj:{p.code}")]
                     for s, projects in stood for p in projects),
                   *([Button(f"{p.code} {p.name}", f"pj:{p.code}")] for p in mine if p.id not in held)
                   ][:PROJECT_BUTTONS]
        ctx.reply("project_usage", buttons=buttons, stood=_stood_shown(stood, PROJECT_BUTTONS))
        return
    code, *more = words.split()
    if await project_repo.get_project_by_code(ctx.session, code=code) is not None:  # a code in any form typed
        if more:
            ctx.refuse_words(" ".join(more))  # words /project has no use for
            return
        await show_project(ctx, code)
        return
    found = await project_repo.find_projects(ctx.session, words=words)
    if len(found) == 1:
        await show_project(ctx, found[0][0])
        return
    if not found:
        ctx.reply("project_not_found", code=words, by_name=True)
        return
    page = page_of(found, ctx.page, SEARCH_PAGE)
    buttons = [[Button(f"{code} {name}", f"pj:{code}")] for code, name in page.items]
    ctx.reply("project_pick", [*buttons, *page_buttons("project", page, words)], words=words, page=page)


def _stood_shown(stood: Sequence[tuple[StandIn, Sequence[Project]]], room: int) -> list[dict[str, Any]]:
    """Per 包抓领导 stood in for, in the order of the buttons: his leave (``standing``), how many projects the
    caller holds for him (``total``) and how many of them the `room` buttons show (``shown``)."""
    out = []
    for standing, projects in stood:
        shown = min(len(projects), room)
        room -= shown
        out.append({"standing": standing, "total": len(projects), "shown": shown})
    return out


async def show_project(ctx: Context, code: str) -> None:
    found = await project_repo.get_project_and_figures(ctx.session, code=code, today=ctx.today)
    if found is None:
        ctx.reply("project_not_found", code=code)
        return
    project, figures = found
    history = await corrections.corrections_of(ctx.session, code=project.code)
    notes = await photo_repo.photo_notes(ctx.session, project_id=project.id)
    timeline = await project_timeline(ctx.session, project_id=project.id, today=ctx.today)
    ctx.reply("project", [web_button(ctx, f"/web/project/{project.code}")], history=history, timeline=timeline,
              repeats_count=notes.repeats, lost_photos=notes.lost,
              repeats=[photo_view(r) for r in notes.newest_repeats],
              **await project_card(ctx, project, figures=figures, with_approvals=True))


async def project_button(ctx: Context, data: str) -> None:
    """A project button from /project's list."""
    await show_project(ctx, data)


def own_ids(ctx: Context, mine: Sequence[Project]) -> set[int]:
    """The ids of the caller's projects (`mine`, storage.projects.projects_for_person) he holds in his own right:
    all of them, but for top officials and admins, who are given every project (bot.domain.scope
    .follows_in_own_right)."""
    if not ctx.roles & SEE_ALL or ctx.person is None:
        return {p.id for p in mine}
    viewer = viewer_of(ctx.person)
    return {p.id for p in mine if follows_in_own_right(viewer, project_facts(p))}


async def stood_for(ctx: Context, own: Collection[int], standing: Sequence[StandIn] | None = None
                    ) -> list[tuple[StandIn, list[Project]]]:
    """The projects the caller holds today for each 包抓领导 he stands in for (his leave naming the caller runs;
    `standing`: those leaves, when the caller has read them), those already among the caller's own (`own`: their
    ids) aside; only leaders with such projects."""
    assert ctx.person is not None
    if standing is None:
        _viewer, standing = await standing_on(ctx.session, ctx.person, day=ctx.today)
    held = await project_repo.projects_led_by(ctx.session, lead_ids=[s.lead_id for s in standing])
    found = [(s, [p for p in held if p.lead_official_id == s.lead_id and p.id not in own]) for s in standing]
    return [(s, projects) for s, projects in found if projects]


async def mine_command(ctx: Context, _args: str) -> None:
    """My projects, with whether today's report is in, and whether one is due at all (`report_due`); a
    stand-in's list has those of the 包抓领导 he stands in for while the leave runs, marked whose."""
    assert ctx.person is not None
    mine = await project_repo.projects_for_person(ctx.session, person=ctx.person)
    # Whose leave names the caller today (a 包抓领导's or a liaison's), read once for both lists.
    _viewer, standing = await standing_on(ctx.session, ctx.person, day=ctx.today)
    stood = await stood_for(ctx, own_ids(ctx, mine), standing)
    listed = {p.id for p in mine}
    every = [*mine, *(p for _s, projects in stood for p in projects if p.id not in listed)]
    reported = await report_repo.projects_reported_on(
        ctx.session, project_ids=[p.id for p in every], local_day=ctx.today
    )
    calendar = await load_calendar(ctx.session)
    leaves = await leave_repo.spans_between(ctx.session, start=ctx.today, end=ctx.today)
    away = {p.id for p in every if p.liaison_id is not None and on_leave(leaves, p.liaison_id, ctx.today)}
    due = {p.id for p in every if report_due(ctx.today, p.stage, calendar, entered=to_local(p.created_at).date(),
                                             away=[s for s in leaves if s.person_id == p.liaison_id])}
    covering = []  # the projects of liaisons on leave whose substitute the caller is today
    for absent in standing:
        covering += await project_repo.projects_of_liaison(ctx.session, person_id=absent.lead_id)
    covered_reported = await report_repo.projects_reported_on(
        ctx.session, project_ids=[p.id for p in covering], local_day=ctx.today) if covering else set()
    day = dict(today=ctx.today, person=ctx.person, reported=reported, due=due, away=away,
               covered_reported=covered_reported, reporting_day=is_reporting_day(ctx.today, calendar),
               day_name=calendar.day_name(ctx.today), estimated=calendar.is_estimated(ctx.today))
    if ctx.roles & {"top", "admin"}:
        # Top officials and admins follow every project: a count and the first of those missing, not a line per
        # project (a district of a thousand projects would fill a dozen messages).
        ctx.reply("mine", [web_button(ctx, "/web/reporting")], projects=mine, district=True,
                  shown=MINE_DISTRICT_SHOWN, covering=covering, stood=stood, **day)
        return
    page = page_of(mine, ctx.page, MINE_PAGE)
    first = page.number == 1
    ctx.reply("mine", page_buttons("mine", page), projects=page.items, page=page, district=False,
              covering=covering if first else [], stood=stood if first else [],
              missing=sum(1 for p in mine if p.id in due and p.id not in reported), **day)
