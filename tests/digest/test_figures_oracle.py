"""The bulletins' figures are RIGHT, not only alike: a month on the shared sample ledger, worked out by hand.

``test_figures_agree`` checks that every surface shows the same figure. This test checks that figure against
an independent computation (the oracle below): plain Python over the raw rows fed in (the ledger read with the
csv module, the reports, leaves and problems as entered), by the definitions of the project guide (序时进度 =
share of the year elapsed at the end of the day; 年度累计 = the dated ledger base + the live reports after its
day; 完成率 = 年度累计 ÷ 年度计划; 差距 = 完成率 − 序时进度 in points; places by the published figure, equal
figures sharing a place; 按时填报 pooled over due days; 按期办结 of the problems resolved or overdue in the
period; the composite score of a unit or town, its parts renormalised when one has nothing to measure). It
calls none of the project's figure functions, and keeps its own calendar of May and June 2026 (劳动节 1-5 May
off, Saturday 9 May a working day, 端午节 19 June off).

The month: the ledger imported on 30 April, re-imported on 20 May as of 15 May with two plans and a base changed
and a new project (every base is then of 15 May, so the monthly bulletin's 本期 is blurred by it, as it says; the
new project owes its reports from 20 May); reports on most working days, missed days, a report on a holiday, a
correction, a report withdrawn with /undo, a liaison on leave whose stand-in reports for him, and problems solved on
time, solved late, escalated then solved, escalated and left open, solved then reopened, answered late then
solved on time, left overdue, and one assigned to a town government; milestones done on time, late, overdue and
due on the last day. Compared: the weekly bulletins of
the import's and 劳动节's week (2026-W18), of the 调休 Saturday's (W19), of the new project's (W21) and of the
leave's (W22), the monthly (2026-05) and the quarterly (2026-Q2, measured on 30 June with nothing reported in June)
bulletins' Excel ledgers (every project with its light, unit and town) and their texts' district figures. A
bulletin lists the projects in the ledger by its cut-off day: the weeks before the re-import do not have the new one.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import select

from bot.app import Core
from bot.clock import FrozenClock
from bot.config import load_settings
from bot.domain.periods import parse_period
from bot.ledger.columns import NODE_SHEET
from bot.render import html_to_plain
from bot.services.ledger_import import import_ledger_files
from storage.audit import Actor
from storage.corrections import correct_report, live_report
from storage.db import Database
from storage.leaves import add_leave
from storage.models import Person, Project, Report, Unit
from tests.e2e.harness import SAMPLE_LEDGER

from .conftest import District
from .test_figures_agree import CALENDAR, at, bulletin, console, sheet_rows

# The district's ledger as shipped with the bot (bot/demo); its workbook also holds a node plan, which the month
# leaves out: its milestones are its own.
SAMPLE_CSV = SAMPLE_LEDGER.with_name("projects_sample.csv")

# ---- the oracle's own calendar and rounding -------------------------------------------------------------------

HOLIDAYS = {*(date(2026, 5, d) for d in range(1, 6)), date(2026, 6, 19)}  # 劳动节 1-5 May, 端午节 19 June
MADE_WORKING = {date(2026, 5, 9)}  # 调休: Saturday 9 May is worked


def working(day: date) -> bool:
    if day in MADE_WORKING:
        return True
    return day.weekday() < 5 and day not in HOLIDAYS


def span(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def schedule(day: date) -> Decimal:
    """序时进度: the days of the year elapsed by the end of ``day`` over the days of its year."""
    year_days = (date(day.year + 1, 1, 1) - date(day.year, 1, 1)).days
    return Decimal((day - date(day.year, 1, 1)).days + 1) / Decimal(year_days)


def one(value: Decimal | float) -> Decimal:
    """四舍五入 to one decimal, as the ledger shows it."""
    return Decimal(format(value, ".12g") if isinstance(value, float) else value).quantize(
        Decimal("0.1"), rounding=ROUND_HALF_UP)


def places(scores: dict[str, Decimal | None]) -> dict[str, int | None]:
    """Competition places (1, 2, 2, 4) by the published figure (one decimal), highest first; None unplaced."""
    shown = {k: one(v) for k, v in scores.items() if v is not None}
    result: dict[str, int | None] = {k: None for k in scores}
    for key, value in shown.items():
        result[key] = 1 + sum(1 for other in shown.values() if other > value)
    return result


# ---- the raw rows and the figures worked out by hand ----------------------------------------------------------

@dataclass
class Row:
    plan: Decimal
    base: Decimal
    base_day: date
    stage: str
    unit: str
    town: str
    liaison: str
    entered: date = date(2026, 4, 30)  # the day the project came into the bot (it owes that day's report)


@dataclass
class Problem:
    unit: str
    due: datetime
    resolved: datetime | None = None
    escalated: datetime | None = None
    reopened: datetime | None = None  # after its resolution: unresolved again from then on
    raised: datetime | None = None


@dataclass
class Month:
    rows: dict[str, Row] = field(default_factory=dict)
    reports: dict[str, dict[date, Decimal]] = field(default_factory=dict)  # the live amount of each day
    away: dict[str, set[date]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    nodes: dict[str, list[tuple[date, date | None]]] = field(default_factory=dict)  # (planned, done) per project

    def entered(self, day: date) -> list[str]:
        """The projects in the ledger by the end of ``day``, by code: a period's bulletin lists no other."""
        return sorted(code for code, row in self.rows.items() if row.entered <= day)

    def ytd(self, code: str, day: date) -> Decimal:
        row = self.rows[code]
        after = (a for d, a in self.reports.get(code, {}).items() if row.base_day < d <= day)
        return row.base + sum(after, Decimal(0))

    def rate(self, code: str, day: date) -> Decimal | None:
        plan = self.rows[code].plan
        return self.ytd(code, day) / plan if plan > 0 else None

    def gap(self, code: str, day: date) -> Decimal | None:
        rate = self.rate(code, day)
        return None if rate is None else (rate - schedule(day)) * 100

    def due(self, code: str, start: date, end: date) -> list[date]:
        row = self.rows[code]
        if row.stage not in ("谋划", "前期", "在建"):
            return []
        return [d for d in span(max(start, row.entered), end)  # nothing is owed before the project came in
                if working(d) and d not in self.away.get(row.liaison, set())]

    def punctuality(self, codes: list[str], start: date, end: date) -> Decimal | None:
        due = [(c, d) for c in codes for d in self.due(c, start, end)]
        came = sum(1 for c, d in due if d in self.reports.get(c, {}))
        return Decimal(came) / len(due) if due else None

    def handled(self, unit: str, start: date, end: date) -> Decimal | None:
        """按期办结率: of the unit's problems resolved in the period or, at its end, still unresolved past their
        deadline or escalated, those resolved by the deadline and never escalated before."""
        opened, closed = at(start, 0), at(end + timedelta(days=1), 0)
        counted = on_time = 0
        for p in (p for p in self.problems if p.unit == unit):
            undone = p.reopened is not None and p.reopened < closed
            if p.resolved is not None and p.resolved < closed and not undone:
                if p.resolved >= opened:
                    counted += 1
                    on_time += p.resolved <= p.due and (p.escalated is None or p.escalated > p.resolved)
            elif p.due < closed or (p.escalated is not None and p.escalated < closed):
                counted += 1
        return Decimal(on_time) / counted if counted else None

    def problem_table(self, start: date, end: date) -> tuple[int, int, int]:
        """The district's 本期提出 / 解决 / 超期未办结: raised in the period, resolved in it (not undone by its end),
        and at its end unresolved after missing a deadline it was given (its deadline passed, or escalated for
        one it missed while the next level's runs): the problems 按期办结率 counts against while unresolved."""
        opened, closed = at(start, 0), at(end + timedelta(days=1), 0)
        raised = solved = overdue = 0
        for p in self.problems:
            raised += p.raised is not None and opened <= p.raised < closed
            undone = p.reopened is not None and p.reopened < closed
            if p.resolved is not None and p.resolved < closed and not undone:
                solved += p.resolved >= opened
            elif p.due < closed or (p.escalated is not None and p.escalated < closed):
                overdue += 1
        return raised, solved, overdue

    def nodes_on_time(self, codes: list[str], end: date) -> Decimal | None:
        """节点按期率: of the milestones of the year done by ``end`` or planned before it, those done by their day."""
        counted = on_time = 0
        for planned, done in (n for c in codes for n in self.nodes.get(c, [])):
            if planned.year != end.year:
                continue
            if done is not None and done <= end:
                counted += 1
                on_time += done <= planned
            elif planned < end:
                counted += 1
        return Decimal(on_time) / counted if counted else None

    def group(self, codes: list[str], name: str, start: date, end: date) -> dict[str, Decimal | None]:
        """A unit's or a town's parts and score; a part with nothing to measure is left out, the others
        renormalised."""
        s = schedule(end)
        ratios = [min(max(r / s, Decimal(0)), Decimal("1.2")) / Decimal("1.2")
                  for r in (self.rate(c, end) for c in codes) if r is not None]
        parts = {"investment": sum(ratios, Decimal(0)) / len(ratios) if ratios else None,
                 "punctuality": self.punctuality(codes, start, end), "problems": self.handled(name, start, end),
                 "nodes": self.nodes_on_time(codes, end)}
        weights = {"investment": Decimal("0.5"), "punctuality": Decimal("0.2"), "problems": Decimal("0.15"),
                   "nodes": Decimal("0.15")}
        weighed = [(weights[k], v) for k, v in parts.items() if v is not None]
        total = sum((w for w, _ in weighed), Decimal(0))
        parts["score"] = 100 * sum((w * v for w, v in weighed), Decimal(0)) / total if total else None
        return parts


def read_ledger(path: Path) -> dict[str, Row]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return {r["项目编号"]: Row(plan=Decimal(r["年度计划投资(万元)"]), base=Decimal(r["截至上月累计完成(万元)"]),
                                base_day=date(2026, 4, 29), stage=r["建设阶段"], unit=r["牵头单位"],
                                town=r["建设地点"], liaison=r["首办秘书(联络员)"]) for r in csv.DictReader(f)}


# ---- the month, entered as users enter it --------------------------------------------------------------------

IMPORTED = at(date(2026, 4, 30))
REIMPORTED = at(date(2026, 5, 20), 9)
NEW_PLANS = {"ZD2026-004": Decimal(45000), "ZD2026-019": Decimal(30000)}
NEW_BASE, AS_OF = ("ZD2026-005", Decimal(3500)), date(2026, 5, 15)
# A project the re-import brings in (entered on 20 May: it owes its reports from that day), 郝芳 its liaison too.
NEW_PROJECT = {"项目编号": "ZD2026-043", "项目名称": "城北污水管网改造", "建设地点": "城北街道",
               "年度计划投资(万元)": 4000, "截至上月累计完成(万元)": 200, "建设阶段": "在建"}
ON_LEAVE, STAND_IN = "郝芳", "武杰"  # ZD2026-001's liaison, away 25-27 May; ZD2026-002's reports for him on 26 May
LEAVE = set(span(date(2026, 5, 25), date(2026, 5, 27)))
UNDONE = ("ZD2026-036", date(2026, 5, 29))


def sample_workbook(tmp: Path) -> Path:
    """The sample workbook without its node plan, as the office first sends it."""
    wb = load_workbook(SAMPLE_LEDGER)
    del wb[NODE_SHEET]
    out = tmp / "重点项目台账_初.xlsx"
    wb.save(out)
    return out


def changed_ledger(tmp: Path) -> Path:
    """The shared workbook with two new plans and one new base, as the office sends it again."""
    wb = load_workbook(sample_workbook(tmp))
    ws = wb["重点项目包抓责任分解表"]
    header = next(r for r in ws.iter_rows() if any(c.value == "项目编号" for c in r))
    columns = {c.value: c.column for c in header}
    for row in ws.iter_rows(min_row=header[0].row + 1):
        code = row[columns["项目编号"] - 1].value
        if code in NEW_PLANS:
            row[columns["年度计划投资(万元)"] - 1].value = float(NEW_PLANS[code])
        if code == NEW_BASE[0]:
            row[columns["截至上月累计完成(万元)"] - 1].value = float(NEW_BASE[1])
    first = next(r for r in ws.iter_rows(min_row=header[0].row + 1) if r[0].value == "ZD2026-001")
    values = {columns[k]: v for k, v in NEW_PROJECT.items()}
    ws.append([values.get(c.column, c.value) for c in first])
    out = tmp / "重点项目台账.xlsx"
    wb.save(out)
    return out


async def enter_may(db: Database, tmp: Path) -> Month:
    month = Month(rows=read_ledger(SAMPLE_CSV))
    actor = Actor(label="test", channel="cli")
    await import_ledger_files(db, FrozenClock(IMPORTED), [sample_workbook(tmp)], actor=actor,
                              as_of=date(2026, 4, 29))  # a day over: the import day cannot be a base's
    async with db.session() as session:
        ids = {p.code: p.id for p in (await session.scalars(select(Project))).all()}
        person = {p.name: p.id for p in (await session.scalars(select(Person))).all()}
        units = {u.name: u.id for u in (await session.scalars(select(Unit))).all()}
        await add_leave(session, person_id=person[ON_LEAVE], substitute_id=person[STAND_IN], start=min(LEAVE),
                        end=max(LEAVE), now=IMPORTED, actor="test")
        month.away[ON_LEAVE] = LEAVE
        for index, code in enumerate(sorted(month.rows)):
            row = month.rows[code]
            if row.stage not in ("前期", "在建"):
                continue
            for day in span(date(2026, 5, 1), date(2026, 5, 28)):
                if not working(day) or (index + day.day) % 5 == 0 or day in month.away.get(row.liaison, ()):
                    continue
                amount = Decimal(3 + index % 7) + Decimal("0.25") * (day.day % 4)
                session.add(Report(project_id=ids[code], person_id=person[row.liaison], local_day=day,
                                   amount=amount, progress_text="正常施工", channel="telegram", created_at=at(day)))
                month.reports.setdefault(code, {})[day] = amount
        # 劳动节 overtime: counts in the money, owes nothing.
        session.add(Report(project_id=ids["ZD2026-028"], person_id=person[month.rows["ZD2026-028"].liaison],
                           local_day=date(2026, 5, 2), amount=Decimal(120), progress_text="节日加班",
                           channel="telegram", created_at=at(date(2026, 5, 2))))
        month.reports["ZD2026-028"][date(2026, 5, 2)] = Decimal(120)
    # The correction, the real way: 880 for the day's amount; the old version counts nowhere.
    code, day = "ZD2026-016", date(2026, 5, 19)
    async with db.session() as session:
        old = await live_report(session, project_id=ids[code], local_day=day)
        await correct_report(session, old=old, amount=Decimal(880), progress_text="更正", reason="少写了两位",
                             channel="telegram", now=at(date(2026, 5, 20)),
                             actor=Actor(label="test", channel="telegram"),
                             project_code=code)
    month.reports[code][day] = Decimal(880)
    # The re-import of 20 May, the office saying its figures are as of 15 May: two plans and a base changed.
    # Every base of the file is then of that day (its 累计完成 holds the reports up to it), changed or not.
    again = await import_ledger_files(db, FrozenClock(REIMPORTED), [changed_ledger(tmp)], actor=actor,
                                      as_of=AS_OF)
    for row in month.rows.values():
        row.base_day = AS_OF
    month.rows[NEW_BASE[0]].base = NEW_BASE[1]
    model = month.rows["ZD2026-001"]
    month.rows["ZD2026-043"] = Row(plan=Decimal(4000), base=Decimal(200), base_day=AS_OF, stage="在建", unit=model.unit,
                                   town="城北街道", liaison=model.liaison, entered=REIMPORTED.date())
    async with db.session() as session:
        ids["ZD2026-043"] = await session.scalar(select(Project.id).where(Project.code == "ZD2026-043"))
        for day in (date(2026, 5, 21), date(2026, 5, 22), date(2026, 5, 28)):
            session.add(Report(project_id=ids["ZD2026-043"], person_id=person[model.liaison], local_day=day,
                               amount=Decimal(40), progress_text="管网铺设", channel="telegram", created_at=at(day)))
            month.reports.setdefault("ZD2026-043", {})[day] = Decimal(40)
    assert again.written and not again.issues
    for code, plan in NEW_PLANS.items():
        month.rows[code].plan = plan
    # The stand-in reports for the liaison on leave (26 May); the last days of the month through the chat,
    # one of them withdrawn with /undo.
    core = await chat_core(db, tmp, at(date(2026, 5, 26), 17))
    await console(core, STAND_IN, ["/report ZD2026-001 66 路基施工"])
    month.reports.setdefault("ZD2026-001", {})[date(2026, 5, 26)] = Decimal(66)
    core = await chat_core(db, tmp, at(UNDONE[1], 17))
    await console(core, month.rows[UNDONE[0]].liaison, [f"/report {UNDONE[0]} 500 主体施工", "/undo"])
    # Problems (a town government answers one too).
    district = District(db)
    district.projects, district.units, district.people = ids, units, person
    problems = (
        ("ZD2026-001", "区住建局", (11, 10), (14, 18), (("resolved", (13, 10)), ("closed", (13, 11))), None),
        ("ZD2026-006", "区工信局", (18, 10), (21, 18), (), None),  # left overdue
        ("ZD2026-033", "区工信局", (20, 10), (25, 18), (("resolved", (27, 9)),), None),  # late
        ("ZD2026-018", "区房管局", (12, 10), (22, 18), (("escalated", (16, 9)), ("resolved", (20, 9))), (16, 9)),
        ("ZD2026-014", "金川镇", (19, 10), (22, 18), (("resolved", (21, 15)),), None),
        ("ZD2026-028", "区水务局", (25, 10), (29, 18), (("answered", (27, 9)), ("resolved", (28, 9))), None),
    )
    for code, unit, raised, due, events, escalated in problems:
        when = {kind: at(date(2026, 5, d), h) for kind, (d, h) in events}
        await district.problem(code, unit=unit, raised=at(date(2026, 5, raised[0]), raised[1]),
                               due=at(date(2026, 5, due[0]), due[1]), status=status_after(when),
                               events=tuple((kind, when[kind]) for kind, _ in events))
        month.problems.append(Problem(unit=unit, due=at(date(2026, 5, due[0]), due[1]), resolved=when.get("resolved"),
                                      escalated=at(date(2026, 5, escalated[0]), escalated[1]) if escalated else None,
                                      raised=at(date(2026, 5, raised[0]), raised[1])))
    # Not solved by its deadline (21 May) and escalated on 22 May to the lead official, whose clock runs to 5 June:
    # still open on 31 May.
    await district.problem("ZD2026-029", unit="区水务局", raised=at(date(2026, 5, 18)), due=at(date(2026, 6, 5)),
                           events=(("escalated", at(date(2026, 5, 22), 9)),), level=1)
    month.problems.append(Problem(unit="区水务局", due=at(date(2026, 5, 21)), escalated=at(date(2026, 5, 22), 9),
                                  raised=at(date(2026, 5, 18))))
    # Solved in time on 7 May, reopened on 12 May (not solved after all), open at the month's end.
    await district.problem("ZD2026-030", unit="区城管局", raised=at(date(2026, 5, 4)), due=at(date(2026, 5, 8)),
                           events=(("resolved", at(date(2026, 5, 7))), ("reopened", at(date(2026, 5, 12), 9))))
    month.problems.append(Problem(unit="区城管局", due=at(date(2026, 5, 8)), resolved=at(date(2026, 5, 7)),
                                  reopened=at(date(2026, 5, 12), 9), raised=at(date(2026, 5, 4))))
    # Milestones: done on time, done late, overdue, due on the last day (not a miss yet).
    nodes = (("ZD2026-001", "围挡施工", 10, 8), ("ZD2026-001", "便道完成", 15, 19),
             ("ZD2026-001", "道路贯通", 20, None), ("ZD2026-033", "桩基完成", 31, None),
             ("ZD2026-033", "主体封顶", 29, 28), ("ZD2026-028", "管网铺设", 12, 12),
             ("ZD2026-014", "设备进场", 26, None), ("ZD2026-036", "基坑开挖", 29, None))
    for seq, (code, name, planned, done) in enumerate(nodes):
        day = date(2026, 5, planned)
        done_on = date(2026, 5, done) if done else None
        await district.node(code, name, day, done_on, seq=seq)
        month.nodes.setdefault(code, []).append((day, done_on))
    return month


def status_after(when: dict[str, datetime]) -> str:
    """The status the problem stands in now, after its events (销号, the unit's 已解决, its answer)."""
    return next((status for kind, status in (("closed", "closed"), ("resolved", "resolved"), ("answered", "answered"))
                 if kind in when), "open")


async def chat_core(db: Database, tmp: Path, now: datetime) -> Core:
    return Core.build(load_settings(DATABASE_URL="sqlite+aiosqlite://", DATA_DIR=str(tmp / "data")),
                      clock=FrozenClock(now), db=db)


# ---- the comparison ------------------------------------------------------------------------------------------

def pct(value: Decimal | float | None) -> str:
    """A share as the ledger shows it in per cent, one decimal (without the sign)."""
    if value is None:
        return "—"
    exact = Decimal(format(value, ".12g")) if isinstance(value, float) else value
    return str(one(exact * 100))


def light(rate: Decimal | None, gap: Decimal | None, day: date) -> str:
    """The warning light with the default settings: red more than 30 points behind (or under 30 % of the plan
    after 30 September), yellow 10 to 30 behind, green otherwise."""
    if rate is None or gap is None:
        return "无计划"
    if gap < -30 or (day > date(day.year, 9, 30) and rate < Decimal("0.3")):
        return "红灯"
    return "黄灯" if gap <= -10 else "绿灯"


def differences(month: Month, workbook: bytes, start: date, end: date) -> list[str]:
    """Every figure of a bulletin's Excel ledger that the oracle does not find, one line each."""
    found: list[str] = []
    codes = month.entered(end)
    gaps = {c: month.gap(c, end) for c in codes}
    ranks = places(gaps)
    projects = sheet_rows(workbook, "项目台账")
    if sorted(row["编号"] for row in projects) != codes:
        return [f"projects: oracle {codes}, bulletin {sorted(row['编号'] for row in projects)}"]
    for row in projects:
        code = row["编号"]
        want = (month.rows[code].plan, pct(schedule(end)), month.ytd(code, end), pct(month.rate(code, end)),
                "—" if gaps[code] is None else one(gaps[code]), ranks[code],
                light(month.rate(code, end), gaps[code], end), pct(month.nodes_on_time([code], end)))
        got = (Decimal(str(row["年度计划(万元)"])), pct(row["序时进度"]), Decimal(str(row["累计完成(万元)"])),
               pct(row["完成率"]), "—" if row["差距(百分点)"] is None else one(row["差距(百分点)"]), row["排名"],
               row["预警"], pct(row["节点按期率"]))
        if want != got:
            found.append(f"project {code}: oracle {want}, bulletin {got}")
    for sheet, key, of in (("单位排名", "牵头单位", lambda r: r.unit), ("乡镇排名", "乡镇", lambda r: r.town)):
        members: dict[str, list[str]] = {}
        for code in codes:
            members.setdefault(of(month.rows[code]), []).append(code)
        groups = {name: month.group(cs, name, start, end) for name, cs in members.items()}
        group_ranks = places({name: g["score"] for name, g in groups.items()})
        for row in sheet_rows(workbook, sheet):
            name = row[key]
            g = groups[name]
            want = (len(members[name]), pct(g["investment"]), pct(g["punctuality"]), pct(g["problems"]),
                    pct(g["nodes"]), "—" if g["score"] is None else one(g["score"]), group_ranks[name])
            got = (row["项目数"], pct(row["投资完成指数"]), pct(row["填报及时率"]), pct(row["问题按期办结率"]),
                   pct(row["节点按期率"]), "—" if row["综合得分"] is None else one(row["综合得分"]), row["排名"])
            if want != got:
                found.append(f"{sheet} {name}: oracle {want}, bulletin {got}")
    return found


async def test_bulletin_figures_match_a_hand_computation(db: Database, tmp_path: Path) -> None:
    month = await enter_may(db, tmp_path)
    # The bulletins are made on the project's calendar: the oracle's own says the same of these weeks.
    assert all(CALENDAR.is_working_day(d) == working(d) for d in span(date(2026, 4, 27), date(2026, 6, 30)))
    # The week of the import and 劳动节, the week of the 调休 Saturday, the week of the leave; May; the quarter.
    periods = [parse_period("weekly", f"2026-W{n}") for n in (18, 19, 21, 22)]
    periods += [parse_period("monthly", "2026-05"), parse_period("quarterly", "2026-Q2")]
    for period in periods:
        rendered = await bulletin(db, period, tmp_path / period.name)
        end = period.end
        found = differences(month, rendered.files["ledger"].read_bytes(), period.start, end)
        assert found == [], period.name
        text = html_to_plain(rendered.text)
        codes = month.entered(end)
        assert f"{len(codes)} 个重点项目" in text  # ZD2026-043 is in none before the week it came in
        done = sum((month.ytd(c, end) for c in codes), Decimal(0))
        plan = sum((month.rows[c].plan for c in codes), Decimal(0))
        planned = [c for c in codes if month.rows[c].plan]
        planned_done = sum((month.ytd(c, end) for c in planned), Decimal(0))
        if planned_done == done:
            assert f"年度累计完成 {one(done):,} 万元，占年度计划 {one(plan):,} 万元的 {pct(done / plan)}%" in text
        else:  # a project without a plan did some of the year's money: not set against the others' plans
            assert (f"年度累计完成 {one(done):,} 万元，其中有年度计划的项目完成 {one(planned_done):,} 万元，"
                    f"占年度计划 {one(plan):,} 万元的 {pct(planned_done / plan)}%"
                    f"（另有 {len(codes) - len(planned)} 个项目无年度计划）") in text
        if period.kind != "weekly":
            grew = done - sum((month.ytd(c, period.start - timedelta(days=1)) for c in codes), Decimal(0))
            assert f"本期完成投资 {one(grew):,} 万元" in text
            # 1-15 May's money is in no 本期, and the bulletin says so of every base that holds some
            blurred = sum(1 for row in month.rows.values() if row.base)
            note = f"注：{blurred} 个项目的年度台账截至5月15日，5月1日至5月15日完成的投资含在台账累计数中"
            assert period.kind != "monthly" or note in text
            # 问题办理: an escalated problem still open is 超期未办结 while its next level's deadline runs
            assert "全区：{} / {} / {}".format(*month.problem_table(period.start, end)) in text
        else:  # 填报率 over the four weeks up to the cut-off day
            assert f"全区 {pct(month.punctuality(codes, end - timedelta(days=27), end))}%" in text
