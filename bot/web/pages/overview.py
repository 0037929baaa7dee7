"""总览: the headline figures, the ranking with its change since last week, units and towns, 表扬/督促/预警,
and the open problems in the viewer's scope, the most urgent first; ``?screen=1`` is the 大屏 (1920×1080,
refreshing itself; its script sends a phone back here, ``?from=screen``, which the page says). Every
figure is the standings' (bot.services.standings), as in /rank and the bulletins."""

from __future__ import annotations

import asyncio
import functools
from collections import Counter
from dataclasses import dataclass

from aiohttp import web

from bot.domain.changes import StandingsChanges, standings_changes, with_bases
from bot.domain.standings import ProjectStanding, Standings, Totals, totals
from bot.domain.trend import blurring, counted_bases, week_ends
from bot.web import access
from bot.web.auth import page_route
from bot.web.listing import paged
from bot.web.live_standings import LiveStandings, Snapshot
from bot.web.pages.groups import openable
from bot.web.pages.problem_list import is_overdue, overdue_first
from bot.web.state import View
from storage.ledger_bases import base_days, base_days_entered

SHOWN = 20  # ranked projects shown at each end of the ranking (the page stays light with 10,000 projects)
MINE_PAGE = 20  # of 我的项目 at once (a 包抓领导 may hold hundreds of projects, a unit lead as many)
PROBLEMS_SHOWN = 30  # open problems listed, the most urgent first (all of them: the problems page, 问题)
PROBLEMS_ON_A_PHONE = 5  # of those, shown on a narrow screen (app.css hides the rest: 30 made it ~3,000 px taller)
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
    changes: StandingsChanges  # without the bases they cannot see through (read with each view: ``with_bases``)


def summarise(s: Standings, before: Standings) -> Summary:
    ranked = s.ranked
    head, tail = ranked[:SHOWN], ranked[SHOWN:][-SHOWN:]
    return Summary(totals=totals(s.projects), lights=Counter(p.light for p in s.projects), head=head,
                   tail=tail, hidden=max(0, len(ranked) - len(head) - len(tail)), unplanned=len(s.unplanned),
                   changes=standings_changes(s, before))


def summary_of(snapshot: Snapshot) -> Summary:
    """The overview's summary of a snapshot, made once (``prepare``: by the refresher, before any view)."""
    return snapshot.made("overview", lambda: summarise(snapshot.current, snapshot.last_week))  # type: ignore[no-any-return]


async def prepare(_live: LiveStandings, snapshot: Snapshot) -> None:
    await asyncio.to_thread(summary_of, snapshot)


@page_route
async def overview(view: View) -> web.StreamResponse:
    snapshot = view.snapshot()
    if snapshot is None:
        return view.computing()
    s, summary = snapshot.current, summary_of(snapshot)
    visible = await access.visible_codes(view.session, view.viewer)
    units, towns = (openable(view.viewer, snapshot, kind, visible) for kind in ("unit", "town"))
    # The projects the viewer follows (a 包抓领导's, a liaison's, a unit's), wherever they stand in the ranking.
    mine = [] if visible is None else [p for p in s.projects if p.code in visible]
    problems = await access.problems_seen(view.session, view.viewer)
    screen = view.request.query.get("screen") == "1"
    # the chart's weeks a ledger base blurs: said under it (bot.web.pages.downloads draws no completion there)
    bases = await base_days(view.session, year=snapshot.today.year)
    trend_bases = blurring(week_ends(snapshot.today.year, snapshot.today),
                           functools.partial(counted_bases, await base_days_entered(view.session,
                                                                                     year=snapshot.today.year)))
    # the bases the ranking's change since last Sunday cannot see through: said under it, as the bulletins say it
    changes = with_bases(summary.changes, bases, cutoff=s.cutoff)
    return view.page(
        "overview.html.j2", s=s, totals=summary.totals, lights=summary.lights, head=summary.head,
        tail=summary.tail, hidden=summary.hidden, unplanned=summary.unplanned, changes=changes.projects,
        visible=visible, mine=paged(mine, view.request.query, size=MINE_PAGE, key="mine", anchor="mine"),
        units=units, towns=towns, problems=overdue_first(problems, view.now)[:PROBLEMS_SHOWN],
        problem_count=len(problems), problems_on_a_phone=PROBLEMS_ON_A_PHONE,
        screen=screen, from_screen=not screen and view.request.query.get("from") == "screen",
        refresh=SCREEN_REFRESH if screen else None, now=view.now, is_overdue=is_overdue,
        as_of=snapshot.at, trend_bases=trend_bases, ranking_bases=changes.bases, since=changes.since,
    )
