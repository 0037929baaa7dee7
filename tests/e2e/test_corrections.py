"""Corrections of past reports end to end through Telegram (the real PTB Application and the fake Bot API).

The week: Monday 2026-11-23 to Friday 11-27, all working days. 郝芳 (1001) is the liaison of ZD2026-001
(plan 40,800 万元), 武杰 (1002) of ZD2026-002; the admin is 管理员(区重大项目办). On Tuesday 郝芳 types 8500
for 850; on Thursday, two working days later, she corrects it. A liaison may correct the last 3 working
days (CORRECT_WINDOW_DAYS' default); older reports only the admin.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from bot.channels.base import RateLimits
from bot.channels.telegram_transport import TelegramTransport
from bot.clock import SHANGHAI
from bot.services.outbox import OutboxSender
from jobs import digests
from storage.models import BulletinGroup, ReportSum
from tests.e2e.harness import TelegramHarness

HAO, WU, ADMIN = 1001, 1002, 9001
ADMIN_NAME = "管理员(区重大项目办)"
CODE = "ZD2026-001"
GROUP = -1001234567890
YTD = re.compile(r"年度累计完成：([0-9,.]+) 万元")
MY_RATE = re.compile(rf"{CODE} 城北高速连接线：第 \S+ 名，完成率 ([0-9.]+)%")


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


def ytd(text: str) -> Decimal:
    found = YTD.search(text)
    assert found, text
    return Decimal(found[1].replace(",", ""))


@pytest.fixture
async def office(telegram: TelegramHarness) -> TelegramHarness:
    """郝芳, 武杰 and the admin bound; 郝芳 reports Monday to Wednesday, with a slip on Tuesday."""
    await telegram.bind(HAO, "郝芳", "liaison")
    await telegram.bind(WU, "武杰", "liaison")
    await telegram.bind(ADMIN, ADMIN_NAME, "admin")
    for day, line in [(23, "850 桩基施工"), (24, "8500 桩基完成"), (25, "900 承台施工")]:
        telegram.clock.set(at(11, day, 17))
        assert "已记录" in await telegram.send(HAO, f"/report {CODE} {line}")
    return telegram


async def _sum_of_year(tg: TelegramHarness) -> Decimal:
    project_id = (await tg.reports())[0].project_id
    async with tg.session() as session:
        sums = await session.get(ReportSum, (project_id, 2026))
        assert sums is not None
        return sums.amount


async def test_a_slip_corrected_two_working_days_later(office: TelegramHarness) -> None:
    tg = office
    tg.clock.set(at(11, 26))  # Thursday
    assert "/correct" in await tg.send(HAO, "/help") and "更正近几个工作日的填报" in await tg.send(HAO, "/help")
    before = await tg.send(HAO, f"/project {CODE}")
    rate_before = MY_RATE.search((await tg.send(HAO, "/rank")).text)
    assert rate_before, "no rank line"
    assert await _sum_of_year(tg) == Decimal(10250)

    asked = await tg.send(HAO, f"/correct {CODE} 11-24 850 桩基完成 理由：多写了一个零")
    assert "2026-11-24 原填报：本期完成投资 8,500.0 万元，桩基完成（郝芳" in asked.text
    assert "更正为：本期完成投资 850（未写单位，按万元计）= 850.0 万元" in asked.text
    assert "更正理由：多写了一个零" in asked.text and asked.buttons == ["确认更正", "取消"]
    assert "= 850.0 万元，桩基完成\n更正理由" in asked.text  # the reason on a line of its own
    assert await _sum_of_year(tg) == Decimal(10250)  # nothing changes before 确认

    done = await tg.press(HAO, "确认更正")
    assert "已更正 ZD2026-001 城北高速连接线 2026-11-24 的填报：本期完成投资 8,500.0 万元 → 850.0 万元" in done.text
    assert await _sum_of_year(tg) == Decimal(2600)  # the trigger-kept sum: 850 + 850 + 900
    versions = await tg.reports(withdrawn=None)
    assert [(r.local_day.day, r.amount, r.withdrawn_at is None) for r in versions] == [
        (23, Decimal(850), True), (24, Decimal(8500), False), (25, Decimal(900), True), (24, Decimal(850), True)]
    assert versions[3].replaces_id == versions[1].id

    after = await tg.send(HAO, f"/project {CODE}")
    assert ytd(before.text) - ytd(after.text) == Decimal(7650)
    assert "联络员：郝芳\n<b>填报更正记录</b>\n" in after.text  # a heading of its own, not glued to the liaison
    assert ("2026-11-24 原填报 8,500.0 万元（桩基完成），郝芳填报 → 更正为 850.0 万元，郝芳 2026-11-26 10:00 更正，"
            "理由：多写了一个零") in after.text
    rate_after = MY_RATE.search((await tg.send(HAO, "/rank")).text)
    assert rate_after and float(rate_before[1]) - float(rate_after[1]) == pytest.approx(7650 / 40800 * 100, abs=0.11)

    # the audit trail says it in Chinese, who and why
    audit = await tg.send(ADMIN, f"/audit {CODE}")
    assert "更正填报" in audit.text and "2026-11-24 的填报 8,500.0 万元 → 850.0 万元" in audit.text
    assert "理由：多写了一个零" in audit.text and "report.correct" not in audit.text

    # guided: project → the day's report → amount kept → new progress → reason → 确认
    assert "请选择要更正填报的项目" in await tg.send(HAO, "/correct")
    days = await tg.press(HAO, f"{CODE} 城北高速连接线")
    assert days.buttons[:3] == ["11-25 900 万元 承台施工", "11-24 850 万元 桩基完成", "11-23 850 万元 桩基施工"]
    assert "请发送更正后的本期完成投资" in await tg.press(HAO, "11-25 900 万元 承台施工")
    assert "请发送更正后的形象进度" in await tg.press(HAO, "金额不变")
    assert "更正理由" in await tg.send(HAO, "承台\t\t完成50%\n\n下步  回填")  # cells pasted: stored as a report's
    confirm = await tg.send(HAO, "进度写得不准")
    assert "更正为：本期完成投资 900.0 万元，承台 完成50%\n下步 回填" in confirm.text
    assert "形象进度「承台施工」→「承台 完成50%\n下步 回填」" in await tg.press(HAO, "确认更正")
    assert await _sum_of_year(tg) == Decimal(2600)  # the amount did not change
    assert [r.progress_text for r in await tg.reports()] == ["桩基施工", "桩基完成", "承台 完成50%\n下步 回填"]


async def test_the_day_to_correct_may_be_written_yesterday_or_the_day_before(office: TelegramHarness) -> None:
    tg = office
    tg.clock.set(at(11, 26))  # Thursday: 昨天 is 11-25, 前天 11-24
    asked = await tg.send(HAO, f"/correct {CODE} 前天 850 理由：多写了一个零")
    assert "2026-11-24 原填报：本期完成投资 8,500.0 万元" in asked.text, asked.text
    assert "已更正" in await tg.press(HAO, "确认更正")
    asked = await tg.send(HAO, f"/correct {CODE} 昨天，950 承台施工 理由：漏计材料款")
    assert "2026-11-25 原填报：本期完成投资 900.0 万元" in asked.text, asked.text
    assert "已更正" in await tg.press(HAO, "确认更正")
    assert await _sum_of_year(tg) == Decimal(850 + 850 + 950)
    assert "在 2026-11-26 没有填报" in (await tg.send(HAO, f"/correct {CODE} 今天 900 理由：核对")).text
    assert "用法" in await tg.send(HAO, f"/correct {CODE} 明天 900 理由：核对")  # no day to correct


async def test_refusals_and_an_admin_correcting_an_old_report(office: TelegramHarness) -> None:
    tg = office
    tg.clock.set(at(11, 30))  # Monday: 11-23 is 5 working days back, 11-25 three
    too_old = await tg.send(HAO, f"/correct {CODE} 2026-11-23 800 理由：台账核对")
    assert "2026-11-23 的填报已超过 3 个工作日" in too_old.text and "请联系区项目办" in too_old.text
    assert "还没有更正" not in too_old.text and "确认更正" not in too_old.buttons
    assert "确认更正" in (await tg.send(HAO, f"/correct {CODE} 2026-11-25 800 理由：核对")).buttons
    assert "已取消更正" in await tg.press(HAO, "取消")

    not_mine = await tg.send(WU, f"/correct {CODE} 2026-11-25 800 理由：核对")
    assert "您不是项目 ZD2026-001 城北高速连接线 的联络员" in not_mine.text
    no_report = await tg.send(HAO, f"/correct {CODE} 2026-11-27 800 理由：核对")
    assert "在 2026-11-27 没有填报" in no_report.text
    assert "用法" in await tg.send(HAO, f"/correct {CODE} 800")
    # the guided flow offers only what may still be corrected
    await tg.send(HAO, "/correct")
    assert (await tg.press(HAO, f"{CODE} 城北高速连接线")).buttons == ["11-25 900 万元 承台施工", "取消"]
    await tg.press(HAO, "取消")
    assert await _sum_of_year(tg) == Decimal(10250)

    # the admin corrects any report, however old; asked for a reason when the line has none
    asked = await tg.send(ADMIN, f"/correct {CODE} 2026-11-23 1.2亿")
    assert "本期完成投资 1.2亿 = 12,000.0 万元" not in asked.text and "请简要说明更正理由" in asked.text
    confirm = await tg.send(ADMIN, "与台账核对，应为 800 万元")
    assert "请核对更正内容" in confirm.text and "1.2亿 = 12,000.0 万元" in confirm.text
    await tg.press(ADMIN, "取消")
    await tg.send(ADMIN, f"/correct {CODE} 2026-11-23 800 理由：与台账核对")
    done = await tg.press(ADMIN, "确认更正")
    assert "850.0 万元 → 800.0 万元" in done.text
    assert await _sum_of_year(tg) == Decimal(10200)
    project = await tg.send(HAO, f"/project {CODE}")
    assert f"郝芳填报 → 更正为 800.0 万元，{ADMIN_NAME} 2026-11-30 10:00 更正，理由：与台账核对" in project.text
    # a day without a report: the admin is not told to contact the office (his own) but may 补报 it
    none = await tg.send(ADMIN, f"/correct {CODE} 2026-11-27 800 理由：核对")
    assert "在 2026-11-27 没有填报，区项目办补报" in none.text and "请联系区项目办" not in none.text, none
    assert "已取消补报" in await tg.press(ADMIN, "取消")


async def test_the_next_weekly_bulletin_notes_the_correction(office: TelegramHarness, tmp_path: Path) -> None:
    tg = office
    async with tg.session() as session:
        session.add(BulletinGroup(channel="telegram", chat_id=str(GROUP), name="重点项目领导小组",
                                  created_at=tg.clock.now(), created_by="test"))
    files = tmp_path / "files"

    async def bulletin(moment: datetime) -> str:
        tg.clock.set(moment)
        produced = await digests.run_due(tg.core.db, tg.core.deps.renderer, now=moment, files_root=files,
                                         kinds=("weekly",))
        assert len(produced) == 1
        mark = len(tg.fake.calls)
        transport = TelegramTransport(tg.application.bot, files_root=files)
        fast = RateLimits(global_per_second=10_000, per_chat_per_second=10_000, per_group_per_minute=600_000)
        await OutboxSender(tg.core.db, tg.clock, {"telegram": transport}, limits={"telegram": fast}).drain(10)
        return "\n".join(c["text"] for c in tg.fake.calls[mark:]
                         if c.method == "sendMessage" and str(c["chat_id"]) == str(GROUP))

    # a correction before the first bulletin is simply in its figures
    tg.clock.set(at(11, 26))
    await tg.send(HAO, f"/correct {CODE} 11-25 950 理由：漏计材料款")
    await tg.press(HAO, "确认更正")
    first = await bulletin(at(11, 30, 9, 5))  # 2026-W48 (11-23 … 11-29)
    assert "重点项目周通报（2026-W48" in first and "上期数据更正" not in first

    # after it was sent, the admin corrects a day it covered: the next one says so; W48 is not sent again
    tg.clock.set(at(12, 1))
    await tg.send(ADMIN, f"/correct {CODE} 2026-11-24 850 理由：多写了一个零")
    await tg.press(ADMIN, "确认更正")
    second = await bulletin(at(12, 7, 9, 5))  # 2026-W49
    assert "重点项目周通报（2026-W49" in second and "2026-W48" not in second
    assert "上期数据更正</b>：ZD2026-001 城北高速连接线" in second
    assert "2026-11-24 填报 8,500.0 万元更正为 850.0 万元（理由：多写了一个零）。" in second
    assert "漏计材料款" not in second  # made before W48 went out: already in its figures


def _audit_lines(text: str, words: str) -> list[str]:
    return [line for line in text.splitlines() if words in line]


async def test_an_admin_finds_any_project_by_code_or_name(office: TelegramHarness) -> None:
    """The admin is nobody's liaison: /correct asks for a code or a name and lists what matches, a page at a
    time; the correction is his, and the audit says so."""
    tg = office
    tg.clock.set(at(12, 7))  # a week later: too old for 郝芳, not for the admin
    assert "更正任一项目的填报" in await tg.send(ADMIN, "/help")
    asked = await tg.send(ADMIN, "/correct")
    assert "请发送要更正填报的项目编号或名称中的字词" in asked.text and asked.buttons == ["取消"]
    none = await tg.send(ADMIN, "<b>不存在</b>")
    assert "没有找到编号或名称含「&lt;b&gt;不存在&lt;/b&gt;」的项目" in none.text

    listed = await tg.send(ADMIN, "zd2026-0")  # the 42 projects of the sample ledger, 8 to a page
    assert "编号或名称含「zd2026-0」的项目共 42 个（第 1/6 页）" in listed.text
    assert listed.buttons[0] == "ZD2026-001 城北高速连接线" and listed.buttons[-2:] == ["下一页", "取消"]
    assert len(listed.buttons) == 10
    second = await tg.press(ADMIN, "下一页")
    assert "（第 2/6 页）" in second.text and second.buttons[0].startswith("ZD2026-009 ")
    assert second.buttons[-3:] == ["上一页", "下一页", "取消"]
    first = await tg.press(ADMIN, "上一页")
    days = await tg.press(ADMIN, "ZD2026-001 城北高速连接线")
    assert days.buttons == ["11-25 900 万元 承台施工", "11-24 8500 万元 桩基完成", "11-23 850 万元 桩基施工", "取消"]
    assert "第 1/6 页" in first.text

    assert "请发送更正后的本期完成投资" in await tg.press(ADMIN, "11-24 8500 万元 桩基完成")
    assert "请发送更正后的形象进度" in await tg.send(ADMIN, "850")
    await tg.press(ADMIN, "形象进度不变")
    confirm = await tg.send(ADMIN, "与台账核对")
    assert "2026-11-24 原填报：本期完成投资 8,500.0 万元，桩基完成（郝芳" in confirm.text
    assert "8,500.0 万元 → 850.0 万元" in await tg.press(ADMIN, "确认更正")
    assert await _sum_of_year(tg) == Decimal(2600)
    lines = _audit_lines((await tg.send(ADMIN, f"/audit {CODE}")).text, "更正填报")
    assert len(lines) == 1 and ADMIN_NAME in lines[0] and "郝芳" not in lines[0].split("更正填报")[0]

    # a name that names one project goes straight to its reports; so does a code
    assert "11-25 900 万元 承台施工" in (await tg.send(ADMIN, "/correct 城北高速")).buttons
    await tg.press(ADMIN, "取消")
    assert "11-25 900 万元 承台施工" in (await tg.send(ADMIN, f"/correct {CODE}")).buttons
    await tg.press(ADMIN, "取消")
    # a liaison is still offered only their own projects, and may not search
    own = await tg.send(HAO, "/correct")
    assert own.buttons == [f"{CODE} 城北高速连接线", "取消"]
    assert "请点击上面的按钮" in await tg.send(HAO, "城北")
    await tg.press(HAO, "取消")
    assert "用法" in await tg.send(HAO, "/correct 滨江")
    assert "近 3 个工作日内没有可更正的填报" in await tg.send(HAO, f"/correct {CODE}")  # a week later


async def test_an_ambiguous_amount_is_asked_back_with_buttons(office: TelegramHarness) -> None:
    """`3 000 承台完成` is 3 万元 with progress 「000 承台完成」 or 3,000 万元: nothing changes until one is
    picked, as in /report."""
    tg = office
    tg.clock.set(at(11, 26))
    asked = await tg.send(HAO, f"/correct {CODE} 11-25 3 000 承台完成 理由：漏计材料款")
    assert "更正的金额或形象进度可以有2种理解" in asked.text and "尚未更正" in asked.text
    assert "2026-11-25 原填报：本期完成投资 900.0 万元，承台施工" in asked.text
    assert "2. 本期完成投资 3 000（未写单位，按万元计）= 3,000.0 万元，形象进度「承台完成」" in asked.text
    assert asked.buttons == ["3.0 万元，进度「000 承台完成」", "3,000.0 万元，进度「承台完成」", "都不对，取消"]
    assert "请点击上面的按钮" in await tg.send(HAO, "3000")
    assert await _sum_of_year(tg) == Decimal(10250)
    confirm = await tg.press(HAO, "3,000.0 万元，进度「承台完成」")
    assert "更正为：本期完成投资 3 000（未写单位，按万元计）= 3,000.0 万元，承台完成" in confirm.text
    assert "更正理由：漏计材料款" in confirm.text
    assert await _sum_of_year(tg) == Decimal(10250)
    await tg.press(HAO, "确认更正")
    assert await _sum_of_year(tg) == Decimal(12350)

    # without a progress text the old one is kept, and the buttons say so; without a reason it is asked
    asked = await tg.send(HAO, f"/correct {CODE} 11-23 3 000")
    assert asked.buttons == ["3.0 万元，进度「000」", "3,000.0 万元，进度「桩基施工」", "都不对，取消"]
    assert "请简要说明更正理由" in await tg.press(HAO, "3,000.0 万元，进度「桩基施工」")
    confirm = await tg.send(HAO, "单位写错")
    assert "= 3,000.0 万元，桩基施工" in confirm.text
    # 都不对 cancels: nothing stored
    await tg.press(HAO, "取消")
    await tg.send(HAO, f"/correct {CODE} 11-24 5000 元旦前完成 理由：核对")
    assert "已取消更正" in await tg.press(HAO, "都不对，取消")
    assert await _sum_of_year(tg) == Decimal(12350)


async def test_a_correction_over_its_text_limits_is_refused_saying_the_limit(office: TelegramHarness) -> None:
    from bot.domain.limits import PROGRESS_TEXT_MAX, REASON_TEXT_MAX

    tg = office
    tg.clock.set(at(11, 26))
    refused = await tg.send(HAO, f"/correct {CODE} 11-24 850 桩基 理由：" + "零" * (REASON_TEXT_MAX + 1))
    assert f"更正理由最多 {REASON_TEXT_MAX} 个字" in refused and "确认更正" not in refused.buttons
    refused = await tg.send(HAO, f"/correct {CODE} 11-24 850 " + "桩" * (PROGRESS_TEXT_MAX + 1) + " 理由：多写零")
    assert f"形象进度最多 {PROGRESS_TEXT_MAX} 个字" in refused

    # Guided: each step refuses a text over its limit and waits for a shorter one.
    asked = await tg.press(HAO, (await tg.send(HAO, f"/correct {CODE}")).buttons[1])  # 11-24's report
    assert "（郝芳，2026-11-24 17:00）\n请发送更正后的本期完成投资" in asked.text  # on a line of its own
    await tg.send(HAO, "850")
    assert f"最多 {PROGRESS_TEXT_MAX} 个字" in await tg.send(HAO, "桩" * (PROGRESS_TEXT_MAX + 1))
    assert "更正理由" in await tg.send(HAO, "桩基完成")
    assert f"最多 {REASON_TEXT_MAX} 个字" in await tg.send(HAO, "零" * (REASON_TEXT_MAX + 1))
    assert "确认更正" in (await tg.send(HAO, "多写了一个零")).buttons
    assert "已更正" in await tg.press(HAO, "确认更正")
    assert sorted((r.local_day.day, r.amount) for r in await tg.reports()) == [
        (23, Decimal(850)), (24, Decimal(850)), (25, Decimal(900))]


async def test_an_amount_in_chinese_numerals_is_said_as_read(office: TelegramHarness) -> None:
    tg = office
    tg.clock.set(at(11, 26, 17))
    saved = await tg.send(WU, "/report ZD2026-002 四万 路基施工")
    assert "已记录填报：本期完成投资 4.0 万元（「四万」按 4 万元计）" in saved.text, saved.text
    asked = await tg.send(HAO, f"/correct {CODE} 11-24")
    assert "更正" in asked.text
    amount = await tg.send(HAO, "八百五十")
    assert "更正后的本期完成投资：850.0 万元（「八百五十」未写单位，按 850 万元计）。" in amount.text, amount.text
    await tg.press(HAO, "形象进度不变")
    confirm = await tg.send(HAO, "多写了一个零")
    assert "更正为：本期完成投资 850.0 万元（「八百五十」未写单位，按 850 万元计）" in confirm.text, confirm.text
    done = await tg.press(HAO, "确认更正")
    assert "8,500.0 万元 → 850.0 万元（「八百五十」未写单位，按 850 万元计）" in done.text, done.text
