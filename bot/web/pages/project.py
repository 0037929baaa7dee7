"""项目: the card and figures (as /project computes them), cumulative done against plan by month with the
milestones (节点) drawn under it, the milestones as a list, the report timeline with its photos, approvals,
problems with their history and 批示, and the people responsible."""

from __future__ import annotations

import asyncio

from aiohttp import web

from bot.domain.digits import is_digits
from bot.domain.trend import blurring, month_ends, monthly_cumulative
from bot.render import shared_renderer
from bot.services.node_timeline import project_timeline
from bot.web import access, evidence_photos, photos
from bot.web.auth import page_route
from bot.web.pages.downloads import narrow
from bot.web.pages.problem_list import is_overdue
from bot.web.rendering import secure
from bot.web.state import View
from handlers.lookup import progress_numbers
from storage import approvals as approval_repo
from storage import node_queries, web_queries
from storage import people as people_repo
from storage import problems as problem_repo
from storage import projects as project_repo
from storage.ledger_bases import base_days

REPORTS_SHOWN = 60  # reports on one page of the timeline, at most
THUMBNAILS_SHOWN = 36  # photo thumbnails one page of the timeline loads (~20 KB each: the page stays under 1 MB)
MAX_SKIP = 100_000  # more reports than a project ever has (and an offset every database takes)


def timeline_page(thumbnails: list[int]) -> int:
    """How many of these reports (newest first, each with so many thumbnails) one page of the timeline shows:
    as many as THUMBNAILS_SHOWN thumbnails allow, and at least one; the rest are on the next page."""
    total = 0
    for shown, count in enumerate(thumbnails):
        total += count
        if total > THUMBNAILS_SHOWN:
            return max(shown, 1)
    return len(thumbnails)


@page_route
async def project_page(view: View) -> web.StreamResponse:
    code = view.request.match_info["code"]
    found = await project_repo.get_project_and_figures(view.session, code=code, today=view.today)
    if found is None:
        return view.not_found("project")
    project, figures = found
    if not access.project_in_scope(view.viewer, project):
        return view.refuse()
    asked = view.request.query.get("skip", "")
    skip = min(int(asked), MAX_SKIP) if is_digits(asked) else 0
    reports = await web_queries.project_reports(view.session, project_id=project.id, offset=skip,
                                                limit=REPORTS_SHOWN + 1)
    problems = [p for p in await web_queries.open_problems(view.session, project_id=project.id, include_closed=True)
                if access.problem_in_scope(view.viewer, p)]
    histories = await problem_repo.histories(view.session, problem_ids=[p.id for p in problems])
    handlers = await people_repo.unit_handlers(view.session, unit_id=project.lead_unit_id)
    pictures = await photos.of_reports(view.session, project.id, [report for report, _name in reports])
    shown = timeline_page([len(pictures[report.id].thumbnails) for report, _name in reports[:REPORTS_SHOWN]])
    earlier = skip + shown if len(reports) > shown else None
    reports = reports[:shown]
    timeline = await project_timeline(view.session, project_id=project.id, today=view.today)
    node_ids = await node_queries.project_node_ids(view.session, project_id=project.id)
    evidence = await evidence_photos.of_nodes(view.session, node_ids.values())
    # the chart's months its ledger base blurs (project_chart draws no done there): said under it
    year = view.today.year
    chart_bases = blurring(month_ends(year, view.today), await base_days(view.session, year=year,
                                                                          project_id=project.id))
    return view.page(
        "project.html.j2", project=project, figures=figures, **progress_numbers(view.today, project, figures),
        checklist=await approval_repo.checklist(view.session, project_id=project.id), reports=reports,
        pictures=pictures, problems=problems, histories=histories, handlers=handlers,
        supporting=[s.unit.name for s in project.supporting], now=view.now, is_overdue=is_overdue,
        timeline=timeline, node_pictures={name: evidence[i] for name, i in node_ids.items() if i in evidence},
        skip=skip, earlier=earlier, chart_bases=chart_bases,
    )


@page_route
async def project_chart(view: View) -> web.StreamResponse:
    code = view.request.match_info["code"]
    project = await project_repo.get_project_for_card(view.session, code=code)
    if project is None:
        return view.not_found("project")
    if not access.project_in_scope(view.viewer, project):
        return view.refuse()
    figures = await project_repo.project_figures(view.session, project=project, today=view.today)
    baseline, daily = await web_queries.counted_daily(view.session, year=view.today.year, up_to=view.today,
                                                      project_id=project.id)
    points = monthly_cumulative(year=view.today.year, today=view.today, baseline=baseline, daily=daily,
                                plan=figures.plan,
                                bases=await base_days(view.session, year=view.today.year, project_id=project.id))
    timeline = await project_timeline(view.session, project_id=project.id, today=view.today)
    from bot.web.charts import project_svg  # matplotlib loads with the first chart, not at start-up

    title = shared_renderer().phrase("chart", "project_title", project.code, view.today.year)
    svg = await asyncio.to_thread(project_svg, points, title=title, year=view.today.year, nodes=timeline.nodes,
                                  narrow=narrow(view.request))
    response = web.Response(body=svg, content_type="image/svg+xml")
    secure(response)
    return response
