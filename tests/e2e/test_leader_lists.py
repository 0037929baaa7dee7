"""A 包抓领导 told of several problems in one escalation tick gets one list; its buttons let him give his 批示
on each at once (one tap, as a single notice allows), through the real PTB Application and the fake Bot API."""

from __future__ import annotations

from storage import problems as repo
from tests.e2e.harness import TelegramHarness
from tests.e2e.test_problems import HAO, LIU, bind_everyone, nov

RAISED = ["/issue ZD2026-001 审批手续 施工许可迟迟未批", "/issue ZD2026-001 资金 配套资金未到位"]


async def test_a_leaders_list_of_escalated_problems_offers_his_comment_directly(telegram: TelegramHarness) -> None:
    desk = await bind_everyone(telegram)
    desk.travel(nov(16, 8, 30))
    for text in RAISED:
        assert "W000" in await telegram.send(HAO, text)
    await desk.deliver()
    desk.travel(nov(17, 17, 30))
    result = await desk.tick()
    assert {"W0001:escalate:1", "W0002:escalate:1"} <= set(result.actions), result
    inbox = await desk.deliver()
    [listed] = [t for t in inbox.texts(LIU) if "问题办理提醒" in t]
    assert "W0001" in listed and "W0002" in listed
    [labels] = [rows for rows, text in zip(inbox.labels(LIU), inbox.texts(LIU), strict=True) if text == listed]
    assert labels == [["W0001 批示", "W0001 详情"], ["W0002 批示", "W0002 详情"]], labels
    assert all(len(label) <= 10 for row in labels for label in row)  # a WeCom card button's text
    asked = await telegram.press(LIU, "W0002 批示")
    assert "W0002 请输入批示内容" in asked, asked
    done = await telegram.send(LIU, "请住建局本周内办结")
    assert "W0002" in done and "批示" in done, done
    async with telegram.session() as session:
        history = await repo.history(session, problem_id=2)
    assert (history[-1].kind, history[-1].text) == ("comment", "请住建局本周内办结")


async def test_a_leader_acts_on_each_problem_of_his_list_in_turn(telegram: TelegramHarness) -> None:
    """Pressing one problem's button keeps the others' (marking the pressed one), so the leader answers the
    second problem from the same list; a choice elsewhere (a single notice's) still takes its keyboard away."""
    desk = await bind_everyone(telegram)
    desk.travel(nov(16, 8, 30))
    for text in RAISED:
        assert "W000" in await telegram.send(HAO, text)
    await desk.deliver()
    desk.travel(nov(17, 17, 30))
    await desk.tick()
    await desk.deliver()
    message_id, _ = telegram.fake.find_button(LIU, label="W0002 批示")
    await telegram.press(LIU, "W0002 批示")
    await telegram.send(LIU, "请住建局本周内办结")
    shown = [[b["text"] for b in row]
             for row in telegram.fake.messages[(LIU, message_id)]["reply_markup"]["inline_keyboard"]]
    assert shown == [["W0001 批示", "W0001 详情"], ["✓ W0002 批示", "W0002 详情"]], shown
    asked = await telegram.press(LIU, "W0001 批示")
    assert "W0001 请输入批示内容" in asked, asked
    await telegram.send(LIU, "请财政局协调配套资金")
    async with telegram.session() as session:
        first = await repo.history(session, problem_id=1)
    assert (first[-1].kind, first[-1].text) == ("comment", "请财政局协调配套资金")
    shown = [[b["text"] for b in row]
             for row in telegram.fake.messages[(LIU, message_id)]["reply_markup"]["inline_keyboard"]]
    assert shown == [["✓ W0001 批示", "W0001 详情"], ["✓ W0002 批示", "W0002 详情"]], shown
    again = await telegram.press(LIU, "✓ W0002 批示")  # pressed twice: asked again, the mark left alone
    assert "W0002 请输入批示内容" in again, again
    telegram.assert_nothing_failed()
