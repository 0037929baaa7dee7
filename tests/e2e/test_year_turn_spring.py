"""The district office from Monday 2026-12-21 to Saturday 2027-02-20, end to end through the real PTB
Application and the fake Bot API, travelling in time: the last weeks of 2026, New Year, the 2027 ledger, the
2027 calendar entered by the admin, and the 春节 break.

The sample ledger (2026 plans) is imported on 2026-12-20 (tests.e2e.test_year_turn). 武杰 reports 100 万元
on ZD2026-002 every working day to 31 December and on 2027-01-04; on 01-05 he corrects 12-30 to 300. 郝芳
raises a 资金 problem (10 working days) on 2026-12-28, before 2027's holidays are known.

On 2027-01-08 the admin imports the 2027 ledger through the chat: every plan 10 % up, ZD2026-039 finished
(竣工, no 2027 plan), a new project ZD2027-001 for 郝芳. On 01-11 the admin enters the 2027 notice as this
story has it: 元旦 01-01 … 01-03 and 春节 02-05 … 02-13 off, Sunday 01-31 and Saturday 02-20 working, and
declares 2027 official. The estimate had 春节 02-05 … 02-10 only, and no working weekend.
"""

from __future__ import annotations

import io
import re
from datetime import date, time

import openpyxl
from sqlalchemy import select

from bot.config import Settings
from bot.domain.standings import totals
from bot.services.standings import current_standings
from storage.models import AnnualPlan, Bulletin, Project
from tests.admin.admin_support import ADMIN_NAME
from tests.admin.test_admin_import import send_document
from tests.e2e.harness import SAMPLE_LEDGER, TelegramHarness
from tests.e2e.test_digests import GROUP, HAO, LI_HT, PEOPLE, WU, Office, days, texts
from tests.e2e.test_year_turn import ADMIN, at, data_dir, december, settings  # noqa: F401 - fixtures

LIAISONS = {HAO, WU, LI_HT}
CALENDAR_2027 = ("/calendar 2027-01-01..2027-01-03 off 元旦", "/calendar 2027-02-05..2027-02-13 off 春节",
                 "/calendar 2027-01-31 work", "/calendar 2027-02-20 work")
CORRECTED = "ZD2026-002 滨江四期沿江路 2026-12-30 填报 100.0 万元更正为 300.0 万元（理由：漏报材料款）"


def ledger_2027(as_of: str = "2027年1月7日") -> bytes:
    """The sample workbook as the 2027 ledger as of 2027-01-07: plans 10 % up (never above the total), nothing
    done yet but ZD2026-002's report of 01-04, ZD2026-039 竣工 with no 2027 plan, a new project ZD2027-001."""
    workbook = openpyxl.load_workbook(SAMPLE_LEDGER)
    sheet = workbook["重点项目包抓责任分解表"]
    sheet["A1"] = f"2027年全区重点项目包抓责任分解表(截至{as_of})"
    for row in range(3, sheet.max_row + 1):
        code = sheet.cell(row, 1).value
        if isinstance(code, str) and code.startswith("ZD"):
            total = float(sheet.cell(row, 7).value)
            sheet.cell(row, 8).value = min(round(float(sheet.cell(row, 8).value) * 1.1), total)
            sheet.cell(row, 9).value = 100 if code == "ZD2026-002" else 0
            if code == "ZD2026-039":
                sheet.cell(row, 8).value, sheet.cell(row, 10).value = 0, "竣工"
    new = [cell.value for cell in sheet[3]]  # ZD2026-001's people and units
    new[:11] = ["ZD2027-001", "城南污水处理厂", "基础设施", "区级", "龙首新区", "区城投公司", 30000, 12000, 0, "前期",
                "2027-03-01"]
    sheet.append(new)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


async def test_from_the_last_weeks_of_2026_to_the_spring_festival(
        december: TelegramHarness, settings: Settings) -> None:  # noqa: F811
    office = Office(december, settings)
    tg = december
    await office.setup(*PEOPLE)
    await tg.bind(ADMIN, ADMIN_NAME, "admin")

    group: dict[str, str] = {}  # period → the group's bulletin text
    produced_on: dict[str, date] = {}
    reminded: set[date] = set()
    for day in days(date(2026, 12, 21), date(2027, 2, 20)):
        office.travel(at(day))
        periods = [produced.period for produced in await office.tick()]
        for period in periods:
            produced_on[period] = day
        current = None
        for text in texts(GROUP, await office.deliver()):  # a bulletin's parts follow its heading
            current = next((p for p in periods if f"（{p}，" in text.split("\n", 1)[0]), current)
            assert current is not None, text
            group[current] = group.get(current, "") + text + "\n"
        if date(2026, 12, 21) <= day <= date(2026, 12, 31) and day.weekday() < 5 or day == date(2027, 1, 4):
            office.travel(at(day, 9, 30))
            await office.report(WU, "ZD2026-002", "100", "清表完成")

        office.travel(at(day, 10))
        if day == date(2026, 12, 28):
            raised = await tg.send(HAO, "/issue ZD2026-001 资金 配套资金未到位")
            # 12-29 … 12-31, 元旦 off (estimated), 01-04 … 01-08, 01-11, 01-12: the last days are estimated.
            assert "办结时限：2027-01-12 17:30（按预估日历）" in raised.text, raised
        if day == date(2026, 12, 31):
            mine = await tg.send(HAO, "/mine")
            assert "（2026-12-31）" in mine.text and "预估" not in mine.text, mine  # 2026's notice is known
        if day == date(2027, 1, 4):
            mine = await tg.send(HAO, "/mine")
            assert "<b>我的项目</b>（2027-01-04，按预估日历）" in mine.text, mine
            card = (await tg.send(HAO, "/project ZD2026-001")).text  # nobody has reported in 2027 yet
            assert "2027 年度计划投资：尚未录入" in card and "年度累计完成：0.0 万元" in card, card
            assert "完成率：—（无年度计划）" in card, card
        if day == date(2027, 1, 5):
            await tg.send(WU, "/correct ZD2026-002 12月30日 300 理由：漏报材料款")
            assert "2026 年度累计完成 1,100.0 万元" in (await tg.press(WU, "确认更正")).text
        if day == date(2027, 1, 8):
            assert "请发送项目台账文件" in (await tg.send(ADMIN, "/import")).text
            preview = await send_document(tg, ADMIN, "2027年台账.xlsx", ledger_2027())
            assert "项目：新增 1，更新 42" in preview.text, preview
            assert "年度计划投资按 2027 年度录入，此前各年度的计划保留不变" in preview.text, preview
            assert "导入完成" in (await tg.press(ADMIN, "确认")).text
            mine = await tg.send(HAO, "/mine")
            assert "ZD2027-001 城南污水处理厂（今日未填报）" in mine.text, mine
            finished = (await tg.send(HAO, "/project ZD2026-039")).text
            assert "建设阶段：竣工" in finished and "完成率：—（无年度计划）" in finished, finished
        if day == date(2027, 1, 11):
            for line in CALENDAR_2027:
                assert "✅ 已录入" in (await tg.send(ADMIN, line)).text
            entered = (await tg.send(ADMIN, "/calendar 2027 official")).text
            assert "已确认：该年按官方通知计算" in entered and "2027-02-20 调休上班" in entered, entered
        if day == date(2027, 1, 12):
            assert "已记录" in await tg.send(HAO, "/report ZD2027-001 50 前期手续办理")
        if day == date(2027, 1, 28):
            raised = await tg.send(HAO, "/issue ZD2026-001 资金 二期资金未落实")
            # 01-29, Sunday 01-31 (调休), 02-01 … 02-04, then 春节 to 02-13 (and Sunday 14), 02-15 … 02-18.
            assert "办结时限：2027-02-18 17:30" in raised.text and "预估" not in raised.text, raised
        if day == date(2027, 2, 11):  # a working day in the estimate, off in the notice entered
            mine = await tg.send(HAO, "/mine")
            assert "（2027-02-11，春节）" in mine.text and "无需填报" in mine.text and "预估" not in mine.text

        office.travel(at(day, 16))
        await office.remind(time(16, 0))
        if {int(call["chat_id"]) for call in await office.deliver()} & LIAISONS:
            reminded.add(day)

    # --- reminders: on the working days of the calendar in force that day ------------------------------
    days_off = {date(2027, 1, 1), *days(date(2027, 2, 5), date(2027, 2, 14))}
    weekends = {d for d in days(date(2026, 12, 21), date(2027, 2, 20)) if d.weekday() >= 5}
    working = set(days(date(2026, 12, 21), date(2027, 2, 20))) - days_off - weekends | {date(2027, 1, 31),
                                                                                       date(2027, 2, 20)}
    assert reminded == working, sorted(reminded ^ working)

    # --- the bulletins of the year's end: right periods, titles and figures -----------------------------
    assert produced_on["2026-W52"] == date(2026, 12, 28)
    for period in ("2026-W53", "2026-12", "2026-Q4", "2026-H2", "2026"):
        assert produced_on[period] == date(2027, 1, 4), period
    w53 = group["2026-W53"]
    assert "重点项目周通报（2026-W53，截至 2026-12-31）" in w53 and "序时进度 100.0%" in w53
    assert "年度累计完成 271,802.0 万元，占年度计划 790,603.0 万元的 34.4%" in w53, w53
    titles = {"2026-12": "重点项目月通报（2026-12，2026-12-01 至 2026-12-31）",
              "2026-Q4": "重点项目季度调度（2026-Q4，2026-10-01 至 2026-12-31）",
              "2026-H2": "重点项目半年讲评（2026-H2，2026-07-01 至 2026-12-31）",
              "2026": "重点项目年终考核（2026，2026-01-01 至 2026-12-31）"}
    for period, title in titles.items():
        text = group[period]
        assert title in text, text
        if period == "2026":  # the whole year: its 本期 is the year's total, the ledger's base in it, said once
            assert "全年累计完成投资 271,802.0 万元，占年度计划 790,603.0 万元的 34.4%" in text, text
            assert "本期完成投资" not in text
            continue
        # 武杰's nine December reports (the ledger's base is of the year before the period opened: not in 本期);
        # 2026's total with the ledger's base (ZD2026-002's 2027 report not in it)
        assert "本期完成投资 900.0 万元；年度累计完成 271,802.0 万元" in text, text
    assert "牵头单位考核得分" in group["2026"] and "投资 " in group["2026"]

    # --- 2027: ranked against its own plans once they are in; the correction noted, not hidden ----------
    w01 = group["2027-W01"]
    assert produced_on["2027-W01"] == date(2027, 1, 11)
    assert "43 个重点项目" in w01 and "年度累计完成 100.0 万元" in w01, w01  # ZD2026-002's 01-04 report
    assert f"上期数据更正</b>：{CORRECTED}" in w01, w01
    january = group["2027-01"]
    assert produced_on["2027-01"] == date(2027, 2, 1)
    assert "重点项目月通报（2027-01，2027-01-01 至 2027-01-31）" in january
    assert "年初以来累计完成投资 150.0 万元，占年度计划" in january and "本期完成投资" not in january, january
    assert f"上期数据更正</b>：{CORRECTED}" in january, january  # December's figure changed after it went out

    # --- the 春节 break: both weeks whose due day falls after it get their bulletin ----------------------
    assert produced_on["2027-W04"] == date(2027, 2, 1)
    assert produced_on["2027-W05"] == produced_on["2027-W06"] == date(2027, 2, 15)
    assert "（2027-W05，截至 2027-02-07）" in group["2027-W05"] and "（2027-W06，截至 2027-02-14）" in group["2027-W06"]

    async with tg.session() as session:
        plans = (await session.execute(select(AnnualPlan.year, Project.code, AnnualPlan.amount)
                                       .join(Project, Project.id == AnnualPlan.project_id))).all()
        sent = sorted((b.kind, b.period) for b in (await session.scalars(select(Bulletin))).all())
    weekly = [period for kind, period in sent if kind == "weekly"]
    assert weekly == ["2026-W51", "2026-W52", "2026-W53", *(f"2027-W{n:02d}" for n in range(1, 7))], weekly
    of_2026 = {code: amount for year, code, amount in plans if year == 2026}
    assert len(of_2026) == 42 and of_2026["ZD2026-001"] == 40800  # 2026's plans stay
    assert re.search(r"ZD2027-001", " ".join(code for year, code, _ in plans if year == 2027))


async def test_2026_figures_read_after_the_2027_import_are_those_the_annual_bulletin_gave(
        december: TelegramHarness, settings: Settings) -> None:  # noqa: F811
    tg = december
    await tg.bind(ADMIN, ADMIN_NAME, "admin")
    tg.clock.set(at(date(2027, 1, 8), 10))
    async with tg.session() as session:
        before = totals((await current_standings(session, today=date(2027, 1, 8),
                                                         cutoff=date(2026, 12, 31))).projects)
    await tg.send(ADMIN, "/import")
    await send_document(tg, ADMIN, "2027年台账.xlsx", ledger_2027())
    assert "导入完成" in (await tg.press(ADMIN, "确认")).text
    async with tg.session() as session:
        after = totals((await current_standings(session, today=date(2027, 1, 8),
                                                        cutoff=date(2026, 12, 31))).projects)
    assert before.done == 270902 and after.done == before.done, (before, after)


async def test_mine_says_when_the_day_is_read_from_the_estimated_calendar(
        december: TelegramHarness) -> None:  # noqa: F811
    tg = december
    await tg.bind(HAO, "郝芳")
    await tg.bind(ADMIN, ADMIN_NAME, "admin")
    tg.clock.set(at(date(2027, 2, 5), 10))  # 除夕 in the estimate (the library's festival dates)
    mine = await tg.send(HAO, "/mine")
    assert "<b>我的项目</b>（2027-02-05，春节，按预估日历）" in mine.text and "无需填报" in mine.text, mine
    await tg.send(ADMIN, "/calendar 2027 official")
    mine = await tg.send(HAO, "/mine")
    assert "<b>我的项目</b>（2027-02-05，春节）" in mine.text, mine


async def test_the_2027_ledger_imported_before_the_2026_annual_bulletin_leaves_2026_its_base(
        december: TelegramHarness, settings: Settings) -> None:  # noqa: F811
    """Imported the day after New Year's Day, the 2027 ledger goes in at once; the 2026 annual bulletin (Monday 01-04)
    still counts 2026's ledger base: each year keeps its own."""
    office = Office(december, settings)
    tg = december
    await office.setup(*PEOPLE)
    await tg.bind(ADMIN, ADMIN_NAME, "admin")
    office.travel(at(date(2027, 1, 2), 10))
    await tg.send(ADMIN, "/import")
    preview = await send_document(tg, ADMIN, "2027年台账.xlsx", ledger_2027("2027年1月1日"))
    assert "导入预览" in preview.text and "尚未发出" not in preview.text, preview
    assert "导入完成" in (await tg.press(ADMIN, "确认")).text
    async with tg.session() as session:
        assert await session.scalar(select(AnnualPlan.project_id).where(AnnualPlan.year == 2027)) is not None

    office.travel(at(date(2027, 1, 4), 9))
    assert "2026" in [p.period for p in await office.tick()]
    [annual] = [t for t in texts(GROUP, await office.deliver()) if "年终考核（2026，" in t]
    assert "全年累计完成投资 270,902.0 万元" in annual, annual  # 2026's base still counted
