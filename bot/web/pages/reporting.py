"""填报情况: today's reported and missing projects per lead unit, and a heat map of the last four weeks per
liaison (reported / missed / not due), within the viewer's scope. Due days follow the reminders' rule
(``bot.domain.duties.report_due``: working days, projects being prepared or built)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from aiohttp import web
from sqlalchemy import select

from bot.domain.duties import report_due
from bot.web import access
from bot.web.auth import page_route
from bot.web.state import View
from storage import web_queries
from storage.digest_queries import reporting_duties
from storage.models import Unit
from storage.settings import load_calendar

DAYS = 28
MAX_LIAISONS = 200  # rows of the heat map (most missed first): the page stays light with 10,000 projects


@dataclass
class UnitToday:
    name: str
    due: int = 0
    reported: int = 0
    missing: list[str] = field(default_factory=list)  # "ZD2026-001 项目名(联络员)"


@dataclass
class LiaisonRow:
    name: str
    projects: list[str]
    cells: list[str]  # per day: "ok" reported, "miss" due and missed, "off" not due

    @property
    def missed(self) -> int:
        return self.cells.count("miss")


@page_route
async def reporting(view: View) -> web.StreamResponse:
    today = view.today
    start = today - timedelta(days=DAYS - 1)
    days = [start + timedelta(days=i) for i in range(DAYS)]
    calendar = await load_calendar(view.session)
    codes = await access.visible_codes(view.session, view.viewer)
    duties = [d for d in await reporting_duties(view.session, up_to=today) if codes is None or d.code in codes]
    reported = await web_queries.reported_days(view.session, start=start, end=today)
    unit_names = dict((await view.session.execute(select(Unit.id, Unit.name))).all())
    units: dict[str, UnitToday] = {}
    liaisons: dict[int, LiaisonRow] = {}
    owed: dict[tuple[str, date], bool] = {}  # report_due per stage and day, asked once each

    def due(stage: str, since: date | None, day: date) -> bool:
        if (stage, day) not in owed:
            owed[stage, day] = report_due(day, stage, calendar)
        return (since is None or day >= since) and owed[stage, day]

    for duty in duties:
        unit = units.setdefault(unit_names.get(duty.lead_unit_id, ""), UnitToday(unit_names.get(duty.lead_unit_id, "")))
        if due(duty.stage, duty.since, today):
            unit.due += 1
            if (duty.project_id, today) in reported:
                unit.reported += 1
            else:
                unit.missing.append(f"{duty.code} {duty.name}({duty.liaison})")
        row = liaisons.setdefault(duty.liaison_id, LiaisonRow(duty.liaison, [], ["off"] * DAYS))
        row.projects.append(duty.code)
        for i, day in enumerate(days):
            if (duty.project_id, day) in reported:
                row.cells[i] = "ok"
            elif due(duty.stage, duty.since, day) and row.cells[i] == "off":
                row.cells[i] = "miss"
    rows = sorted(liaisons.values(), key=lambda r: (-r.missed, r.name))
    return view.page("reporting.html.j2", units=sorted(units.values(), key=lambda u: (-len(u.missing), u.name)),
                     rows=rows[:MAX_LIAISONS], hidden=max(0, len(rows) - MAX_LIAISONS), days=days, today=today)
