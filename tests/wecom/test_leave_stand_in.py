"""A 包抓领导's stand-in (代理人) in WeCom: the notice telling him, on the leave's first day, what already waited at
the lead's level is a card carrying the acts themselves (同意延期 / 不同意 on the extension request, then 详情), as the
card of the problem does; pressed, they decide in the lead's place through the same router and checks; so does the
lead's notice, when the leave is over, of what waits for him then. The Telegram side: tests/e2e/test_lead_stand_in.py
and tests/e2e/test_lead_leave_fortnight.py."""

from __future__ import annotations

from jobs import escalation
from tests.e2e.test_problems import nov
from tests.wecom.harness import HAO, ZHAO, WeComHarness

LIU = "LiuWenhua"  # 刘文华, lead official of ZD2026-001
CHEN = "ChenJianguo"  # 陈建国, another 包抓领导, his stand-in
ACTS = ["W0001 同意延期", "W0001 不同意", "W0001 详情"]


async def _waiting_extension_then_leave(wecom: WeComHarness, *, last_day: str) -> None:
    """赵芳 asks 刘文华 on Monday for an extension on W0001; 刘文华 is then away from Tuesday with 陈建国 standing
    in; Tuesday's first tick tells 陈建国 what waits, on a card with the acts."""
    wecom.clock.set(nov(16, 8, 0))
    for userid, name, role in ((HAO, "郝芳", "liaison"), (ZHAO, "赵芳", "unit"), (LIU, "刘文华", "lead"),
                               (CHEN, "陈建国", "lead")):
        await wecom.bind(userid, name, role)
    wecom.clock.set(nov(16, 8, 30))
    assert "W0001" in await wecom.send(HAO, "/issue ZD2026-001 审批手续 施工许可迟迟未批")
    wecom.clock.set(nov(16, 10, 0))
    assert "延期" in await wecom.send(ZHAO, "/answer W0001 下周五 需协调省厅")
    assert "已登记请假" in await wecom.send(LIU, f"/leave 11-17 {last_day} 陈建国")
    await wecom.deliver_outbox()
    wecom.clock.set(nov(17, 0, 5))
    await escalation.run(wecom.core.db, wecom.clock, wecom.core.deps.renderer)
    mark = len(wecom.fake.calls)
    await wecom.deliver_outbox()
    sent = wecom.fake.sent_to(CHEN, since=mark)
    cards = [m["template_card"] for m in sent if m["msgtype"] == "template_card"]
    assert len(cards) == 1, sent
    assert [b["text"] for b in cards[0]["button_list"]] == ACTS, cards  # none cut to fit
    assert [b["key"] for b in cards[0]["button_list"]] == ["pb:exy:1", "pb:exn:1", "pb:show:1"]


async def test_the_stand_in_decides_a_waiting_extension_request_from_the_leave_start_card(wecom: WeComHarness) -> None:
    await _waiting_extension_then_leave(wecom, last_day="11-20")
    wecom.clock.set(nov(17, 9, 0))
    approved = await wecom.press(CHEN, "W0001 同意延期")
    assert "延期申请已同意，办结时限延至 2026-11-27 17:30" in approved, approved
    card = await wecom.send(ZHAO, "/issue W0001")
    assert "（包抓领导 刘文华 请假，由代理人 陈建国 代为审批）" in card, card


async def test_the_leave_start_cards_acts_are_refused_after_the_leave(wecom: WeComHarness) -> None:
    await _waiting_extension_then_leave(wecom, last_day="11-17")
    wecom.clock.set(nov(18, 9, 0))  # the leave ran Tuesday only
    refused = await wecom.press(CHEN, "W0001 不同意")
    assert "W0001 的延期申请由上一层级审批，您不在其中。" in refused, refused
    assert "同意延期" in (await wecom.send(LIU, "/issue W0001")).buttons  # still waits, for 刘文华


async def test_the_lead_back_decides_what_his_stand_in_left_from_the_leave_end_card(wecom: WeComHarness) -> None:
    """陈建国 left W0001's request undecided; the day after the leave (Tuesday only) 刘文华's notice that he holds his
    level again is a card with the same acts, and he decides it there; 陈建国 is told it went back to 刘文华."""
    await _waiting_extension_then_leave(wecom, last_day="11-17")
    wecom.clock.set(nov(18, 0, 5))
    await escalation.run(wecom.core.db, wecom.clock, wecom.core.deps.renderer)
    mark = len(wecom.fake.calls)
    await wecom.deliver_outbox()
    cards = [m["template_card"] for m in wecom.fake.sent_to(LIU, since=mark) if m["msgtype"] == "template_card"]
    assert len(cards) == 1 and [b["text"] for b in cards[0]["button_list"]] == ACTS, cards
    told = "\n".join(str(m) for m in wecom.fake.sent_to(CHEN, since=mark))
    assert "尚待处理的 W0001 已转交 刘文华" in told, told
    wecom.clock.set(nov(18, 9, 0))
    approved = await wecom.press(LIU, "W0001 同意延期")
    assert "延期申请已同意，办结时限延至 2026-11-27 17:30" in approved, approved
