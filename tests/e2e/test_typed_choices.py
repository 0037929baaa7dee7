"""Buttons answered by typing their words: a liaison who types 「完成」 where the guided /report says 请点击「完成」,
or 「确认」 under the summary, means the button (many type rather than tap, WeCom members above all). Words that
name no button are still not taken for one."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.e2e.harness import TelegramHarness

HAO = 1001
CODE = "ZD2026-001"


@pytest.fixture
async def tg(telegram: TelegramHarness) -> TelegramHarness:
    await telegram.bind(HAO, "郝芳")
    return telegram


async def test_the_guided_reports_buttons_may_be_typed(tg: TelegramHarness) -> None:
    await tg.send(HAO, "/report")
    await tg.press(HAO, f"{CODE} 城北高速连接线")
    await tg.send(HAO, "850万 桩基完成")
    kept_waiting = await tg.send(HAO, "好了")  # no button says that: the photos step still waits
    assert "请点击「完成」" in kept_waiting and "请核对填报内容" not in kept_waiting.text

    summary = await tg.send(HAO, "完成")  # the prompt's own word for 完成（不再上传照片）
    assert "请核对填报内容" in summary and summary.buttons == ["确认", "修改", "取消"], summary
    edit = await tg.send(HAO, " 修改 ")
    assert "请选择要修改的内容" in edit, edit
    asked = await tg.send(HAO, "金额")
    assert "请输入本期完成投资" in asked, asked
    again = await tg.send(HAO, "900")
    assert "请核对填报内容" in again and "900" in again.text
    saved = await tg.send(HAO, "确认。")
    assert "已记录填报" in saved, saved
    [report] = await tg.reports()
    assert (report.amount, report.progress_text) == (Decimal(900), "桩基完成")

    # the same day again: 确认替换 typed replaces, as the button does
    asked = await tg.send(HAO, f"/report {CODE} 950 桩基完成")
    assert asked.buttons == ["确认替换", "保留原填报"]
    assert "已替换今天的填报" in await tg.send(HAO, "确认替换")
    assert [r.amount for r in await tg.reports()] == [Decimal(950)]


async def test_cancel_typed_cancels_and_saves_nothing(tg: TelegramHarness) -> None:
    await tg.send(HAO, "/report")
    await tg.press(HAO, f"{CODE} 城北高速连接线")
    cancelled = await tg.send(HAO, "取消")  # at the amount step: no amount, the step's 取消
    assert "已取消" in cancelled and "无法使用" not in cancelled.text, cancelled

    await tg.send(HAO, "/report")
    await tg.press(HAO, f"{CODE} 城北高速连接线")
    await tg.send(HAO, "850万 桩基完成")
    await tg.send(HAO, "完成")
    cancelled = await tg.send(HAO, "取消")
    assert "已取消" in cancelled, cancelled
    assert await tg.reports() == []


async def test_a_correction_confirmed_by_typing_its_button(tg: TelegramHarness) -> None:
    tg.clock.set(tg.clock.now().replace(day=19))  # Thursday; corrected on Friday
    await tg.send(HAO, f"/report {CODE} 850 桩基")
    tg.clock.set(tg.clock.now().replace(day=20))
    asked = await tg.send(HAO, f"/correct {CODE} 11-19 85 桩基 理由：多写了一个零")
    assert asked.buttons == ["确认更正", "取消"]
    assert "请点击上面的按钮" in await tg.send(HAO, "确认")  # not the button's words: the choice still stands
    done = await tg.send(HAO, "确认更正")
    assert "已更正" in done, done
    assert [r.amount for r in await tg.reports()] == [Decimal(85)]


async def test_a_problems_button_typed_outside_a_flow_is_answered_with_its_command(telegram: TelegramHarness) -> None:
    """The raiser's notice says 请点「确认销号」; typed instead (the notice scrolled away), the words are answered
    with the command that does it, not with 没有看懂. A button the caller's roles do not have stays not understood."""
    await telegram.bind(HAO, "郝芳")
    crossed = await telegram.send(HAO, "确认销号")
    assert "/confirm" in crossed.text and "没有看懂" not in crossed.text, crossed
    assert "/reopen" in (await telegram.send(HAO, "未解决")).text
    assert "没有看懂" in await telegram.send(HAO, "受理")  # a unit's button: not a liaison's


async def test_the_project_to_report_may_be_typed_by_its_code(tg: TelegramHarness) -> None:
    await tg.send(HAO, "/report")
    not_hers = await tg.send(HAO, "ZD2026-002")  # another liaison's project: said so, and nothing asked
    assert "ZD2026-002" in not_hers.text and "请输入本期完成投资" not in not_hers.text, not_hers
    asked = await tg.send(HAO, "ｚｄ２０２６－００１")  # as a Chinese keyboard types it
    assert "请输入本期完成投资" in asked and "城北高速连接线" in asked.text, asked
    await tg.send(HAO, "850万 桩基完成")
    await tg.send(HAO, "完成")
    assert "已记录填报" in await tg.send(HAO, "确认")
