"""填报情况: today's reported and missing projects per lead unit, and a heat map of the last four weeks per
liaison (reported / missed / still to report today / not due) with each one's 填报率, within the viewer's
scope. Due days and 填报率 are those of /rank 填报 and the weekly bulletin (``bot.domain.participation``:
working days, projects being prepared or built, leave days and days before a project was entered not due,
today counted once over)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from aiohttp import web

from bot.domain.participation import (
    DayMasks,
    Duty,
    Marks,
    ReportedMasks,
    Row,
    Week,
    last_weeks,
    participation,
    pooled_before,
    reported_masks,
)
from bot.domain.workdays import WorkCalendar
from bot.web import access
from bot.web.auth import page_route
from bot.web.listing import paged
from bot.web.state import View
from storage.participation import participation_duties, reported_day_masks
from storage.rows import gc_paused
from storage.settings import load_calendar

UNITS_PAGE = 20  # lead units listed at once, those with the most projects unreported today first
LIAISONS_PAGE = 50  # rows of the heat map on one page (lowest 填报率 first): 2,000 liaisons made a 200 KB page


@dataclass
class UnitToday:
    name: str
    due: int = 0
    reported: int = 0
    missing: list[tuple[str, str | None]] = field(default_factory=list)  # (project code, its liaison's name)


@dataclass
class LiaisonRow:
    name: str
    projects: list[str]
    marks: Marks  # his projects' days pooled: a day "miss" when any missed it, else "late" when any missed it and
    # the 项目办 entered it afterwards (补报), else "wait" (待填报) when any is due today and not reported yet, else
    # "ok" when any reported it, else "before" when every one was entered in the bot only later, else "off" (nothing
    # due)
    days: int  # how many days the heat map shows
    share: Row | None = None  # the 填报率 row of bot.domain.participation

    @property
    def missed(self) -> int:
        """The days he did not report (a 补报 day among them, as 填报率 counts it)."""
        return (self.marks.miss | self.marks.late).bit_count()

    @property
    def cells(self) -> list[str]:
        """Per day: "ok", "miss", "late" (补报), "wait", "before" (录入前) or "off" (a day only reported though not due
        is "off")."""
        return [mark if mark != "extra" else "off" for mark in map(self.marks.at, range(self.days))]


def _page(duties: Sequence[Duty], weeks: Sequence[Week], calendar: WorkCalendar,
          reported_rows: Sequence[tuple[int, ...]], today: date) -> tuple[list[UnitToday], list[LiaisonRow]]:
    """Today's units and the liaisons' heat-map rows from the rows read (CPU work: in a worker thread, the
    cycle collector paused: a full collection amid these many small objects would hold the event loop too)."""
    with gc_paused():
        return _counted(duties, weeks, calendar, reported_masks(reported_rows, weeks[0].start), today)


def _counted(duties: Sequence[Duty], weeks: Sequence[Week], calendar: WorkCalendar,
             reported: ReportedMasks, today: date) -> tuple[list[UnitToday], list[LiaisonRow]]:
    """The units' and liaisons' rows: each project's days as masks (bot.domain.participation.DayMasks), a
    liaison's the union of his projects'; a row's cells are spelt out only for the rows shown."""
    masks = DayMasks(weeks[0].start, today, calendar)
    shares = {r.person_id: r for r in participation(duties, weeks, calendar, reported, today=today).liaisons}
    now = masks.bit[today]
    units: dict[str, UnitToday] = {}
    every = (1 << len(masks.days)) - 1
    # liaison → name, codes, [ok, miss, wait, late, before (the days before each of his projects was entered)]
    pooled: dict[int, tuple[str, list[str], list[int]]] = {}
    for duty in duties:
        owed = masks.owed(duty)
        if not masks.listed(duty, owed):
            continue
        marks = masks.marks(duty, reported.masks.get(duty.project_id, 0), today=today, owed=owed,
                            backfilled=reported.backfilled.get(duty.project_id, 0))
        unit = units.get(duty.unit) or units.setdefault(duty.unit, UnitToday(duty.unit))
        if (marks.ok | marks.wait) & now:  # today is due
            unit.due += 1
            if marks.ok & now:
                unit.reported += 1
            else:
                unit.missing.append((duty.code, duty.liaison))
        if duty.liaison_id is None:
            continue
        # (made once per liaison: a setdefault would make them anew for each of his projects)
        name, codes, seen = pooled.get(duty.liaison_id) or pooled.setdefault(
            duty.liaison_id, (duty.liaison or "", [], [0, 0, 0, 0, every]))
        codes.append(duty.code)
        seen[0] |= marks.ok
        seen[1] |= marks.miss
        seen[2] |= marks.wait
        seen[3] |= marks.late
        seen[4] = pooled_before(seen[4], marks.before)  # 录入台账前: before every one of his projects
    liaisons = []
    for person_id, (name, codes, (ok, miss, wait, late, before)) in pooled.items():
        late &= ~miss
        wait &= ~miss & ~late
        marks = Marks(ok=ok & ~miss & ~wait & ~late, miss=miss, wait=wait, late=late, before=before)
        liaisons.append(LiaisonRow(name, codes, marks, len(masks.days), shares.get(person_id)))
    rows = sorted(liaisons, key=lambda r: (r.share is None or r.share.rate is None,
                                           r.share.rate if r.share and r.share.rate is not None else 0.0,
                                           -r.missed, r.name))
    return sorted(units.values(), key=lambda u: (-len(u.missing), u.name)), rows


@page_route
async def reporting(view: View) -> web.StreamResponse:
    today = view.today
    weeks = last_weeks(today)
    days = [d for week in weeks for d in week.days]
    calendar = await load_calendar(view.session)
    codes = await access.visible_codes(view.session, view.viewer)
    duties = [d for d in await participation_duties(view.session, start=days[0], end=today)
              if codes is None or d.code in codes]
    # Read on the event loop (a row per project: its days as a mask); counted as masks in a worker thread.
    reported = await reported_day_masks(view.session, start=days[0], end=today)
    units, rows = await asyncio.to_thread(_page, duties, weeks, calendar, reported, today)
    query = view.request.query
    return view.page("reporting.html.j2", units=paged(units, query, size=UNITS_PAGE, key="units", anchor="today"),
                     liaisons=paged(rows, query, size=LIAISONS_PAGE, anchor="heat"), days=days, weeks=weeks,
                     today=today)
