"""A district office's month, mid-December 2026 into January 2027, played through the real PTB Application and
the fake Bot API, every figure a bulletin names checked against the sum of what the liaisons sent.

The sample ledger (its 42 bases dated 截至上月 30 November, together 270,902 万元; plans 790,603) is imported on
Monday 2026-12-14 at 08:00. Then:

- 12-14 郝芳 (ZD2026-001, base 26,051) reports 500万, with HTML in the progress; 武杰 (ZD2026-002, base 0) 1.2亿;
- 12-15 李海涛 (ZD2026-003, base 1,650, plan 33,000) 三千万; 郝芳 a progress of 5,000 characters (refused, not
  stored); 12-16 武杰 100, corrected the same day to 150;
- 12-17 郝芳 raises W0001 (用地) with HTML in it; 区住建局 does not take it up by 12-18 17:30: on 12-21 it goes
  up to 刘文华, who that day registers leave 12-22 … 12-31 with 孙立新 standing in;
- 12-22 赵芳 accepts and answers; 郝芳 reports 300 with a photo; 12-23 武杰 200万, 李海涛 0.5亿; 12-24 赵芳
  reports it solved and 郝芳 crosses it off (销号), then sends /confirm again;
- 12-28 郝芳 1,000; on 12-29 the 项目办 imports the ledger 截至2026年12月28日: the three bases hold every report
  up to then (ZD2026-001 27,851, ZD2026-002 12,350, ZD2026-003 9,650), ZD2026-003's plan is cut to 30,000;
- 12-30 武杰 50; 12-31 郝芳 100; 2027-01-01 (元旦, estimated) to 01-03 nothing goes out;
- Monday 2027-01-04: 2026-W53, December's monthly, Q4, H2 and the 2026 annual bulletins.

Sums: W51 (to 12-20) 270,902 + 500 + 12,000 + 3,000 + 150 = 286,552; W52 + 300 + 200 + 5,000 = 292,052; the year
+ 1,000 + 50 + 100 = 293,202, against 790,603 − 3,000 = 787,603 (37.2 %). December's 本期 is what came after the
28 December bases: 50 + 100 = 150.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from docx import Document

from bot.clock import FrozenClock
from bot.config import Settings
from jobs import escalation
from tests.admin.admin_support import ADMIN_NAME, wire_admin
from tests.admin.test_admin_import import send_document
from tests.e2e.harness import SAMPLE_LEDGER, TelegramHarness, build_core, e2e_settings
from tests.e2e.test_digests import (
    GROUP,
    HAO,
    LI_HT,
    LIU,
    PEOPLE,
    SHANGHAI,
    SUN,
    WANG,
    WU,
    ZHAO,
    Office,
    _harness,
    texts,
)
from tests.fakes.bot_api import Call, FakeBotAPI

ADMIN = 9001
BASES = Decimal(270_902)  # the sample ledger's 42 bases of 30 November
PLANS = Decimal(790_603)


def at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


def wan(amount: Decimal) -> str:
    return f"{amount:,.1f}"


@pytest.fixture
def settings(fake_api: FakeBotAPI, tmp_path: Path) -> Settings:
    return e2e_settings(fake_api, DATA_DIR=str(tmp_path / "data"))


@pytest.fixture
async def district(fake_api: FakeBotAPI, settings: Settings,
                   monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[TelegramHarness]:
    """The sample ledger imported on Monday 2026-12-14 at 08:00; the admin commands wired in."""
    core = await build_core(settings, FrozenClock(at(date(2026, 12, 14), 8)))
    wire_admin(core.router, monkeypatch)
    async for harness in _harness(fake_api, core, settings):
        yield harness


class Month:
    """The office of the story: its people bound, the jobs run by hand, what each report added."""

    def __init__(self, tg: TelegramHarness, settings: Settings) -> None:
        self.tg = tg
        self.office = Office(tg, settings)
        self.sent: dict[date, Decimal] = {}  # day → the 万元 reported (as corrected) that day, every project

    async def start(self) -> None:
        await self.office.setup(*PEOPLE)
        await self.tg.bind(ADMIN, ADMIN_NAME, "admin")

    def travel(self, day: date, hour: int = 10, minute: int = 0) -> None:
        self.office.travel(at(day, hour, minute))

    async def report(self, user: int, code: str, words: str, amount: Decimal, day: date) -> str:
        """``user`` reports ``words`` (amount and progress) on ``day`` at 10:00, worth ``amount`` 万元."""
        self.travel(day)
        saved = (await self.tg.send(user, f"/report {code} {words}")).text
        assert "✅ 已记录填报" in saved, saved
        self.sent[day] = self.sent.get(day, Decimal(0)) + amount
        return saved

    def done_by(self, day: date) -> Decimal:
        """The year's completed investment by the end of ``day``, from the bases and what was reported."""
        return BASES + sum((v for d, v in self.sent.items() if d <= day), Decimal(0))

    async def escalate(self) -> list[str]:
        result = await escalation.run(self.tg.core.db, self.tg.clock, self.tg.core.deps.renderer)
        return list(result.actions)

    async def bulletins(self, day: date) -> tuple[list[tuple[str, str]], list[Call]]:
        """The bulletins due at 09:00 on ``day``, and every message sent for them."""
        self.office.travel(at(day, 9))
        produced = [(p.kind, p.period) for p in await self.office.tick()]
        return produced, await self.office.deliver()


def bulletin(calls: list[Call], title: str) -> str:
    [text] = [t for t in texts(GROUP, calls) if title in t]
    return text


def ledger_with_bases_of_december_28() -> bytes:
    """The sample workbook 截至2026年12月28日: the three bases hold their projects' reports up to then,
    ZD2026-003's plan cut to 30,000."""
    book = openpyxl.load_workbook(SAMPLE_LEDGER)
    sheet = book["重点项目包抓责任分解表"]
    sheet["A1"] = "2026年全区重点项目包抓责任分解表(截至2026年12月28日)"
    assert sheet["H2"].value == "年度计划投资(万元)" and sheet["I2"].value == "截至上月累计完成(万元)"
    for row in range(3, sheet.max_row + 1):
        code = sheet.cell(row, 1).value
        if code == "ZD2026-001":
            assert sheet.cell(row, 9).value == 26051
            sheet.cell(row, 9).value = 26051 + 500 + 300 + 1000
        elif code == "ZD2026-002":
            sheet.cell(row, 9).value = 12000 + 150 + 200
        elif code == "ZD2026-003":
            assert sheet.cell(row, 9).value == 1650 and sheet.cell(row, 8).value == 33000
            sheet.cell(row, 9).value = 1650 + 3000 + 5000
            sheet.cell(row, 8).value = 30000
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def _first_week(month: Month) -> None:
    """12-14 … 12-17: the reports, the refused long text, the correction, W0001 raised."""
    tg = month.tg
    saved = await month.report(HAO, "ZD2026-001", "500万 桩基<b>完成</b> & 主体施工", Decimal(500), date(2026, 12, 14))
    assert "桩基&lt;b&gt;完成&lt;/b&gt; &amp; 主体施工" in saved and "年度累计完成：26,551.0 万元" in saved, saved
    saved = await month.report(WU, "ZD2026-002", "1.2亿 清表", Decimal(12000), date(2026, 12, 14))
    assert "1.2亿 = 12,000.0 万元" in saved, saved
    saved = await month.report(LI_HT, "ZD2026-003", "三千万 桩基施工", Decimal(3000), date(2026, 12, 15))
    assert "「三千万」按 3,000 万元计" in saved and "年度累计完成：4,650.0 万元" in saved, saved
    refused = (await tg.send(HAO, "/report ZD2026-001 200 " + "主体施工，" * 1000)).text
    assert "形象进度最多 2000 个字，这次有 5000 个字，未保存" in refused, refused
    await month.report(WU, "ZD2026-002", "100 清表", Decimal(100), date(2026, 12, 16))
    month.travel(date(2026, 12, 16), 15)
    await tg.send(WU, "/correct ZD2026-002 12月16日 150 理由：漏报")
    corrected = (await tg.press(WU, "确认更正")).text
    assert "100.0 万元 → 150.0 万元" in corrected and "2026 年度累计完成 12,150.0 万元" in corrected, corrected
    month.sent[date(2026, 12, 16)] += 50
    month.travel(date(2026, 12, 17))
    raised = (await tg.send(HAO, "/issue ZD2026-001 用地 <script>alert(1)</script> 还有12户未签约 & 拆迁")).text
    assert "编号 <b>W0001</b>，已交办 区住建局" in raised and "受理时限：2026-12-18 17:30" in raised, raised
    inbox = await month.office.deliver()
    [notice] = texts(ZHAO, inbox)
    assert "问题：&lt;script&gt;alert(1)&lt;/script&gt; 还有12户未签约 &amp; 拆迁" in notice, notice


async def _problem_and_leave(month: Month) -> None:
    """12-21 … 12-24: W0001 up to 刘文华, his leave, the answer, 销号, and the reports of those days."""
    tg = month.tg
    month.travel(date(2026, 12, 21))
    assert "代理人 孙立新" in (await tg.send(LIU, "/leave 2026-12-22 2026-12-31 孙立新")).text
    month.travel(date(2026, 12, 21), 17, 31)
    assert await month.escalate() == ["W0001:escalate:1"]
    inbox = await month.office.deliver()
    assert "W0001 因未按时受理，已上报至包抓领导，请批示或协调解决" in "\n".join(texts(LIU, inbox))
    month.travel(date(2026, 12, 22), 9)  # the leave begins: the stand-in is told what waits for him
    await month.escalate()
    inbox = await month.office.deliver()
    told = "\n".join(texts(SUN, inbox))
    assert "由您代为处理其包抓项目的问题" in told and "待您批示或协调的问题（1）：W0001" in told, told
    month.travel(date(2026, 12, 22))
    assert "W0001 已受理" in (await tg.send(ZHAO, "/accept W0001")).text
    assert "承诺完成日期：2026-12-25" in (await tg.send(ZHAO, "/answer W0001 12月25日 协调签约")).text
    inbox = await month.office.deliver()
    stand_in = "\n".join(texts(SUN, inbox))
    assert "W0001 已答复：赵芳" in stand_in, stand_in
    assert not texts(LIU, inbox)  # on leave: his stand-in is told
    month.travel(date(2026, 12, 22))
    photo = (await tg.photo(HAO, "/report ZD2026-001 300 主体施工")).text
    assert "照片 1 张" in photo and "年度累计完成：26,851.0 万元" in photo, photo
    month.sent[date(2026, 12, 22)] = Decimal(300)
    await month.report(WU, "ZD2026-002", "200万 管网", Decimal(200), date(2026, 12, 23))
    saved = await month.report(LI_HT, "ZD2026-003", "0.5亿 桩基", Decimal(5000), date(2026, 12, 23))
    assert "年度累计完成：9,650.0 万元" in saved, saved
    month.travel(date(2026, 12, 24))
    assert "等待提出人确认销号" in (await tg.send(ZHAO, "/resolved W0001 已全部签约")).text
    await month.office.deliver()
    assert "W0001 已确认销号" in (await tg.send(HAO, "/confirm W0001")).text
    again = (await tg.send(HAO, "/confirm W0001")).text
    assert "W0001 已由 郝芳 于 2026-12-24 10:00 确认销号，无需再办理" in again, again
    await month.office.deliver()


async def _reimport(month: Month) -> None:
    """12-29: the ledger 截至2026年12月28日, previewed and confirmed; no year-to-date figure moves."""
    tg = month.tg
    month.travel(date(2026, 12, 29))
    assert "请发送项目台账文件" in (await tg.send(ADMIN, "/import")).text
    preview = (await send_document(tg, ADMIN, "台账1228.xlsx", ledger_with_bases_of_december_28())).text
    assert "累计完成基数截至 2026-12-28（台账注明），基数已含 8 条已有填报" in preview, preview
    for line in ("ZD2026-001 城北高速连接线：本年累计完成 27,851.0 → 27,851.0 万元",
                 "ZD2026-002 滨江四期沿江路：本年累计完成 12,350.0 → 12,350.0 万元",
                 "ZD2026-003 名城二期：本年累计完成 9,650.0 → 9,650.0 万元",
                 "年度计划投资 33,000.0 → 30,000.0 万元"):
        assert line in preview, (line, preview)
    assert "导入完成" in (await tg.press(ADMIN, "确认")).text


async def test_every_bulletin_of_the_month_adds_up_to_what_the_liaisons_sent(
        district: TelegramHarness, settings: Settings) -> None:
    tg = district
    month = Month(tg, settings)
    await month.start()
    await _first_week(month)

    produced, calls = await month.bulletins(date(2026, 12, 21))
    assert produced == [("weekly", "2026-W51")]
    w51 = bulletin(calls, "重点项目周通报（2026-W51")
    assert month.done_by(date(2026, 12, 20)) == 286_552
    assert (f"年度累计完成 {wan(month.done_by(date(2026, 12, 20)))} 万元，占年度计划 {wan(PLANS)} 万元的 36.2%"
            in w51), w51
    # 39 projects owe a report (all but the three finished): 4 project-days reported of 5 × 39 (2.05 %)
    assert "牵头单位填报率</b>（近四周，2026-11-23 至 2026-12-20）：全区 2.1%" in w51, w51
    [liu] = texts(LIU, calls)
    assert "W0001 用地：&lt;script&gt;alert(1)&lt;/script&gt;" in liu, liu

    await _problem_and_leave(month)
    produced, calls = await month.bulletins(date(2026, 12, 28))
    assert produced == [("weekly", "2026-W52")]
    w52 = bulletin(calls, "重点项目周通报（2026-W52")
    assert month.done_by(date(2026, 12, 27)) == 292_052
    assert f"年度累计完成 {wan(month.done_by(date(2026, 12, 27)))} 万元" in w52, w52
    stand_in = "\n".join(texts(SUN, calls))
    assert "（刘文华 请假，您是其代理人：以下是 刘文华 包抓项目的周通报，请代为跟进。）" in stand_in, stand_in
    assert not texts(LIU, calls)

    await month.report(HAO, "ZD2026-001", "1000 路基", Decimal(1000), date(2026, 12, 28))
    await _reimport(month)
    saved = await month.report(WU, "ZD2026-002", "50 管网", Decimal(50), date(2026, 12, 30))
    assert "年度累计完成：12,400.0 万元" in saved, saved
    saved = await month.report(HAO, "ZD2026-001", "100 路基", Decimal(100), date(2026, 12, 31))
    assert "年度累计完成：27,951.0 万元" in saved, saved

    for day in (date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3)):
        assert (await month.bulletins(day))[0] == []  # 元旦 and a weekend: nothing goes out
    produced, calls = await month.bulletins(date(2027, 1, 4))
    assert produced == [("weekly", "2026-W53"), ("monthly", "2026-12"), ("quarterly", "2026-Q4"),
                        ("halfyear", "2026-H2"), ("annual", "2026")]
    year = month.done_by(date(2026, 12, 31))
    plans = PLANS - 3000
    assert year == 293_202 and plans == 787_603
    headline = f"年度累计完成 {wan(year)} 万元，占年度计划 {wan(plans)} 万元的 37.2%"
    assert headline in bulletin(calls, "重点项目周通报（2026-W53"), calls
    december = bulletin(calls, "重点项目月通报（2026-12")
    # 本期: only what came after the bases of 28 December (50 + 100); the note says why
    assert f"本期完成投资 150.0 万元；{headline}（序时进度 100.0%）" in december, december
    assert "12月1日至12月28日完成的投资含在台账累计数中、无法单列" in december, december
    assert "全区：1 / 1 / 0\n区住建局：1 / 1 / 0" in december, december
    annual = bulletin(calls, "重点项目年终考核（2026")
    assert f"全年累计完成投资 {wan(year)} 万元，占年度计划 {wan(plans)} 万元的 37.2%" in annual, annual
    top = "\n".join(texts(WANG, calls))
    assert f"年终考核摘要（2026）</b>：42 个重点项目，{headline}" in top, top

    # the Word bulletins and the Excel ledger the group got say the same
    root = Path(settings.data_dir) / "bulletins"
    word = "\n".join(p.text for p in Document(str(root / "monthly/2026-12/重点项目通报_2026-12.docx")).paragraphs)
    assert f"完成投资150.0万元；年度累计完成投资{wan(year)}万元，占年度计划{wan(plans)}万元的37.2%" in word, word
    word = "\n".join(p.text for p in Document(str(root / "annual/2026/重点项目通报_2026.docx")).paragraphs)
    assert f"2026年1月1日至12月31日累计完成投资{wan(year)}万元，占年度计划{wan(plans)}万元的37.2%" in word, word
    sheet = openpyxl.load_workbook(root / "monthly/2026-12/重点项目台账_2026-12.xlsx", read_only=True)["项目台账"]
    rows = list(sheet.values)
    header = list(rows[0])
    done = {row[header.index("编号")]: row[header.index("累计完成(万元)")] for row in rows[1:]}
    assert (done["ZD2026-001"], done["ZD2026-002"], done["ZD2026-003"]) == (27951, 12400, 9650), done
    assert sum(Decimal(str(v or 0)) for v in done.values()) == year


async def test_the_office_reads_the_half_month_s_missing_reports_one_line_each(
        district: TelegramHarness, settings: Settings) -> None:
    """On 12-18 the 项目办 asks who has not sent the first half of December's written report: one line per project,
    not a blank line after each (thirty projects made a list twice as tall as it needed)."""
    tg = district
    month = Month(tg, settings)
    await month.start()
    month.travel(date(2026, 12, 18))
    status = (await tg.send(ADMIN, "/halfmonth")).text
    assert "2026年12月上半月半月报" in status and "应报送 42 个项目，已报送 0 个，未报送 42 个" in status, status
    lines = status.split("\n")
    listed = [i for i, line in enumerate(lines) if line.startswith("⬜ ZD2026-")]
    assert len(listed) == 30, status
    assert listed == list(range(listed[0], listed[0] + 30)), status  # one after another
    assert lines[listed[-1] + 1] == "……另有 12 个未报送。", status


async def test_the_trend_of_the_week_across_new_year_ends_on_the_weeks_that_went_out(
        district: TelegramHarness, settings: Settings) -> None:
    """W52's digest told 刘文华 12月20日 and 12月27日; W53's (cut at 12-31) goes on from there: 12月27日 → 12月31日,
    with the figure W52 gave for 12月27日, not 12月24日, a day no bulletin was cut on."""
    tg = district
    month = Month(tg, settings)
    await month.start()
    await month.report(HAO, "ZD2026-001", "500万 桩基", Decimal(500), date(2026, 12, 22))
    _produced, calls = await month.bulletins(date(2026, 12, 28))
    w52 = texts(LIU, calls)[0]
    assert "12月20日 57.3%（97.0%） → 12月27日 57.6%（98.9%）" in w52, w52
    await month.report(HAO, "ZD2026-001", "300 路基", Decimal(300), date(2026, 12, 30))
    _produced, calls = await month.bulletins(date(2027, 1, 4))
    [w53] = [t for t in texts(LIU, calls) if "周通报 2026-W53" in t]
    assert "12月27日 57.6%（98.9%） → 12月31日" in w53, w53
    assert "12月24日" not in w53, w53


async def test_a_stand_in_s_instruction_says_whose_place_he_writes_in(
        district: TelegramHarness, settings: Settings) -> None:
    """刘文华 is on leave 12-18 … 12-31 with 孙立新 standing in; W0001 (ZD2026-001, 刘文华's project) goes up to the
    包抓领导 level on 12-21, and 孙立新 writes a 批示 on 12-22: 郝芳 and 区住建局 are told it is written in 刘文华's
    place, as the problem's card and an extension's notice say."""
    tg = district
    month = Month(tg, settings)
    await month.start()
    month.travel(date(2026, 12, 17))
    await tg.send(HAO, "/issue ZD2026-001 用地 还有12户未签约")
    assert "代理人 孙立新" in (await tg.send(LIU, "/leave 2026-12-18 2026-12-31 孙立新")).text
    await month.office.deliver()
    month.travel(date(2026, 12, 21), 17, 31)
    assert await month.escalate() == ["W0001:escalate:1"]
    inbox = await month.office.deliver()
    assert "W0001 因未按时受理，已上报至包抓领导" in "\n".join(texts(SUN, inbox)) and not texts(LIU, inbox)
    month.travel(date(2026, 12, 22))
    assert "批示已送达" in (await tg.send(SUN, "/comment W0001 请住建局抓紧签约")).text
    card = (await tg.send(ZHAO, "/issue W0001")).text
    assert "（包抓领导 刘文华 请假，由代理人 孙立新 代为批示）" in card, card
    inbox = await month.office.deliver()
    for chat in (HAO, ZHAO):
        [notice] = texts(chat, inbox)
        assert "W0001 批示：孙立新（代理 刘文华）" in notice, notice


async def _into_2027(month: Month) -> list[Call]:
    """郝芳 reports 100 on 12-31; 2026's bulletins go out on 2027-01-04; on 01-05 she corrects 12-31 to 200 (2026's
    year now 271,102: the bases and 200) and reports 100 for 01-06; no 2027 plan is in yet. What 2027-W01 sent."""
    tg = month.tg
    await month.report(HAO, "ZD2026-001", "100 路基", Decimal(100), date(2026, 12, 31))
    assert (await month.bulletins(date(2027, 1, 4)))[0][-1] == ("annual", "2026")
    month.travel(date(2027, 1, 5))
    await tg.send(HAO, "/correct ZD2026-001 12月31日 200 路基 理由：漏报")
    corrected = (await tg.press(HAO, "确认更正")).text
    assert "2026 年度累计完成 26,251.0 万元" in corrected and "2026 年终考核" in corrected, corrected
    await month.report(HAO, "ZD2026-001", "100 路基", Decimal(100), date(2027, 1, 6))
    produced, calls = await month.bulletins(date(2027, 1, 11))
    assert produced == [("weekly", "2027-W01")]
    return calls


async def test_a_correction_of_last_year_restates_last_year_s_total(
        district: TelegramHarness, settings: Settings) -> None:
    tg = district
    month = Month(tg, settings)
    await month.start()
    w01 = bulletin(await _into_2027(month), "重点项目周通报（2027-W01")
    assert "上期数据更正</b>：ZD2026-001 城北高速连接线 2026-12-31 填报 100.0 万元更正为 200.0 万元" in w01, w01
    assert "271,102.0" in w01, w01  # 2026's year as corrected, which the 2026 bulletins gave as 271,002


async def test_a_bulletin_before_the_year_s_plans_says_so_in_its_headline(
        district: TelegramHarness, settings: Settings) -> None:
    tg = district
    month = Month(tg, settings)
    await month.start()
    calls = await _into_2027(month)
    w01 = bulletin(calls, "重点项目周通报（2027-W01")
    top = "\n".join(texts(WANG, calls))
    for text in (w01, top):
        assert "年度累计完成 100.0 万元" in text, text
        assert "占年度计划 0.0 万元" not in text and "的 —" not in text, text
