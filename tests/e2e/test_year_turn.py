"""The year turning, end to end through the real PTB Application and the fake Bot API, travelling in time
from Sunday 2026-12-20 to Friday 2027-01-15 with the weekly and monthly-and-up bulletins.

The sample ledger (2026 plans) is imported on 2026-12-20. 武杰 reports 100 万元 on ZD2026-002 on a few
working days either side of New Year. Until the 2027 plans are in, 2027 is measured against no plan:
/rank and /project say so and rank nobody. On 2027-01-08 the admin imports the 2027 ledger (截至 2027-01-07)
through the chat; it lists 36 of the 42 projects, so the six others stay 无年度计划 for 2027 (their 2026
plans are kept, not carried over). The rule for a week spanning two years (README, bot.domain.periods):
it is measured on the year of its Thursday, so 2026-W53 (2026-12-28 … 2027-01-03) is a 2026 week cut
at 31 December, against the 2026 plans.
"""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select

from bot.clock import FrozenClock
from bot.config import Settings
from storage.models import AnnualPlan, Bulletin, Project
from tests.admin.admin_support import ADMIN_NAME, wire_admin
from tests.admin.test_admin_import import send_document
from tests.e2e.harness import SAMPLE_LEDGER, TelegramHarness, build_core
from tests.e2e.test_digests import GROUP, PEOPLE, SHANGHAI, WANG, WU, Office, _harness, days, texts
from tests.fakes.bot_api import FakeBotAPI

ADMIN = 9001
DROPPED = ("ZD2026-036", "ZD2026-037", "ZD2026-038", "ZD2026-039", "ZD2026-040", "ZD2026-041")
REPORT_DAYS = (date(2026, 12, 21), date(2026, 12, 29), date(2026, 12, 30), date(2027, 1, 4), date(2027, 1, 5),
               date(2027, 1, 11))


def at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


def ledger_2027() -> bytes:
    """The sample workbook as the 2027 ledger: titled for 2027 as of 2027-01-07, every plan 10 % up where the
    total allows, nothing done yet but ZD2026-002's two January reports (200 万元), six projects left out.
    (A plan never exceeds the total investment.)"""
    workbook = openpyxl.load_workbook(SAMPLE_LEDGER)
    sheet = workbook["重点项目包抓责任分解表"]
    sheet["A1"] = "2027年全区重点项目包抓责任分解表(截至2027年1月7日)"
    assert sheet["H2"].value == "年度计划投资(万元)" and sheet["I2"].value == "截至上月累计完成(万元)"
    for row in range(sheet.max_row, 2, -1):
        code = sheet.cell(row, 1).value
        if code in DROPPED:
            sheet.delete_rows(row)
        elif isinstance(code, str) and code.startswith("ZD"):
            total = float(sheet.cell(row, 7).value)
            sheet.cell(row, 8).value = min(round(float(sheet.cell(row, 8).value) * 1.1), total)
            sheet.cell(row, 9).value = 200 if code == "ZD2026-002" else 0
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def ranked_codes(text: str) -> list[str]:
    section = text.split("项目排名", 1)[1].split("牵头单位排名", 1)[0]
    return re.findall(r"^\d+\. \S+ (ZD\d{4}-\d{3})", section, re.MULTILINE)


@pytest.fixture
async def december(fake_api: FakeBotAPI, settings: Settings,
                   monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[TelegramHarness]:
    """The sample ledger imported on Sunday 2026-12-20 at 08:00; the admin commands wired in."""
    core = await build_core(settings, FrozenClock(at(date(2026, 12, 20), 8)))
    wire_admin(core.router, monkeypatch)
    async for harness in _harness(fake_api, core, settings):
        yield harness


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def settings(fake_api: FakeBotAPI, data_dir: Path) -> Settings:
    from tests.e2e.harness import e2e_settings
    return e2e_settings(fake_api, DATA_DIR=str(data_dir))


async def test_the_year_turns_with_its_own_plans(december: TelegramHarness, settings: Settings) -> None:
    office = Office(december, settings)
    tg = december
    await office.setup(*PEOPLE)
    await tg.bind(ADMIN, ADMIN_NAME, "admin")

    group: dict[str, str] = {}  # period → the group's bulletin text
    produced_on: dict[str, date] = {}
    ranks: dict[date, str] = {}
    for day in days(date(2026, 12, 20), date(2027, 1, 15)):
        office.travel(at(day))
        periods = [produced.period for produced in await office.tick()]
        current = None
        for text in texts(GROUP, await office.deliver()):  # a bulletin's parts follow its heading
            current = next((p for p in periods if f"（{p}，" in text.split("\n", 1)[0]), current)
            assert current is not None, text
            group[current] = group.get(current, "") + text + "\n"
            produced_on[current] = day
        if day in REPORT_DAYS:
            office.travel(at(day, 9, 30))
            await office.report(WU, "ZD2026-002", "100", "清表完成")
        if day in (date(2026, 12, 30), date(2027, 1, 5), date(2027, 1, 12)):
            office.travel(at(day, 10))
            ranks[day] = (await tg.send(WANG, "/rank")).text
        if day == date(2027, 1, 5):
            card = (await tg.send(WU, "/project ZD2026-002")).text
            assert "2027 年度计划投资：尚未录入" in card and "完成率：—" in card, card
            assert "年度累计完成：200.0 万元" in card, card  # 2027's own reports only
        if day == date(2027, 1, 8):
            office.travel(at(day, 10))
            assert "请发送项目台账文件" in (await tg.send(ADMIN, "/import")).text
            preview = await send_document(tg, ADMIN, "2027年台账.xlsx", ledger_2027())
            assert "导入预览" in preview.text, preview
            assert "年度计划投资按 2027 年度录入，此前各年度的计划保留不变" in preview.text, preview
            assert ("更新项目 ZD2026-001 城北高速连接线：年度计划投资 （未录入） → 44,880.0 万元；"
                    "累计完成基数 26,051.0 → 0.0 万元") in preview.text, preview
            assert "ZD2026-002 滨江四期沿江路：本年累计完成 200.0 → 200.0 万元，基数已含 2 条填报" in preview.text
            assert "导入完成" in (await tg.press(ADMIN, "确认")).text

    # 2026-12-30: a 2026 day, ranked against the 2026 plans.
    assert "暂不排名" not in ranks[date(2026, 12, 30)] and "1. " in ranks[date(2026, 12, 30)]
    # 2027-01-05, before the 2027 plans: nothing is ranked, and /rank says why.
    early = ranks[date(2027, 1, 5)]
    assert "2027 年度计划尚未录入：项目暂不排名，42 个项目均列为无年度计划" in early, early
    assert "暂无可排名项目" in early and not re.search(r"^\d+\. ZD", early, re.MULTILINE)
    # the lead units are ranked all the same, on the parts that need no plan, and /rank says so
    assert "牵头单位不计投资完成，只按填报及时率、问题办理和节点按期率计分排名" in early, early
    assert "牵头单位前三</b>（不计投资完成）：" in early, early
    # 2027-01-12, after: the 36 projects of the 2027 ledger are ranked, the six others are not.
    late = ranks[date(2027, 1, 12)]
    # (ZD2026-012, a land sale, has a plan of 0 in both years: never ranked either.)
    assert "7 个项目尚无 2027 年度计划，列为无年度计划，不参与排名" in late, late

    # The W53 week follows the stated rule: a 2026 week, cut at 31 December, against the 2026 plans.
    w53 = group["2026-W53"]
    assert "重点项目周通报（2026-W53，截至 2026-12-31）" in w53, w53
    assert "序时进度 100.0%" in w53 and "无年度计划 1 个" in w53  # ZD2026-012, planned at 0
    assert "共 41 个，列前、后各 5 个" in w53 and len(ranked_codes(w53)) == 10
    # Praise goes to the top three by completion, none of them at 0 %.
    praised = re.search(r"表扬</b>：(.*)", w53)
    assert praised is not None and "0.0%" not in praised.group(1)

    # The monthly-and-up editions of December and of 2026 went out on the first working day of 2027, on
    # the 2026 figures.
    for period in ("2026-12", "2026-Q4", "2026-H2", "2026"):
        assert period in group, sorted(group)
        assert produced_on[period] >= date(2027, 1, 1)
        assert "2026-12-31" in group[period] and "无年度计划 1 个" in group[period], group[period]

    # 2027-W01 (01-04 … 01-10), due 01-11, after the import: ranked against the 2027 plans.
    w01 = group["2027-W01"]
    assert produced_on["2027-W01"] == date(2027, 1, 11)
    assert "截至 2027-01-10" in w01
    ranked = ranked_codes(w01)
    assert "共 35 个，列前、后各 5 个" in w01 and len(ranked) == 10 and not set(ranked) & {*DROPPED, "ZD2026-012"}
    assert "无年度计划 7 个，不参与排名" in w01, w01
    assert "无年度计划（不排名）：ZD2026-012 粮库地块挂牌出让、ZD2026-036" in w01
    # ZD2026-002 is the only project with anything done in 2027 (its 200 万元): the only one praised.
    praised = re.search(r"表扬</b>：(.*)", w01)
    assert praised is not None and praised.group(1).startswith("ZD2026-002") and "、" not in praised.group(1)
    assert "<b>预警</b>" not in w01  # nobody is red in the first days of a year (late starts are listed apart)

    # Each year keeps its own plan: 2026's for all 42, 2027's for the 36 of the 2027 ledger.
    async with tg.session() as session:
        plans = (await session.execute(select(AnnualPlan.year, Project.code, AnnualPlan.amount)
                                       .join(Project, Project.id == AnnualPlan.project_id))).all()
        sent = [(b.kind, b.period) for b in (await session.scalars(select(Bulletin))).all()]
    by_year: dict[int, dict[str, Decimal]] = {}
    for year, code, amount in plans:
        by_year.setdefault(year, {})[code] = amount
    assert len(by_year[2026]) == 42 and len(by_year[2027]) == 36
    assert by_year[2026]["ZD2026-001"] == Decimal(40800) and by_year[2027]["ZD2026-001"] == Decimal(44880)
    assert ("weekly", "2026-W53") in sent and ("weekly", "2027-W01") in sent


async def test_a_due_period_without_any_data_is_skipped_with_a_notice(december: TelegramHarness,
                                                                      settings: Settings) -> None:
    """Nobody imported 2027's plans or reported in 2027: when 2027-W51 falls due, there is nothing to
    measure. The tick sends no bulletin, tells the admins once, and records nothing (it can go out later,
    once data is in)."""
    office = Office(december, settings)
    await office.setup(*PEOPLE, monthly=False)
    await december.bind(ADMIN, ADMIN_NAME, "admin")
    office.travel(at(date(2027, 12, 27), 9, 5))  # 2027-W51 (12-20 … 12-26) is due on Monday 2027-12-27

    assert await office.tick() == []
    calls = await office.deliver()
    [notice] = texts(ADMIN, calls)
    assert "2027-W51 无数据" in notice and "本期未发送" in notice, notice
    assert texts(GROUP, calls) == []
    assert await office.bulletins() == []
    office.travel(at(date(2027, 12, 27), 10))  # the next tick says nothing again
    assert await office.tick() == [] and await office.deliver() == []


async def test_a_december_report_corrected_in_january_names_the_bulletins_that_counted_it(
        december: TelegramHarness, settings: Settings) -> None:
    """武杰 reported 100 万元 on 2026-12-30 and corrects it to 300 on 2027-01-05, after the first working day of
    2027 sent 2026-W53 and the December, Q4, H2 and 2026 bulletins. He is told which of them counted the day
    (they are not sent again) and 2026's total; the next weekly bulletin notes the correction."""
    office = Office(december, settings)
    tg = december
    await office.setup(*PEOPLE)
    office.travel(at(date(2026, 12, 30), 9, 30))
    await office.report(WU, "ZD2026-002", "100", "清表完成")
    office.travel(at(date(2027, 1, 4), 9))
    assert [p.period for p in await office.tick()] == ["2026-W53", "2026-12", "2026-Q4", "2026-H2", "2026"]
    await office.deliver()
    office.travel(at(date(2027, 1, 4), 9, 30))
    await office.report(WU, "ZD2026-002", "100", "清表完成")  # 2027's first report: not 2026's

    office.travel(at(date(2027, 1, 5), 10))
    asked = await tg.send(WU, "/correct ZD2026-002 12月30日 300 理由：漏报材料款")
    sent = "2026-W53 周通报、2026-12 月通报、2026-Q4 季度调度、2026-H2 半年讲评、2026 年终考核"
    assert f"该日数据已计入已发出的{sent}；已发出的通报不再改动，各类通报的下一期将注明本次更正" in asked.text, asked
    done = await tg.press(WU, "确认更正")
    assert "2026 年度累计完成 300.0 万元" in done.text, done  # the 12-30 report, corrected; not 2027's 100
    assert f"该日数据已计入已发出的{sent}" in done.text, done
    card = await tg.send(WU, "/project ZD2026-002")
    assert "年度累计完成：100.0 万元" in card.text, card  # 2027's own figure is untouched

    office.travel(at(date(2027, 1, 11), 9))
    assert [p.period for p in await office.tick()] == ["2027-W01"]
    [w01] = [t for t in texts(GROUP, await office.deliver()) if "上期数据更正" in t]
    assert ("上期数据更正</b>：ZD2026-002 滨江四期沿江路 2026-12-30 填报 100.0 万元更正为 300.0 万元"
            "（理由：漏报材料款）") in w01, w01


async def test_a_correction_of_a_day_no_bulletin_counted_yet_names_none(december: TelegramHarness,
                                                                        settings: Settings) -> None:
    office = Office(december, settings)
    await office.setup(*PEOPLE)
    office.travel(at(date(2026, 12, 21), 9, 30))
    await office.report(WU, "ZD2026-002", "100", "清表完成")
    office.travel(at(date(2026, 12, 22), 10))
    asked = await december.send(WU, "/correct ZD2026-002 12月21日 300 理由：漏报材料款")
    assert "确认后以更正后的数字计入统计和排名" in asked.text and "已发出" not in asked.text, asked
    done = await december.press(WU, "确认更正")
    assert "2026 年度累计完成 300.0 万元" in done.text and "已发出" not in done.text, done
