"""One figure, every surface: a realistic May on the sample ledger, then the same figures read from every place
people see them, each equal to the figure worked out here from what was entered, after the surface's own
rounding, and that rounding the same everywhere (四舍五入 to one decimal, as the Excel ledger shows it).

The month: the ledger imported on 30 April (its 累计完成 dated that day), reports on most working days of May
(劳动节 1-5 May off, Saturday 9 May a working day), missed days, a report on a rest day, a withdrawn report, two
corrections, a liaison on leave, a 开工 and a 竣工 confirmed, milestones done on time, late and overdue,
problems open and closed, and a project whose gap against 序时进度 is exactly -3.25 points on 31 May (where
Python's own rounding, to even, wrote -3.2 and the ledger shows -3.3).

Surfaces, on Sunday 31 May (the last day of week 2026-W22 and of May): /rank (a liaison's, a unit handler's and
the overview), /project, /rank 填报, a leader's digest with its 4-week trend, the weekly and monthly bulletin texts,
their Excel ledgers, the monthly and quarterly Word bulletins, the half-monthly report's table, /export's
workbook and the standings the web pages are drawn from (``current_standings``).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from docx import Document
from openpyxl import load_workbook
from sqlalchemy import select

from bot.app import Core
from bot.channels.console import bind_console, chat
from bot.clock import FrozenClock
from bot.config import load_settings
from bot.domain.digest_settings import DigestSettings
from bot.domain.halfmonth import containing as half_containing
from bot.domain.periods import parse_period
from bot.domain.progress import schedule_progress
from bot.domain.stage_events import FINISH, START
from bot.domain.workdays import WorkCalendar
from bot.render import Renderer, html_to_plain
from bot.services.halfmonth import compile_document
from bot.services.ledger_download import ledger_file
from bot.services.ledger_import import import_ledger_files
from bot.services.participation import load_participation
from bot.services.standings import current_standings
from bot.web.pages import downloads as web_downloads
from jobs.bulletin_render import Rendered, render_bulletin
from storage import people
from storage.annual_plans import plans_of_year, set_plan
from storage.audit import Actor
from storage.corrections import correct_report, live_report
from storage.db import Database
from storage.leaves import add_leave
from storage.ledger_bases import write_bases
from storage.models import Person, Project, Report, Unit
from storage.settings import load_calendar
from storage.stage_events import report as stage_report

from .conftest import District

SAMPLE = Path(__file__).resolve().parents[2] / "bot" / "demo" / "projects_sample.xlsx"
SH = ZoneInfo("Asia/Shanghai")
CALENDAR = WorkCalendar()
IMPORTED = datetime(2026, 4, 30, 18, tzinfo=SH)
SUNDAY = date(2026, 5, 31)
W22 = parse_period("weekly", "2026-W22")  # 25-31 May
MAY = parse_period("monthly", "2026-05")
Q2 = parse_period("quarterly", "2026-Q2")
TIE = "ZD2026-010"  # plan 36,500 and 13,913.75 done: 38.1% against 41.4%, a gap of exactly -3.25 points
ON_LEAVE = "郝芳"  # liaison of ZD2026-001, away 25-27 May without a substitute
STARTED, FINISHED = "ZD2026-002", "ZD2026-005"  # 开工 on 20 May (前期 → 在建), 竣工 on 28 May (在建 → 竣工)
DUE_STAGES = ("谋划", "前期", "在建")


def at(day: date, hour: int = 18) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=SH)


def days(start: date, end: date) -> Iterator[date]:
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


# ---- the rounding people read: one decimal, half away from zero, as Excel shows the ledger's numbers ------------

def shown(value: float | Decimal, scale: int = 1) -> Decimal:
    """What Excel shows of ``value`` (× ``scale``) under a one-decimal format: 15 significant digits, then
    half away from zero."""
    exact = Decimal(format(value, ".15g")) if isinstance(value, float) else Decimal(value)
    return (exact * scale).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def pct(fraction: float | None) -> str:
    return "—" if fraction is None else f"{shown(fraction, 100):.1f}%"


def points(gap: float | None) -> str:
    return "—" if gap is None else f"{shown(gap):+.1f}"


def wan(amount: Decimal) -> str:
    return f"{shown(amount):,.1f}"


# ---- what was entered, and the figures worked out from it -----------------------------------------------------

@dataclass
class Entered:
    """The ledger's inputs (read back after the import) and everything the month added."""

    code_of: dict[int, str] = field(default_factory=dict)
    plan: dict[str, Decimal] = field(default_factory=dict)
    baseline: dict[str, Decimal] = field(default_factory=dict)
    stage: dict[str, str] = field(default_factory=dict)  # the stage on 31 May
    unit: dict[str, str] = field(default_factory=dict)
    town: dict[str, str | None] = field(default_factory=dict)
    liaison: dict[str, str] = field(default_factory=dict)
    lead: dict[str, str | None] = field(default_factory=dict)
    name: dict[str, str] = field(default_factory=dict)
    reports: dict[str, dict[date, Decimal]] = field(default_factory=dict)  # the live amount of each day
    away: dict[str, set[date]] = field(default_factory=dict)  # a liaison's leave days
    finished: dict[str, date] = field(default_factory=dict)  # the day of a 竣工 confirmed in the month

    def ytd(self, code: str, cutoff: date) -> Decimal:
        return self.baseline[code] + sum((a for d, a in self.reports.get(code, {}).items() if d <= cutoff),
                                         Decimal(0))

    def rate(self, code: str, cutoff: date) -> float | None:
        plan = self.plan.get(code)
        return None if not plan else float(self.ytd(code, cutoff) / plan)

    def gap(self, code: str, cutoff: date) -> float | None:
        rate = self.rate(code, cutoff)
        return None if rate is None else round((rate - schedule_progress(cutoff)) * 100, 9)

    def ranks(self, cutoff: date) -> dict[str, int]:
        """By the gap as published (one decimal): two projects shown with the same gap share a place."""
        ranked = sorted((c for c in self.plan if self.plan[c]), key=lambda c: (-shown(self.gap(c, cutoff)), c))
        places: dict[str, int] = {}
        for index, code in enumerate(ranked):
            prev = ranked[index - 1] if index else None
            same = prev is not None and shown(self.gap(prev, cutoff)) == shown(self.gap(code, cutoff))
            places[code] = places[prev] if same and prev else index + 1
        return places

    def due(self, code: str, start: date, end: date) -> list[date]:
        """The days a report was due (working days, a project being prepared or built that day, its liaison not
        away): a project finished in the month owes the days before its 竣工."""
        finished = self.finished.get(code)
        if self.stage[code] not in DUE_STAGES and finished is None:
            return []
        away = self.away.get(self.liaison[code], set())
        return [d for d in days(max(start, IMPORTED.date()), end) if CALENDAR.is_working_day(d) and d not in away
                and (finished is None or d < finished)]

    def punctuality(self, codes: list[str], start: date, end: date) -> float | None:
        due = [(c, d) for c in codes for d in self.due(c, start, end)]
        came = [(c, d) for c, d in due if d in self.reports.get(c, {})]
        return len(came) / len(due) if due else None


async def build_may(db: Database) -> Entered:
    clock = FrozenClock(IMPORTED)
    # the base up to 29 April: the day of the import, still under way, is no base day (a report of it would not count)
    await import_ledger_files(db, clock, [SAMPLE], actor=Actor(label="test", channel="cli"),
                              as_of=IMPORTED.date() - timedelta(days=1))
    entered = Entered()
    async with db.session() as session:
        plans = await plans_of_year(session, year=2026)
        for project in (await session.scalars(select(Project).order_by(Project.code))).all():
            code = project.code
            entered.code_of[project.id] = code
            entered.name[code] = project.name
            entered.plan[code] = plans.get(project.id) or Decimal(0)
            entered.baseline[code] = project.done_before if project.baseline_year == 2026 else Decimal(0)
            entered.stage[code] = project.stage
            entered.unit[code] = project.lead_unit.name
            entered.town[code] = project.location
            entered.liaison[code] = project.liaison.name if project.liaison else ""
            entered.lead[code] = project.lead_official.name if project.lead_official else None
        # The project on a tie: no report in May, its plan and baseline set so.
        tie = await session.scalar(select(Project).where(Project.code == TIE))
        await set_plan(session, project_id=tie.id, year=2026, amount=Decimal(36500), now=IMPORTED)
        tie.done_before = Decimal("13913.75")
        await write_bases(session, [(tie.id, 2026, tie.done_before, tie.baseline_date)], now=IMPORTED)
        entered.plan[TIE], entered.baseline[TIE] = Decimal(36500), Decimal("13913.75")
        person_ids = {p.name: p.id for p in (await session.scalars(select(Person))).all()}
        ids = {code: pid for pid, code in entered.code_of.items()}
        leave_from, leave_to = date(2026, 5, 25), date(2026, 5, 27)
        await add_leave(session, person_id=person_ids[ON_LEAVE], substitute_id=None, start=leave_from, end=leave_to,
                        now=IMPORTED, actor="test")
        entered.away[ON_LEAVE] = set(days(leave_from, leave_to))
        # Reports: every working day of May but a missed one in six, none on a leave day, none for the tie.
        for index, code in enumerate(sorted(ids)):
            if code == TIE or entered.stage[code] not in DUE_STAGES:
                continue
            for day in days(date(2026, 5, 1), SUNDAY):
                if not CALENDAR.is_working_day(day) or (index + day.day) % 6 == 0:
                    continue
                if day in entered.away.get(entered.liaison[code], set()):
                    continue
                amount = Decimal(10 + index) + Decimal("0.05") * (day.day % 3)
                session.add(Report(project_id=ids[code], person_id=person_ids[entered.liaison[code]], local_day=day,
                                   amount=amount, progress_text="正常施工", channel="telegram", created_at=at(day)))
                entered.reports.setdefault(code, {})[day] = amount
        # A report sent before the ledger came in, of a day its 累计完成 already counts: it never counts again.
        session.add(Report(project_id=ids["ZD2026-001"], person_id=person_ids[entered.liaison["ZD2026-001"]],
                           local_day=date(2026, 4, 28), amount=Decimal(5000), progress_text="四月进度",
                           channel="telegram", created_at=at(date(2026, 4, 28))))
        # A report on a rest day counts in the money, not in punctuality; a withdrawn one counts nowhere.
        session.add(Report(project_id=ids["ZD2026-006"], person_id=person_ids[entered.liaison["ZD2026-006"]],
                           local_day=date(2026, 5, 16), amount=Decimal(300), progress_text="周末加班",
                           channel="telegram", created_at=at(date(2026, 5, 16))))
        entered.reports["ZD2026-006"][date(2026, 5, 16)] = Decimal(300)
        session.add(Report(project_id=ids["ZD2026-016"], person_id=person_ids[entered.liaison["ZD2026-016"]],
                           local_day=date(2026, 5, 30), amount=Decimal(999), progress_text="误报", channel="telegram",
                           created_at=at(date(2026, 5, 30)), withdrawn_at=at(date(2026, 5, 30), 19)))
        # 开工 and 竣工, confirmed (an admin's report).
        for code, kind, day in ((STARTED, START, date(2026, 5, 20)), (FINISHED, FINISH, date(2026, 5, 28))):
            project = await session.get(Project, ids[code])
            await stage_report(session, project=project, kind=kind, day=day, person_id=None, now=at(day),
                               confirmed=True)
            entered.stage[code] = project.stage
            if kind == FINISH:
                entered.finished[code] = day
    # Two corrections, the real way: the new version counts, the old one not.
    for code, day, amount in (("ZD2026-001", date(2026, 5, 13), Decimal("1.5")),
                              ("ZD2026-016", date(2026, 5, 19), Decimal(880))):
        async with db.session() as session:
            old = await live_report(session, project_id=ids[code], local_day=day)
            await correct_report(session, old=old, amount=amount, progress_text="更正", reason="多写了一个零",
                                 channel="telegram", now=at(day + timedelta(days=1)),
                                 actor=Actor(label="test", channel="telegram"),
                                 project_code=code)
        entered.reports[code][day] = amount
    # Milestones and problems.
    district = District(db)
    district.projects = ids
    async with db.session() as session:
        district.units = {u.name: u.id for u in (await session.scalars(select(Unit))).all()}
        district.people = person_ids
    await district.node("ZD2026-001", "围挡施工", date(2026, 5, 10), date(2026, 5, 15))  # late
    await district.node("ZD2026-001", "便道完成", date(2026, 5, 20))  # overdue
    await district.node("ZD2026-001", "道路贯通", date(2026, 6, 10))  # due in June
    await district.node("ZD2026-006", "场地平整", date(2026, 5, 5), date(2026, 5, 4))  # on time
    await district.problem("ZD2026-001", unit="区住建局", raised=at(date(2026, 5, 11), 10),
                           due=at(date(2026, 5, 14)), status="closed",
                           events=(("resolved", at(date(2026, 5, 13), 10)), ("closed", at(date(2026, 5, 13), 11))))
    await district.problem("ZD2026-006", unit="区工信局", raised=at(date(2026, 5, 18), 10),
                           due=at(date(2026, 5, 21)))  # still open, past its deadline
    return entered


# ---- reading the surfaces --------------------------------------------------------------------------------------

async def console(core: Core, name: str, lines: list[str]) -> list[str]:
    async with core.db.session() as session:
        [person] = await people.find_people_by_name(session, name=name)
    external_id = await bind_console(core.db, person, now=core.clock.now())
    feed = iter(lines)
    out: list[str] = []

    async def read_line(_prompt: str) -> str | None:
        return next(feed, None)

    await chat(core.router, external_id, name, read_line, out.append)
    return out[1:]  # the greeting first


async def bulletin(db: Database, period, out_dir: Path) -> Rendered:
    async with db.session() as session:
        return await render_bulletin(session, Renderer(), period=period, calendar=CALENDAR,
                                     settings=DigestSettings(), out_dir=out_dir)


def sheet_rows(data: bytes, sheet: str) -> list[dict[str, object]]:
    ws = load_workbook(io.BytesIO(data))[sheet]
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def table_rows(path: Path, first_header: str) -> list[list[str]]:
    document = Document(str(path))
    rows: list[list[str]] = []
    for table in document.tables:
        if table.rows[0].cells[0].text == first_header:
            rows += [[c.text for c in row.cells] for row in table.rows]
    return rows


LINE = re.compile(r"^(\d+)\. (\S+) (ZD2026-\d{3}) .*? (\d+\.\d%|—)（([+-]\d+\.\d|—)）", re.MULTILINE)


async def test_every_surface_shows_the_same_figures(db: Database, tmp_path: Path) -> None:
    entered = await build_may(db)
    core = Core.build(load_settings(DATABASE_URL="sqlite+aiosqlite://", DATA_DIR=str(tmp_path / "data")),
                      clock=FrozenClock(at(SUNDAY, 20)), db=db)
    ranks = entered.ranks(SUNDAY)
    codes = sorted(entered.plan)
    planned = [c for c in codes if entered.plan[c]]
    assert entered.gap(TIE, SUNDAY) == -3.25 and points(-3.25) == "-3.3"

    weekly = await bulletin(db, W22, tmp_path / "w22")
    monthly = await bulletin(db, MAY, tmp_path / "may")
    quarterly = await bulletin(db, Q2, tmp_path / "q2")
    async with db.session() as session:
        current = await current_standings(session, today=SUNDAY)
        export = await ledger_file(session, current)
        half = half_containing(SUNDAY)
        compiled = await compile_document(session, Renderer(), half=half, calendar=await load_calendar(session),
                                          out_dir=tmp_path / "half", issued=date(2026, 6, 2))

    # Every project in the standings the web and /rank draw from, and in both workbooks.
    by_code = {p.code: p for p in current.projects}
    for code in codes:
        p = by_code[code]
        assert p.ytd_done == entered.ytd(code, SUNDAY), code
        assert pct(p.punctuality) == pct(entered.punctuality([code], W22.start, SUNDAY)), code
        assert pct(p.rate) == pct(entered.rate(code, SUNDAY)) and p.rank == ranks.get(code), code
    for workbook in (weekly.files["ledger"].read_bytes(), monthly.files["ledger"].read_bytes(), export):
        rows = {r["编号"]: r for r in sheet_rows(workbook, "项目台账")}
        assert sorted(rows) == codes
        for code in codes:
            row = rows[code]
            assert Decimal(str(row["累计完成(万元)"])) == entered.ytd(code, SUNDAY), code
            assert row["排名"] == ranks.get(code), code
            assert pct(row["完成率"]) == pct(entered.rate(code, SUNDAY)), code
            assert points(row["差距(百分点)"]) == points(entered.gap(code, SUNDAY)), code

    # The weekly text: its ranked lines and its totals.
    lines = {m.group(3): m for m in LINE.finditer(weekly.text)}
    assert TIE in lines or len(lines) >= 10
    for code, m in lines.items():
        assert int(m.group(1)) == ranks[code], code
        assert m.group(4) == pct(entered.rate(code, SUNDAY)) and m.group(5) == points(entered.gap(code, SUNDAY)), code
    lights = {r["编号"]: r["预警"] for r in sheet_rows(weekly.files["ledger"].read_bytes(), "项目台账")}
    icons = {"🟢": "绿灯", "🟡": "黄灯", "🔴": "红灯"}
    assert all(icons[m.group(2)] == lights[code] for code, m in lines.items())
    counts = re.search(r"🟢 (\d+) 个 🟡 (\d+) 个 🔴 (\d+) 个", weekly.text).groups()
    assert [int(n) for n in counts] == [list(lights.values()).count(name) for name in ("绿灯", "黄灯", "红灯")]
    assert sum(int(n) for n in counts) + len(codes) - len(planned) == len(codes)
    assert f"无年度计划 {len(codes) - len(planned)} 个" in weekly.text
    done = sum((entered.ytd(c, SUNDAY) for c in codes), Decimal(0))
    plan = sum(entered.plan.values(), Decimal(0))
    planned_done = sum((entered.ytd(c, SUNDAY) for c in planned), Decimal(0))
    assert planned_done != done  # projects without a plan did some of the year's money: the headline says so
    headline = (f"年度累计完成 {wan(done)} 万元，其中有年度计划的项目完成 {wan(planned_done)} 万元，"
                f"占年度计划 {wan(plan)} 万元的 {pct(float(planned_done / plan))}"
                f"（另有 {len(codes) - len(planned)} 个项目无年度计划）")
    assert headline in weekly.text and headline in monthly.text
    assert headline in html_to_plain("\n".join(weekly.top_parts))  # the top officials' summary says it too

    # The monthly Word bulletin's ranking table: the first and last 20, every figure; as the text shows a list of
    # at most 2N+1 whole, a list of 41 is not cut to 40 (nor is one more line left out of any other list).
    table = table_rows(monthly.files["document"], "名次")
    shown_rows = [r for r in table[1:] if r[1].startswith("ZD")]
    assert len(shown_rows) == (len(planned) if len(planned) <= 41 else 40) and len(planned) == 41
    for rank, code, _name, _unit, plan_cell, done_cell, rate_cell, gap_cell, _change in shown_rows:
        assert int(rank) == ranks[code], code
        assert (plan_cell, done_cell) == (wan(entered.plan[code]), wan(entered.ytd(code, SUNDAY))), code
        assert (rate_cell, gap_cell) == (pct(entered.rate(code, SUNDAY)), points(entered.gap(code, SUNDAY))), code

    # The quarterly Word bulletin, measured on 30 June: the same money (nothing reported after May), its own gap.
    june = date(2026, 6, 30)
    quarter_rows = [r for r in table_rows(quarterly.files["document"], "名次") if r[1].startswith("ZD")]
    assert len(quarter_rows) == len(planned)
    for row in quarter_rows:
        code = row[1]
        assert row[5] == wan(entered.ytd(code, june)) and row[7] == points(entered.gap(code, june)), code

    # The half-monthly report's table: year-to-date and completion on 31 May, days reported of days due.
    for row in table_rows(compiled.path, "序号")[1:]:
        code = row[1]
        due = entered.due(code, half.start, half.end)
        came = [d for d in due if d in entered.reports.get(code, {})]
        assert row[5] == wan(entered.ytd(code, SUNDAY)) and row[6] == pct(entered.rate(code, SUNDAY)), code
        assert row[7] == (f"{len(came)}/{len(due)}" if due else "—"), code

    # No place separates two equal published figures (ZD2026-011 and ZD2026-019 both read 1.2 %, -40.2).
    assert ranks["ZD2026-011"] == ranks["ZD2026-019"]
    assert "38. 🔴 ZD2026-011" in weekly.text and "38. 🔴 ZD2026-019" in weekly.text
    assert "2. 区住建局 79.1 分" in monthly.text and "2. 区水务局 79.1 分" in monthly.text
    for groups in (current.units, current.towns):
        scored = [g for g in groups if g.score is not None]
        for a in scored:
            assert all(a.rank == b.rank for b in scored if shown(a.score) == shown(b.score)), a.name

    # Units: /rank (today's week), the weekly text and its workbook agree, and punctuality is the days pooled.
    units_sheet = {r["牵头单位"]: r for r in sheet_rows(weekly.files["ledger"].read_bytes(), "单位排名")}
    for g in current.units:
        members = [c for c in codes if entered.unit[c] == g.name]
        assert g.projects == len(members)
        assert pct(g.punctuality) == pct(entered.punctuality(members, W22.start, SUNDAY)), g.name
        row = units_sheet[g.name]
        assert row["排名"] == g.rank and pct(row["填报及时率"]) == pct(g.punctuality), g.name
        assert f"{shown(row['综合得分']):.1f}" == f"{shown(g.score):.1f}", g.name
        if g.rank is not None and g.rank <= 5:
            assert f"{g.rank}. {g.name} {shown(g.score):.1f} 分" in weekly.text, g.name
    assert sum(g.projects for g in current.units) == len(codes)
    # The monthly edition scores its units over the month: its Word table and its workbook agree.
    month_units = {r["牵头单位"]: r for r in sheet_rows(monthly.files["ledger"].read_bytes(), "单位排名")}
    for row in table_rows(monthly.files["document"], "名次"):
        if row[1] in month_units:
            sheet = month_units[row[1]]
            members = [c for c in codes if entered.unit[c] == row[1]]
            assert row[3] == f"{shown(sheet['综合得分']):.1f}", row[1]
            assert row[5] == pct(sheet["填报及时率"]) == pct(entered.punctuality(members, MAY.start, SUNDAY)), row[1]

    # Chat: /rank for a liaison, a unit handler and the overview; /project; a leader's digest.
    [liaison_rank] = await console(core, ON_LEAVE, ["/rank"])
    liaison_rank = html_to_plain(liaison_rank)
    mine = [c for c in codes if entered.liaison[c] == ON_LEAVE]
    for code in mine:
        assert (f"{code} {entered.name[code]}：第 {ranks[code]}/{len(planned)} 名，完成率 "
                f"{pct(entered.rate(code, SUNDAY))}（{points(entered.gap(code, SUNDAY))} 个百分点）") in liaison_rank
    [handler_rank] = await console(core, "赵芳", ["/rank"])
    unit = next(g for g in current.units if g.name == "区住建局")
    assert (f"区住建局：牵头单位第 {unit.rank}/{len(current.units)} 名，"
            f"综合得分 {shown(unit.score):.1f}") in html_to_plain(handler_rank)
    for code in (TIE, "ZD2026-001", STARTED):
        [card] = await console(core, "管理员(区重大项目办)", [f"/project {code}"])
        gap = entered.gap(code, SUNDAY)
        assert f"年度累计完成：{wan(entered.ytd(code, SUNDAY))} 万元" in card, code
        assert f"完成率：{pct(entered.rate(code, SUNDAY))}" in card, code
        assert f"{'超序时' if gap >= 0 else '落后'} {shown(abs(gap)):.1f} 个百分点" in card, code
    lead = entered.lead["ZD2026-001"]
    async with db.session() as session:
        [lead_person] = await people.find_people_by_name(session, name=lead)
    digest = html_to_plain("\n".join(weekly.leaders[lead_person.id]))
    held = [c for c in codes if entered.lead[c] == lead]
    for code in held:
        rank = ranks.get(code)
        finished = "（已竣工）" if entered.stage[code] == "竣工" else ""  # said beside its light (not warned)
        assert (f"{code} {entered.name[code]}{finished}：第 {rank if rank else '—'} 名，完成率 "
                f"{pct(entered.rate(code, SUNDAY))}") in digest, code
    assert "W0002 用地：征地未完成（办结时限 2026-05-21 18:00，⚠️已超期）" in digest  # overdue, and says so
    assert "W0001" not in digest  # closed
    # The 4-week trend: the projects together at each week's end, against 序时进度 then.
    for day in (date(2026, 5, 10), date(2026, 5, 17), date(2026, 5, 24), SUNDAY):
        pooled = (sum((entered.ytd(c, day) for c in held), Decimal(0))
                  / sum((entered.plan[c] for c in held), Decimal(0)))
        assert f"{day.month}月{day.day}日 {pct(float(pooled))}（{pct(schedule_progress(day))}）" in digest, day

    # Towns: the weekly text's ends and the workbook's 乡镇排名 are the standings' towns.
    towns_sheet = {r["乡镇"]: r for r in sheet_rows(weekly.files["ledger"].read_bytes(), "乡镇排名")}
    assert sum(g.projects for g in current.towns) == sum(1 for c in codes if (entered.town[c] or "").strip())
    for g in current.towns:
        assert towns_sheet[g.name]["排名"] == g.rank and towns_sheet[g.name]["项目数"] == g.projects, g.name
        if g.rank is not None and g.rank <= 5:
            assert f"{g.rank}. {g.name} {shown(g.score):.1f} 分" in weekly.text, g.name

    # The monthly and annual texts' unit lines are their workbooks' (the annual one with each part).
    annual = await bulletin(db, parse_period("annual", "2026"), tmp_path / "2026")
    for edition, details in ((monthly, False), (annual, True)):
        for row in sheet_rows(edition.files["ledger"].read_bytes(), "单位排名"):
            if row["排名"] is None or row["排名"] > 5:
                continue
            line = f"{row['排名']}. {row['牵头单位']} {shown(row['综合得分']):.1f} 分"
            if details:
                line += (f"（投资 {pct(row['投资完成指数'])}，填报 {pct(row['填报及时率'])}，"
                         f"问题办结 {pct(row['问题按期办结率'])}，节点按期 {pct(row['节点按期率'])}）")
            assert line in edition.text, line
    for row in sheet_rows(annual.files["ledger"].read_bytes(), "项目台账"):
        code = row["编号"]
        assert Decimal(str(row["累计完成(万元)"])) == entered.ytd(code, date(2026, 12, 31)), code
        assert points(row["差距(百分点)"]) == points(entered.gap(code, date(2026, 12, 31))), code

    # The month's money and problems add up.
    may_done = sum((a for c in codes for d, a in entered.reports.get(c, {}).items() if d >= MAY.start), Decimal(0))
    assert f"本期完成投资 {wan(may_done)} 万元" in monthly.text
    # 本期 is how much year-to-date grew over the period (the ledger's base, dated 30 April, fell before it), so
    # April's 年度累计 and May's 本期 make May's; a period opening the year says its 年度累计 once, base included.
    april = sum((entered.ytd(c, date(2026, 4, 30)) for c in codes), Decimal(0))
    assert april > 0 and april + may_done == done
    paragraphs = [p.text for p in Document(str(quarterly.files["document"])).paragraphs]
    assert any(f"本期（4月1日至6月30日）完成投资{wan(may_done)}万元；年度累计完成投资{wan(done)}万元" in p
               for p in paragraphs)
    year_done = sum((entered.ytd(c, date(2026, 12, 31)) for c in codes), Decimal(0))
    year_planned = sum((entered.ytd(c, date(2026, 12, 31)) for c in planned), Decimal(0))
    assert (f"全年累计完成投资 {wan(year_done)} 万元，其中有年度计划的项目完成 {wan(year_planned)} 万元，"
            f"占年度计划 {wan(plan)} 万元") in annual.text
    assert "本期完成投资" not in annual.text
    paragraphs = [p.text for p in Document(str(annual.files["document"])).paragraphs]
    assert any(f"2026年1月1日至12月31日累计完成投资{wan(year_done)}万元，"
               f"其中有年度计划的项目完成{wan(year_planned)}万元，占年度计划{wan(plan)}万元" in p for p in paragraphs)
    # The Word table's 全区 row is its units' sum and the text's 全区 line; its units come in the text's order.
    district_row, *problem_rows = table_rows(monthly.files["document"], "责任单位")[1:]
    sums = [sum(int(r[i]) for r in problem_rows) for i in (1, 2, 3)]
    assert sums == [2, 1, 1] and f"全区：{sums[0]} / {sums[1]} / {sums[2]}" in monthly.text
    assert district_row == ["全区", *map(str, sums)]
    text_units = re.findall(r"^(\S+)：\d+ / \d+ / \d+$", html_to_plain(monthly.text), re.MULTILINE)
    assert text_units == ["全区", *(r[0] for r in problem_rows)]

    # The web overview's trend by week: the district's year-to-date at each Sunday, and today's the headline's.
    async with db.session() as session:
        trend_points, _title = await web_downloads._trend(session, SUNDAY)
    for point in trend_points[-4:]:
        pooled = sum((entered.ytd(c, point.day) for c in codes), Decimal(0))
        assert point.done == pooled and pct(point.rate) == pct(float(pooled / plan)), point.day
    assert trend_points[-1].day == SUNDAY

    # 填报率: a unit's last week in /rank 填报's heat map is its 按时填报 of the weekly bulletin.
    async with db.session() as session:
        part = await load_participation(session, cutoff=SUNDAY, calendar=CALENDAR)
    for g in current.units:
        row = part.unit(g.name)
        assert row is not None and pct(row.weeks[-1].rate) == pct(g.punctuality), g.name
    # The weekly bulletin's district figure is /rank 填报's.
    [participation] = await console(core, "管理员(区重大项目办)", ["/rank 填报"])
    district = re.search(r"全区：(\d+\.\d%)", participation).group(1)
    assert f"全区 {district}" in weekly.text

    # The report confirmation's card adds the new report to the same year-to-date.
    [saved] = await console(core, ON_LEAVE, ["/report ZD2026-001 12 道路基层施工"])
    after = entered.ytd("ZD2026-001", SUNDAY) + 12
    assert f"年度累计完成：{wan(after)} 万元" in saved
    assert f"完成率：{pct(float(after / entered.plan['ZD2026-001']))}" in saved
