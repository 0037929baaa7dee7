"""Long texts end to end through Telegram: inputs over their limit are refused with the limit said, texts
at the limit are stored and confirmed (the fake Bot API refuses anything Telegram would), and notices quote
a long problem description only in part, with a button for the whole card."""

from __future__ import annotations

import pytest

from bot.domain.limits import NOTICE_PREVIEW_MAX, PROBLEM_TEXT_MAX, PROGRESS_TEXT_MAX, REASON_TEXT_MAX
from tests.e2e.harness import TelegramHarness
from tests.e2e.test_problems import HAO, PEOPLE, ZHAO, Desk, bind_directly, nov


@pytest.fixture
async def desk(telegram: TelegramHarness) -> Desk:
    telegram.clock.set(nov(16, 8, 0))
    for user, name, _role in PEOPLE:
        await bind_directly(telegram, user, name)
    return Desk(telegram)


async def test_a_progress_text_over_the_limit_is_refused_saying_the_limit(telegram: TelegramHarness,
                                                                       desk: Desk) -> None:
    refused = await telegram.send(HAO, "/report ZD2026-001 850万 " + "桩" * (PROGRESS_TEXT_MAX + 1))
    assert f"最多 {PROGRESS_TEXT_MAX} 个字" in refused and "未保存" in refused
    assert await telegram.report_count() == 0

    stored = await telegram.send(HAO, "/report ZD2026-001 850万 " + "桩" * PROGRESS_TEXT_MAX)
    assert "已记录填报" in stored  # its confirmation got through (within Telegram's limit)
    assert await telegram.report_count() == 1


async def test_the_guided_report_refuses_a_long_progress_text_and_waits_for_a_shorter_one(
        telegram: TelegramHarness, desk: Desk) -> None:
    await telegram.send(HAO, "/report")
    await telegram.press(HAO, "ZD2026-001 城北高速连接线")
    await telegram.send(HAO, "850万")
    refused = await telegram.send(HAO, "进" * (PROGRESS_TEXT_MAX + 1))
    assert f"最多 {PROGRESS_TEXT_MAX} 个字" in refused
    asked = await telegram.send(HAO, "主体结构完成60%")
    assert "照片" in asked


async def test_a_long_problem_is_refused_and_one_at_the_limit_is_noticed_with_a_preview(
        telegram: TelegramHarness, desk: Desk) -> None:
    refused = await telegram.send(HAO, "/issue ZD2026-001 审批手续 " + "批" * (PROBLEM_TEXT_MAX + 1))
    assert f"最多 {PROBLEM_TEXT_MAX} 个字" in refused
    assert await desk.problem_count() == 0

    text = "".join(f"第{n}户未签约。" for n in range(1, 400))[:PROBLEM_TEXT_MAX]
    await telegram.send(HAO, f"/issue ZD2026-001 审批手续 {text}")
    inbox = await desk.deliver()
    notice = inbox.text(ZHAO)
    assert text[:NOTICE_PREVIEW_MAX - 1] in notice and text not in notice
    assert "/issue W0001" in notice
    assert ["查看全文"] in inbox.labels(ZHAO)[-1]

    card = await telegram.press(ZHAO, "查看全文")
    assert text in card.text


async def test_a_long_answer_is_refused_and_the_button_flow_keeps_waiting(telegram: TelegramHarness,
                                                                         desk: Desk) -> None:
    await telegram.send(HAO, "/issue ZD2026-001 审批手续 施工许可迟迟未批")
    await desk.deliver()
    await telegram.press(ZHAO, "答复")
    refused = await telegram.send(ZHAO, "答" * (REASON_TEXT_MAX + 1))
    assert f"最多 {REASON_TEXT_MAX} 个字" in refused
    done = await telegram.send(ZHAO, "拟于下周召开协调会")
    assert "W0001" in done
    assert "answered" in await desk.events()
