"""A district office's month through the chat, for ``test_month_oracle``: what is entered, and the same written
down for the oracle (``month_book.Book``).

Ten projects of the sample ledger's shapes (three lead units, two towns) come in on Monday 2 November 2026 (their
累计完成 dated 31 October); the clock then travels every day to Sunday 6 December. Liaisons report through the
chat on working days, some days missed; a report withdrawn with /undo and sent again, one replaced the same day
(确认替换), one corrected the next day (/correct), one sent the next morning for the day missed (it counts for the
day it is sent), one sent on a Sunday (money, no duty); the 项目办 enters a 调休 (Friday 27 November off, Saturday
28 November worked) on the first day; on Monday 16 November a re-import changes one plan and brings in an eleventh
project, its file still listing as 前期 a project whose 开工 the chat recorded on the 10th; another project is
reported finished (竣工) on the 20th, each confirmed by its unit. Problems: W0001 solved in time and 销号; W0002 not
taken up in time (escalated to the 包抓领导 by the tick), then answered and solved late; W0003, whose unit asks a
later date (延期, approved by the 包抓领导) and solves it within it; W0004, which the unit asks to move (改派,
approved by the 项目办) and the new unit solves; W0005 left past its deadline (escalated at the month's end);
W0006 raised in the last week. The escalation tick runs every evening.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from aiohttp import web
from openpyxl import load_workbook

from bot.app import Core
from bot.channels.console import bind_console, render_outcome, take_notices
from bot.clock import FrozenClock
from bot.config import load_settings
from bot.domain.digest_settings import DigestSettings
from bot.domain.messages import Button, Incoming
from bot.domain.periods import parse_period
from bot.ledger.columns import NODE_SHEET
from bot.render import Renderer
from bot.services.ledger_import import import_ledger_files
from bot.web.server import add_web_routes
from jobs import escalation
from jobs.bulletin_render import Rendered, render_bulletin
from storage import people
from storage.audit import Actor
from storage.db import Database
from storage.settings import load_calendar
from tests.e2e.harness import SAMPLE_LEDGER
from tests.fakes.serving import serve_locally
from tests.web.harness import WebHarness

from .month_book import Book, Problem, Row, at, span, wan

# ---- the district: ten projects of the sample ledger, three lead units, two towns -------------------------------

FIRST, LAST = date(2026, 11, 2), date(2026, 12, 6)
BASE_DAY = date(2026, 10, 31)
TOWNS = ("河西镇", "金川镇")
CHOSEN = ("ZD2026-001", "ZD2026-016", "ZD2026-031",  # 区住建局
          "ZD2026-004", "ZD2026-005", "ZD2026-006", "ZD2026-033",  # 区工信局
          "ZD2026-003", "ZD2026-017", "ZD2026-018")  # 区房管局
LATE_COMER = "ZD2026-019"  # 区房管局, 前期: the re-import of 16 November brings it in
REIMPORT = date(2026, 11, 16)
NEW_PLAN = ("ZD2026-033", Decimal(52000))  # was 44,000
STARTED, FINISHED = ("ZD2026-004", date(2026, 11, 10)), ("ZD2026-005", date(2026, 11, 20))
OFF, WORKED = date(2026, 11, 27), date(2026, 11, 28)  # the 调休 the 项目办 enters
ADMIN = "管理员(区重大项目办)"
HANDLER = {"区住建局": "赵芳", "区工信局": "胡杰", "区房管局": "沈磊"}
W49, NOV = parse_period("weekly", "2026-W49"), parse_period("monthly", "2026-11")


def ledger_file(folder: Path, *, late_comer: bool) -> Path:
    """The sample workbook cut to the district's projects (and the roster to their people), the towns two, no
    node plan; with the eleventh project and the new plan when ``late_comer``."""
    wb = load_workbook(SAMPLE_LEDGER)
    del wb[NODE_SHEET]
    ws = wb["重点项目包抓责任分解表"]
    header = next(r for r in ws.iter_rows() if any(c.value == "项目编号" for c in r))
    col = {c.value: c.column - 1 for c in header}
    keep = set(CHOSEN) | ({LATE_COMER} if late_comer else set())
    liaisons: set[str] = set()
    for row in reversed(list(ws.iter_rows(min_row=header[0].row + 1))):
        code = row[col["项目编号"]].value
        if code not in keep:
            ws.delete_rows(row[0].row)
            continue
        row[col["建设地点"]].value = TOWNS[(*CHOSEN, LATE_COMER).index(code) % 2]
        liaisons.add(row[col["首办秘书(联络员)"]].value)
        if late_comer and code == NEW_PLAN[0]:
            row[col["年度计划投资(万元)"]].value = float(NEW_PLAN[1])
    roster = wb["人员名单"]
    for row in reversed(list(roster.iter_rows(min_row=2))):
        name, role = row[0].value, row[1].value
        if role == "联络员" and name not in liaisons:
            roster.delete_rows(row[0].row)
    out = folder / ("台账_调整.xlsx" if late_comer else "台账.xlsx")
    wb.save(out)
    return out


@dataclass
class Desk:
    """People typing into the chat (the console channel, through the real router), buttons pressed by label."""

    core: Core
    accounts: dict[str, str] = field(default_factory=dict)
    shown: dict[str, list[Button]] = field(default_factory=dict)

    def travel(self, when: datetime) -> None:
        assert isinstance(self.core.clock, FrozenClock)
        self.core.clock.set(when)

    async def account(self, name: str) -> str:
        if name not in self.accounts:
            async with self.core.db.session() as session:
                [person] = await people.find_people_by_name(session, name=name)
            self.accounts[name] = await bind_console(self.core.db, person, now=self.core.clock.now())
        return self.accounts[name]

    async def say(self, name: str, text: str, *, button: str | None = None) -> str:
        external = await self.account(name)
        data = None
        if button is not None:
            data = next(b.data for b in self.shown.get(name, []) if b.label.startswith(button))
        msg = Incoming(channel="console", user_id=external, chat_id=external, display_name=name,
                       **({"callback_data": data} if data else {"text": text}))
        reply, buttons = render_outcome(await self.core.router.handle(msg))
        self.shown[name] = buttons
        return reply

    async def press(self, name: str, label: str) -> str:
        return await self.say(name, "", button=label)

    async def inbox(self, name: str) -> str:
        """The notices waiting for this person; their buttons become the ones shown."""
        text, buttons = render_outcome(await take_notices(self.core.router, await self.account(name)))
        if buttons:
            self.shown[name] = buttons
        return text

    async def tick(self) -> list[str]:
        return (await escalation.run(self.core.db, self.core.clock, self.core.deps.renderer)).actions


def amount(code: str, day: date) -> Decimal:
    index = int(code[-3:])
    return Decimal(4 + index % 9) + Decimal("0.25") * (day.day % 4)


async def live_a_month(db: Database, folder: Path) -> tuple[Book, Core]:
    book = Book(base_day=BASE_DAY, off={OFF}, worked={WORKED})
    actor = Actor(label="test", channel="cli")
    summary = await import_ledger_files(db, FrozenClock(at(FIRST, 8)), [ledger_file(folder, late_comer=False)],
                                        actor=actor, as_of=BASE_DAY)
    assert not summary.issues, summary.issues

    def read_rows(path: Path, entered: date) -> None:
        ws = load_workbook(path)["重点项目包抓责任分解表"]
        rows = list(ws.iter_rows(values_only=True))
        head = next(i for i, r in enumerate(rows) if "项目编号" in r)
        for r in rows[head + 1:]:
            v = dict(zip(rows[head], r, strict=True))
            if v["项目编号"] in book.rows:
                book.rows[v["项目编号"]].plan = Decimal(str(v["年度计划投资(万元)"]))
                continue
            book.rows[v["项目编号"]] = Row(
                name=v["项目名称"], plan=Decimal(str(v["年度计划投资(万元)"])),
                base=Decimal(str(v["截至上月累计完成(万元)"])), stage=v["建设阶段"], unit=v["牵头单位"],
                town=v["建设地点"], liaison=v["首办秘书(联络员)"], lead=v["包抓领导"].split("(")[0],
                planned_start=date.fromisoformat(v["计划开工"]), planned_finish=date.fromisoformat(v["计划竣工"]),
                entered=entered)

    read_rows(ledger_file(folder, late_comer=False), FIRST)
    core = Core.build(load_settings(DATABASE_URL="sqlite+aiosqlite://", DATA_DIR=str(folder / "data")),
                      clock=FrozenClock(at(FIRST, 8, 30)), db=db)
    desk = Desk(core)

    async def report(code: str, day: date, value: Decimal, hour: int = 10, words: str = "正常施工") -> str:
        desk.travel(at(day, hour))
        reply = await desk.say(book.rows[code].liaison, f"/report {code} {value} {words}")
        book.reports.setdefault(code, {})[day] = value
        # the saved report's card: the year-to-date the oracle has now
        assert f"年度累计完成：{wan(book.ytd(code, day))} 万元" in reply, (code, day, reply)
        return reply

    for day in span(FIRST, LAST):
        # ---- the mornings' office work
        if day == FIRST:
            desk.travel(at(day, 8, 30))
            entered = await desk.say(ADMIN, f"/calendar {OFF} off 调休")
            assert "2026-11-27" in entered, entered
            entered = await desk.say(ADMIN, f"/calendar {WORKED} work 调休上班")
            assert "2026-11-28" in entered, entered
        if day == REIMPORT:
            again = await import_ledger_files(db, FrozenClock(at(day, 9)), [ledger_file(folder, late_comer=True)],
                                              actor=actor, as_of=BASE_DAY)
            assert again.written and not again.issues, again.issues
            read_rows(ledger_file(folder, late_comer=True), REIMPORT)
        # ---- the day's reports
        for code in book.codes(day):
            if not book.working(day) or book.stage(code, day) not in ("前期", "在建") or book.rows[code].entered > day:
                continue
            if (int(code[-3:]) + day.day) % 7 == 0:  # a day missed
                continue
            if code == "ZD2026-017" and day == date(2026, 11, 11):
                continue  # missed: sent the next morning, where it counts
            if code == "ZD2026-017" and day == date(2026, 11, 12):
                await report(code, day, Decimal("18.5"), hour=8, words="昨日及今日施工")
                continue
            value = Decimal(0) if book.rows[code].stage == "前期" and code != STARTED[0] else amount(code, day)
            await report(code, day, value)
        # ---- the day's events
        if day == date(2026, 11, 3):  # /undo, then the right figure
            desk.travel(at(day, 16))
            liaison = book.rows["ZD2026-031"].liaison
            await desk.say(liaison, "/report ZD2026-031 95 主体施工")
            undone = await desk.say(liaison, "/undo")
            assert "撤回" in undone, undone
            book.reports["ZD2026-031"].pop(day, None)
            await report("ZD2026-031", day, Decimal("9.5"), hour=16, words="主体施工")
        if day == date(2026, 11, 4):  # a second report the same day replaces the first
            desk.travel(at(day, 17))
            asked = await desk.say(book.rows["ZD2026-006"].liaison, "/report ZD2026-006 12 场地平整完成")
            assert "确认替换" in asked, asked
            await desk.press(book.rows["ZD2026-006"].liaison, "确认替换")
            book.reports["ZD2026-006"][day] = Decimal(12)
        if day == date(2026, 11, 5):  # yesterday's amount corrected
            desk.travel(at(day, 11))
            old = book.reports["ZD2026-016"][date(2026, 11, 4)]
            asked = await desk.say(book.rows["ZD2026-016"].liaison,
                                   f"/correct ZD2026-016 2026-11-04 {old * 10} 主体施工 理由：少写了一位")
            assert "确认更正" in asked, asked
            await desk.press(book.rows["ZD2026-016"].liaison, "确认更正")
            book.reports["ZD2026-016"][date(2026, 11, 4)] = old * 10
        if day == date(2026, 11, 8):  # Sunday overtime: money, no duty
            await report("ZD2026-001", day, Decimal(30), words="周末加班浇筑")
        if day == STARTED[1]:
            desk.travel(at(day, 11))
            await desk.say(book.rows[STARTED[0]].liaison, f"/started {STARTED[0]}")
            await desk.inbox(HANDLER["区工信局"])
            confirmed = await desk.press(HANDLER["区工信局"], "确认开工")
            assert "开工" in confirmed, confirmed
            book.moves.setdefault(STARTED[0], []).append(("开工", STARTED[1]))
        if day == FINISHED[1]:
            desk.travel(at(day, 11))
            await desk.say(book.rows[FINISHED[0]].liaison, f"/finished {FINISHED[0]}")
            await desk.inbox(HANDLER["区工信局"])
            confirmed = await desk.press(HANDLER["区工信局"], "确认竣工")
            assert "竣工" in confirmed, confirmed
            book.moves.setdefault(FINISHED[0], []).append(("竣工", FINISHED[1]))
        await problems_of_the_day(desk, book, day)
        desk.travel(at(day, 18))
        escalated = [a for a in await desk.tick() if ":escalate:" in a]
        # the escalations the oracle counts: W0002 not taken up by Thursday 5 November, W0005 not solved by 30th
        assert escalated == {date(2026, 11, 5): ["W0002:escalate:1"],
                             date(2026, 11, 30): ["W0005:escalate:1"]}.get(day, []), (day, escalated)
    async with db.session() as session:  # the calendar the bulletins read is the one the oracle reads
        calendar = await load_calendar(session)
    assert [d for d in span(FIRST, LAST) if calendar.is_working_day(d) != book.working(d)] == []
    return book, core


async def problems_of_the_day(desk: Desk, book: Book, day: date) -> None:
    """The problems' lives, each step on its day."""
    def raised(number: str, unit: str, when: datetime, due: datetime) -> Problem:
        problem = Problem(number=number, raised=when, holders=[(when, unit, due)])
        book.problems.append(problem)
        return problem

    def find(number: str) -> Problem:
        return next(p for p in book.problems if p.number == number)

    async def act(hour: int, name: str, text: str, expect: str = "", minute: int = 0) -> str:
        desk.travel(at(day, hour, minute))
        reply = await desk.say(name, text)
        assert expect in reply, (text, reply)
        return reply

    rows = book.rows
    if day == date(2026, 11, 3):  # W0001: solved in time, 销号
        await act(10, rows["ZD2026-001"].liaison, "/issue ZD2026-001 审批手续 施工许可证迟迟未批", "2026-11-06 17:30")
        raised("W0001", "区住建局", at(day), at(date(2026, 11, 6), 17, 30))
        await act(14, "赵芳", "/accept W0001", "受理")
    if day == date(2026, 11, 4):  # W0002: not taken up in time
        await act(10, rows["ZD2026-006"].liaison, "/issue ZD2026-006 资金 配套资金未到位", "W0002")
        raised("W0002", "区工信局", at(day), at(date(2026, 11, 18), 17, 30))
    if day == date(2026, 11, 5):
        await act(10, "赵芳", "/resolved W0001 已协调住建部门办结施工许可")
        find("W0001").resolved = at(day)
        await act(15, rows["ZD2026-001"].liaison, "/confirm W0001", "销号")
    if day == date(2026, 11, 6):  # escalated at Thursday's end of day; answered late
        assert find("W0002").escalated is None
        find("W0002").escalated = at(date(2026, 11, 5), 18)
        await act(9, "胡杰", "/accept W0002")
        await act(10, "胡杰", "/answer W0002 正在向财政局申请拨付")
    if day == date(2026, 11, 9):  # W0003: an extension asked and approved
        await act(10, rows["ZD2026-017"].liaison, "/issue ZD2026-017 用地 临时用地手续未办", "W0003")
        raised("W0003", "区房管局", at(day), at(date(2026, 11, 23), 17, 30))
        await act(11, "沈磊", "/accept W0003")
        await act(15, "沈磊", "/answer W0003 12月4日 正与自然资源分局协调临时用地", "延期")
    if day == date(2026, 11, 10):
        desk.travel(at(day, 9))
        lead = rows["ZD2026-017"].lead
        await desk.inbox(lead)
        approved = await desk.press(lead, "同意延期")
        assert "同意" in approved, approved
        find("W0003").extended = (at(day, 9), at(date(2026, 12, 4), 17, 30))
        await act(11, "胡杰", "/resolved W0002 资金已拨付到位")
        find("W0002").resolved = at(day, 11)
    if day == date(2026, 11, 11):
        await act(10, rows["ZD2026-006"].liaison, "/confirm W0002", "销号")
    if day == REIMPORT:  # W0004: the unit asks to move it
        await act(10, rows["ZD2026-016"].liaison, "/issue ZD2026-016 其他 厂区配套道路归属不清", "W0004")
        raised("W0004", "区住建局", at(day), at(date(2026, 11, 23), 17, 30))
        await act(11, "赵芳", "/accept W0004")
        await act(15, "赵芳", "/reassign W0004 配套道路属工信局园区职责")
    if day == date(2026, 11, 17):
        desk.travel(at(day, 9, 30))
        await desk.inbox(ADMIN)
        await desk.press(ADMIN, "同意改派")
        moved = await desk.press(ADMIN, "区工信局")
        assert "区工信局" in moved, moved
        find("W0004").holders.append((at(day, 9, 30), "区工信局", at(date(2026, 11, 24), 17, 30)))
        await act(10, "胡杰", "/accept W0004")
    if day == date(2026, 11, 19):
        await act(10, "胡杰", "/resolved W0004 道路已纳入园区配套")
        find("W0004").resolved = at(day)
    if day == date(2026, 11, 20):
        await act(10, rows["ZD2026-016"].liaison, "/confirm W0004", "销号")
    if day == date(2026, 11, 23):  # W0005: left past its deadline (Friday 27 off, Saturday 28 worked)
        await act(10, rows["ZD2026-033"].liaison, "/issue ZD2026-033 水电路气 施工用电未接入", "2026-11-30 17:30")
        raised("W0005", "区工信局", at(day), at(date(2026, 11, 30), 17, 30))
        await act(11, "胡杰", "/accept W0005")
    if day == date(2026, 12, 1):
        find("W0005").escalated = at(date(2026, 11, 30), 18)
    if day == date(2026, 12, 2):  # W0003 solved within its extension; W0006 raised
        await act(10, "沈磊", "/resolved W0003 临时用地手续已办结")
        find("W0003").resolved = at(day)
        await act(10, rows["ZD2026-003"].liaison, "/issue ZD2026-003 其他 方案审查意见未反馈", "W0006", minute=30)
        raised("W0006", "区房管局", at(day, 10, 30), at(date(2026, 12, 9), 17, 30))
        await act(11, "沈磊", "/accept W0006")


async def bulletin(db: Database, period, folder: Path) -> Rendered:
    async with db.session() as session:
        return await render_bulletin(session, Renderer(), period=period, calendar=await load_calendar(session),
                                     settings=DigestSettings(), out_dir=folder)


@asynccontextmanager
async def served(core: Core, folder: Path) -> AsyncIterator[WebHarness]:
    """The web pages on the month's database, as `diaodu run` serves them, their standings computed."""
    settings = load_settings(DATABASE_URL="sqlite+aiosqlite://", _env_file=None, DATA_DIR=str(folder / "web"))
    app = web.Application()
    state = add_web_routes(app, db=core.db, clock=core.clock, settings=settings)
    runner, port = await serve_locally(app)
    try:
        await state.standings.ready()
        yield WebHarness(core=core, state=state, base=f"http://127.0.0.1:{port}")
    finally:
        await runner.cleanup()
