"""A guided flow left half-way expires (bot.domain.flow_expiry): a message hours later, or the next day, is
not taken as the next step of it; a flow that moves on in time goes on as before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.flow_expiry import FLOW_IDLE, flow_expired
from tests.e2e.harness import TelegramHarness
from tests.e2e.test_telegram_flow import CODE, HAO, _guided_until_summary, hao  # noqa: F401  (fixture used by name)


async def _amount_asked(hao: TelegramHarness) -> None:  # noqa: F811
    await hao.send(HAO, "/report")
    assert "请输入本期完成投资" in (await hao.press(HAO, f"{CODE} 城北高速连接线")).text


async def test_a_flow_left_for_hours_is_not_continued(hao: TelegramHarness) -> None:  # noqa: F811
    await _amount_asked(hao)
    hao.clock.advance(hours=2, minutes=1)

    late = await hao.send(HAO, "800")

    assert "已自动取消" in late.text and "没有保存任何内容" in late.text and "如需继续，请重新开始" in late.text
    assert "补报" not in late.text  # the same day: nothing to enter afterwards
    assert "没有看懂" in late.text  # and the message is handled as if there had been no flow
    assert await hao.report_count() == 0
    assert "没有看懂" in (await hao.send(HAO, "800")).text  # the flow is gone: told once
    assert "已自动取消" not in (await hao.send(HAO, "800")).text


async def test_a_flow_moving_on_in_time_goes_on(hao: TelegramHarness) -> None:  # noqa: F811
    await _amount_asked(hao)
    hao.clock.advance(hours=1, minutes=50)

    asked = await hao.send(HAO, "800")

    assert "请输入形象进度" in asked.text and "已自动取消" not in asked.text
    hao.clock.advance(hours=1, minutes=50)  # idle counts from the last step, not from the start
    assert "已自动取消" not in (await hao.send(HAO, "路基完成40%")).text


async def test_a_button_of_an_expired_flow_is_answered_once(hao: TelegramHarness) -> None:  # noqa: F811
    """确认 pressed at 00:01 on a report typed at 23:58: one reply says the flow ended and the press with it."""
    hao.clock.set(datetime(2026, 12, 31, 15, 58, tzinfo=UTC))  # 23:58 in Beijing
    await _guided_until_summary(hao, "300", "主体施工", photos=0)
    hao.clock.advance(minutes=3)  # 00:01 the next day

    pressed = await hao.press(HAO, "确认")

    assert len(pressed.texts) == 1, pressed.texts
    assert "已自动取消" in pressed.text and "刚才点的按钮也随之失效" in pressed.text
    # and where the day's report can still go: the 项目办 enters it (补报); sent again it would be today's
    assert "现在发送的填报记为今天的；如要补报 2026-12-31 的进度，请联系区项目办" in pressed.text
    assert "按钮已失效" not in pressed.text
    assert await hao.report_count() == 0


async def test_a_command_after_an_expired_flow_just_runs(hao: TelegramHarness) -> None:  # noqa: F811
    await _amount_asked(hao)
    hao.clock.advance(hours=3)

    fresh = await hao.send(HAO, "/report")

    assert "已自动取消" not in fresh.text and "请选择要填报的项目" in fresh.text


def test_expiry_rule() -> None:
    start = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    assert not flow_expired(None, start)
    assert not flow_expired(start, start + FLOW_IDLE)
    assert flow_expired(start, start + FLOW_IDLE + timedelta(seconds=1))
    evening = datetime(2026, 11, 20, 15, 50, tzinfo=UTC)  # 23:50 in Shanghai
    assert flow_expired(evening, evening + timedelta(minutes=20))  # past midnight: another day
    assert not flow_expired(evening, evening + timedelta(minutes=5))


async def test_cancel_pressed_on_an_expired_flow_is_answered_once(hao: TelegramHarness) -> None:  # noqa: F811
    """取消 pressed hours after the flow was left: one reply, that it was cancelled already (not also 已取消)."""
    await _amount_asked(hao)
    hao.clock.advance(hours=2, minutes=1)

    pressed = await hao.press(HAO, "取消")

    assert len(pressed.texts) == 1, pressed.texts
    assert "已自动取消" in pressed.text and "没有保存任何内容" in pressed.text
    assert "刚才点的按钮也随之失效" not in pressed.text  # a 取消 pressed does what was asked
    assert await hao.report_count() == 0
