"""总览: the headline figures, the ranking with its change since last week, units and towns, 表扬/督促/预警,
and the open problems in the viewer's scope, overdue first; ``?screen=1`` is the 大屏 (1920×1080, refreshing
itself). Every figure is the standings' (bot.services.standings), as in /rank and the bulletins."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from aiohttp import web

from bot.domain.changes import Change, standings_changes
from bot.domain.progress import previous_week_end
from bot.domain.standings import ProjectStanding, Standings, Totals, totals
from bot.web import access
from bot.web.auth import page_route
from bot.web.pages.problem_list import is_overdue, overdue_first
from bot.web.state import View

SHOWN = 20  # ranked projects shown at each end of the ranking (the page stays light with 10,000 projects)
SCREEN_REFRESH = 60  # seconds


@dataclass(frozen=True)
class Summary:
    """What the overview shows of the standings (the same for every viewer: computed once per standings)."""

    totals: Totals
    lights: Counter[str]
    head: list[ProjectStanding]
    tail: list[ProjectStanding]
    hidden: int
    unplanned: int
    changes: dict[str, Change]


def summarise(s: Standings, before: Standings) -> Summary:
    ranked = s.ranked
    head, tail = ranked[:SHOWN], ranked[SHOWN:][-SHOWN:]
    return Summary(totals=totals(s.projects), lights=Counter(p.light for p in s.projects), head=head,
                   tail=tail, hidden=max(0, len(ranked) - len(head) - len(tail)), unplanned=len(s.unplanned),
                   changes=standings_changes(s, before).projects)


@page_route
async def overview(view: View) -> web.StreamResponse:
    cache = view.state.standings
    s = await cache.get(view.session, today=view.today, cutoff=view.today)
    before = await cache.get(view.session, today=view.today, cutoff=previous_week_end(view.today))
    summary: Summary = cache.derived("overview", (s, before), lambda: summarise(s, before))
    visible = await access.visible_codes(view.session, view.viewer)
    problems = await access.problems_seen(view.session, view.viewer)
    screen = view.request.query.get("screen") == "1"
    return view.page(
        "overview.html.j2", s=s, totals=summary.totals, lights=summary.lights, head=summary.head,
        tail=summary.tail, hidden=summary.hidden, unplanned=summary.unplanned, changes=summary.changes,
        visible=visible, problems=overdue_first(problems, view.now)[:30], problem_count=len(problems),
        screen=screen, refresh=SCREEN_REFRESH if screen else None, now=view.now, is_overdue=is_overdue,
    )
