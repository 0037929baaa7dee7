"""The district office's December, read as its leaders read it: what a ledger imported mid-month does to the
corrections, 补报 and 竣工 entered in the chat before it.

The sample ledger is imported on Tuesday 2026-12-01 at 08:00 (its 截至上月 base: 30 November). 武杰 (ZD2026-002,
plan 21,000 万元, base 0) reports 300万 on 12-01 and 100 on 12-04, and corrects 12-04 to 150 on 12-07; 2026-W49
went out on 12-07 at 09:00, so 2026-W50 (sent 12-14) notes that correction. On Tuesday 12-15 the 项目办 imports
the ledger again, now 截至2026年12月14日: ZD2026-002's 累计完成 is 450 (300 + 150), every other base as
before, re-dated 12-14. From then on the days up to 12-14 are in the bases, and nothing reported for them counts
again (README, "Year-to-date is a dated baseline plus later reports"):

- on 12-16 the 项目办 corrects ZD2026-002's 12-04 report from 150 to 200 and enters a 补报 of 80 for ZD2026-003
  on 12-09: neither changes a figure (ZD2026-002 stays at 450 until 武杰 reports 100 on 12-16: 550; ZD2026-003
  stays at its base, 1,650), so 2026-W51 (sent 12-21) has no 上期数据更正 line claiming they did;
- a 竣工 the 项目办 confirmed in the chat on 12-15 (ZD2026-036, planned to finish 2026-12-30) is not undone
  by the re-import of a ledger that still lists it 在建;
- a ledger whose 截至 day is still to come does not hold the reports sent until then.

And a morning's report does not move its unit in /rank while the day is under way (as in 填报率).
"""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select

from bot.clock import FrozenClock
from bot.config import Settings
from bot.services.standings import standings_and_changes
from storage.models import Project
from tests.admin.admin_support import ADMIN_NAME, wire_admin
from tests.admin.test_admin_import import send_document
from tests.e2e.harness import SAMPLE_LEDGER, TelegramHarness, build_core, e2e_settings
from tests.e2e.test_digests import GROUP, HAO, LI_HT, PEOPLE, SHANGHAI, WANG, WU, ZHAO, Office, _harness, texts
from tests.fakes.bot_api import FakeBotAPI

ADMIN = 9001
OTHER_ADMIN = 9002  # 吴静, made a second admin of the office


def at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


def ledger_as_of_december_14() -> bytes:
    """The sample workbook dated 截至2026年12月14日, ZD2026-002's 累计完成 450 万元 (its reports to date)."""
    workbook = openpyxl.load_workbook(SAMPLE_LEDGER)
    sheet = workbook["重点项目包抓责任分解表"]
    sheet["A1"] = "2026年全区重点项目包抓责任分解表(截至2026年12月14日)"
    assert sheet["I2"].value == "截至上月累计完成(万元)"
    for row in range(3, sheet.max_row + 1):
        if sheet.cell(row, 1).value == "ZD2026-002":
            sheet.cell(row, 9).value = 450
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@pytest.fixture
def settings(fake_api: FakeBotAPI, tmp_path: Path) -> Settings:
    return e2e_settings(fake_api, DATA_DIR=str(tmp_path / "data"))


@pytest.fixture
async def district(fake_api: FakeBotAPI, settings: Settings,
                   monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[TelegramHarness]:
    """The sample ledger imported on Tuesday 2026-12-01 at 08:00; the admin commands wired in."""
    core = await build_core(settings, FrozenClock(at(date(2026, 12, 1), 8)))
    wire_admin(core.router, monkeypatch)
    async for harness in _harness(fake_api, core, settings):
        yield harness


async def _weekly(office: Office, day: date) -> str:
    """The group's bulletin text of the week due on ``day`` (09:00)."""
    office.travel(at(day, 9))
    produced = [p.period for p in await office.tick()]
    assert len(produced) == 1, produced
    return "\n".join(texts(GROUP, await office.deliver()))


async def _reimport(tg: TelegramHarness, office: Office, by: int = ADMIN) -> str:
    """The 项目办 (admin ``by``) imports the ledger dated 12-14 on 12-15 at 10:00; the preview's text."""
    office.travel(at(date(2026, 12, 15), 10))
    assert "请发送项目台账文件" in (await tg.send(by, "/import")).text
    preview = await send_document(tg, by, "台账.xlsx", ledger_as_of_december_14())
    assert "累计完成基数截至 2026-12-14（台账注明）" in preview.text, preview
    assert "导入完成" in (await tg.press(by, "确认")).text
    return preview.text


async def _corrections_before_the_base(tg: TelegramHarness, office: Office) -> tuple[str, str]:
    """On 12-16 the 项目办 corrects ZD2026-002's 12-04 (150 → 200) and enters ZD2026-003's 12-09 (80), both days
    in the 12-14 bases; 武杰 reports 100 for 12-16. The reply to 确认更正, and the one to the 补报 (refused: the
    base holds that day)."""
    office.travel(at(date(2026, 12, 16), 10))
    await tg.send(ADMIN, "/correct ZD2026-002 12月4日 200 理由：发票补齐")
    corrected = (await tg.press(ADMIN, "确认更正")).text
    entered = (await tg.send(ADMIN, "/correct ZD2026-003 12月9日 80 桩基施工 理由：漏报")).text
    office.travel(at(date(2026, 12, 16), 10, 30))
    await office.report(WU, "ZD2026-002", "100", "清表")
    return corrected, entered


async def _wu_reports(tg: TelegramHarness, office: Office, *, on_the_4th: str) -> None:
    """The people bound, the admin too; 武杰 reports 300万 on 12-01 and ``on_the_4th`` on 12-04."""
    await office.setup(*PEOPLE)
    await tg.bind(ADMIN, ADMIN_NAME, "admin")
    office.travel(at(date(2026, 12, 1), 10))
    await office.report(WU, "ZD2026-002", "300万", "清表")
    office.travel(at(date(2026, 12, 4), 10))
    await office.report(WU, "ZD2026-002", on_the_4th, "清表")


async def _first_fortnight(tg: TelegramHarness, office: Office) -> None:
    """12-01 … 12-14: 武杰's reports and correction, W49 and W50 sent (W50 noting the correction)."""
    await _wu_reports(tg, office, on_the_4th="100")
    w49 = await _weekly(office, date(2026, 12, 7))
    assert "重点项目周通报（2026-W49，截至 2026-12-06）" in w49 and "上期数据更正" not in w49
    office.travel(at(date(2026, 12, 7), 10))
    await tg.send(WU, "/correct ZD2026-002 12月4日 150 理由：漏报材料款")
    assert "2026 年度累计完成 450.0 万元" in (await tg.press(WU, "确认更正")).text
    w50 = await _weekly(office, date(2026, 12, 14))
    assert ("上期数据更正</b>：ZD2026-002 滨江四期沿江路 2026-12-04 填报 100.0 万元更正为 150.0 万元"
            "（理由：漏报材料款）") in w50, w50
    # the 42 bases of 30 November (270,902) and 武杰's 300 + 150
    assert "年度累计完成 271,352.0 万元，占年度计划 790,603.0 万元的 34.3%" in w50, w50


async def test_a_correction_of_a_day_in_the_ledger_base_is_no_correction_in_the_next_bulletin(
        district: TelegramHarness, settings: Settings) -> None:
    tg = district
    office = Office(tg, settings)
    await _first_fortnight(tg, office)
    await _reimport(tg, office)
    await _corrections_before_the_base(tg, office)

    card = (await tg.send(WU, "/project ZD2026-002")).text
    assert "年度累计完成：550.0 万元" in card, card  # 450 (the 12-14 base) + 100 (12-16); not 600
    card = (await tg.send(LI_HT, "/project ZD2026-003")).text
    assert "年度累计完成：1,650.0 万元" in card, card  # the base; the 12-09 补报 is inside it

    w51 = await _weekly(office, date(2026, 12, 21))
    assert "重点项目周通报（2026-W51，截至 2026-12-20）" in w51
    # the correction and the 补报 changed no figure of W50 (nor of any other): nothing to note
    assert "上期数据更正" not in w51, w51
    # the bases (ZD2026-002's now 450 in place of its reports' 450) and 武杰's 100 of 12-16: +100 on W50
    assert "年度累计完成 271,452.0 万元" in w51, w51


async def test_the_office_is_told_a_correction_inside_the_ledger_base_changes_no_figure(
        district: TelegramHarness, settings: Settings) -> None:
    """The reply to 确认更正 must not tell the 项目办 the figures were worked out again with the new amount: the
    day lies within the ledger's 截至 day, the year's figure it quotes is the one before (450 for ZD2026-002); a
    补报 of such a day (ZD2026-003's 12-09) is refused, and its figure stays 1,650."""
    tg = district
    office = Office(tg, settings)
    await _first_fortnight(tg, office)
    await _reimport(tg, office)
    corrected, entered = await _corrections_before_the_base(tg, office)
    assert "2026 年度累计完成 450.0 万元（不变）" in corrected, corrected
    assert "台账累计完成截至 2026-12-14，已包含 2026-12-04 完成的投资，这次更正不改变统计和排名" in corrected, corrected
    assert "统计和排名已按更正后的数字重新计算" not in corrected, corrected
    assert "台账累计完成截至 2026-12-14，已包含 2026-12-09 完成的投资" in entered and "无从补报" in entered, entered
    assert "统计和排名已计入这一天" not in entered, entered


async def test_a_backfill_confirmed_after_an_import_whose_base_holds_its_day_is_refused(
        district: TelegramHarness, settings: Settings) -> None:
    """ZD2026-003's 补报 of 12-09 is shown for 确认 on 12-15 at 09:30, when the base still ends on 11-30; at 10:00
    another admin of the office imports the ledger dated 12-14; 确认补报 pressed then is refused as /correct would
    refuse it now, and the year's figure stays the base's 1,650."""
    tg = district
    office = Office(tg, settings)
    await _first_fortnight(tg, office)
    office.travel(at(date(2026, 12, 15), 9, 30))
    shown = await tg.send(ADMIN, "/correct ZD2026-003 12月9日 80 桩基施工 理由：漏报")
    assert "确认补报" in shown.buttons, shown
    await tg.bind(OTHER_ADMIN, "吴静", "admin")
    await _reimport(tg, office, by=OTHER_ADMIN)
    refused = (await tg.press(ADMIN, "确认补报")).text
    assert "台账累计完成截至 2026-12-14，已包含 2026-12-09 完成的投资" in refused and "无从补报" in refused, refused
    assert "已补报" not in refused, refused
    card = (await tg.send(LI_HT, "/project ZD2026-003")).text
    assert "年度累计完成：1,650.0 万元" in card, card


async def test_a_finish_confirmed_in_the_chat_outlives_a_ledger_that_predates_it(
        district: TelegramHarness, settings: Settings) -> None:
    """ZD2026-036 (五星级酒店, 在建, planned to finish 2026-12-30) is confirmed finished on 12-15 by the 项目办;
    the ledger imported an hour later was drawn up before and still says 在建. 竣工率 of 2026 was 3 of the 15
    projects planned to finish in it; with ZD2026-036 it is 4/15 = 26.7 %."""
    tg = district
    office = Office(tg, settings)
    await office.setup(*PEOPLE)
    await tg.bind(ADMIN, ADMIN_NAME, "admin")
    w50 = await _weekly(office, date(2026, 12, 14))
    assert "竣工率 20.0%（3/15）" in w50, w50
    office.travel(at(date(2026, 12, 15), 9, 30))
    assert "已确认于 2026-12-15 竣工" in (await tg.send(ADMIN, "/finished ZD2026-036 12月15日")).text
    preview = await _reimport(tg, office)
    assert "ZD2026-036 五星级酒店：建设阶段 竣工 → 在建" not in preview, preview
    assert ("ZD2026-036 五星级酒店 已于 2026-12-15 在系统中登记为「竣工」，晚于台账的截至日期，台账仍为「在建」："
            "保留「竣工」") in preview, preview

    async with tg.session() as session:
        stage = await session.scalar(select(Project.stage).where(Project.code == "ZD2026-036"))
    assert stage == "竣工"
    w51 = await _weekly(office, date(2026, 12, 21))
    assert "竣工率 26.7%（4/15）" in w51, w51


async def test_the_office_may_take_the_ledger_s_stage_over_a_finish_confirmed_after_its_day(
        district: TelegramHarness, settings: Settings) -> None:
    """The same 竣工 of ZD2026-036 and ledger of 12-14: the 项目办 presses 「1 用台账」 (it had confirmed the wrong
    project), and the import sets it 在建 again."""
    tg = district
    office = Office(tg, settings)
    await office.setup(*PEOPLE)
    await tg.bind(ADMIN, ADMIN_NAME, "admin")
    office.travel(at(date(2026, 12, 15), 9, 30))
    await tg.send(ADMIN, "/finished ZD2026-036 12月15日")
    office.travel(at(date(2026, 12, 15), 10))
    await tg.send(ADMIN, "/import")
    preview = await send_document(tg, ADMIN, "台账.xlsx", ledger_as_of_december_14())
    assert "1. ZD2026-036 五星级酒店 已于 2026-12-15 在系统中登记为「竣工」" in preview.text, preview.text
    chosen = await tg.press(ADMIN, "1 用台账")
    assert "按台账改为「在建」" in chosen.text, chosen.text
    assert "导入完成" in (await tg.press(ADMIN, "确认")).text
    async with tg.session() as session:
        stage = await session.scalar(select(Project.stage).where(Project.code == "ZD2026-036"))
    assert stage == "在建"


async def test_a_report_sent_today_does_not_move_the_units_in_rank_before_the_day_is_over(
        district: TelegramHarness, settings: Settings) -> None:
    """Today counts only once it is over (README, 填报率: liaisons have until the evening): at 09:45 on Tuesday
    12-08, 郝芳's report of the morning (0 万元, so that no money moves either) leaves 区住建局's score in /rank
    where it was at 09:00, as the 填报率 of the day leaves it."""
    tg = district
    office = Office(tg, settings)
    await office.setup(*PEOPLE)
    office.travel(at(date(2026, 12, 8), 9))
    before = (await tg.send(WANG, "/rank")).text
    office.travel(at(date(2026, 12, 8), 9, 30))
    await office.report(HAO, "ZD2026-001", "0", "雨天停工")
    office.travel(at(date(2026, 12, 8), 9, 45))
    after = (await tg.send(WANG, "/rank")).text
    units = re.compile(r"牵头单位前三</b>：(.*)")
    found_before, found_after = units.search(before), units.search(after)
    assert found_before is not None and found_after is not None, (before, after)
    assert found_after.group(1) == found_before.group(1), (before, after)


async def test_a_ledger_dated_after_today_does_not_swallow_the_reports_to_come(
        district: TelegramHarness, settings: Settings) -> None:
    """On 12-15 the 项目办 sends a ledger whose title says 截至2026年12月31日 (a slip for 12月14日). A base counts
    up to its day, so taken as it is, every report of 12-16 … 12-31 would be in it and never count: 武杰's 100 万元
    of 12-16 would leave ZD2026-002 at 450. Refused, or its day not taken, the report counts: 550 either way
    (300 + 150 before, or the file's 450, and 100)."""
    tg = district
    office = Office(tg, settings)
    await _wu_reports(tg, office, on_the_4th="150")

    office.travel(at(date(2026, 12, 15), 10))
    await tg.send(ADMIN, "/import")
    book = openpyxl.load_workbook(io.BytesIO(ledger_as_of_december_14()))  # its title then mistyped
    book["重点项目包抓责任分解表"]["A1"] = "2026年全区重点项目包抓责任分解表(截至2026年12月31日)"
    out = io.BytesIO()
    book.save(out)
    preview = await send_document(tg, ADMIN, "台账.xlsx", out.getvalue())
    if "确认" in preview.buttons:
        await tg.press(ADMIN, "确认")
    office.travel(at(date(2026, 12, 16), 10))
    saved = await tg.send(WU, "/report ZD2026-002 100 清表")
    assert "年度累计完成：550.0 万元" in saved.text, (preview.text, saved.text)


async def test_on_a_monday_morning_rank_compares_the_units_without_the_week_s_punctuality(
        district: TelegramHarness, settings: Settings) -> None:
    """Monday 12-14 at 09:00: no working day of the week is over, so the units' scores have no 按时填报; Sunday's
    (the last period's) had last week's, when almost nobody reported. Compared like with like (Sunday's scores
    restated without 按时填报), nothing but a day of 序时进度 moves a unit: no jump of several points and places
    from a part only Sunday measured."""
    tg = district
    office = Office(tg, settings)
    await office.setup(*PEOPLE)
    office.travel(at(date(2026, 12, 14), 9))
    async with tg.session() as session:
        now, changes = await standings_and_changes(session, today=date(2026, 12, 14))
    assert changes.since == date(2026, 12, 13)
    scored = [g for g in now.units if g.score is not None]
    assert scored and all(g.punctuality is None for g in scored)  # no day of the week over yet
    moved = {g.name: changes.units[g.name] for g in scored}
    assert all(c.points is not None and abs(c.points) < 1.0 for c in moved.values()), moved
    # the unit's handler reads why its score has no 按时填报, and its place since Sunday
    text = (await tg.send(ZHAO, "/rank")).text
    unit = next(g for g in now.units if g.name == "区住建局")
    assert (f"<b>区住建局</b>：牵头单位第 {unit.rank}/{len(scored)} 名，综合得分 {unit.score:.1f}"
            "（本周尚无已过完的应填报日，暂不计按时填报）") in text, text
