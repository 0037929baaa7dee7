"""A 包抓领导's list of escalated problems in WeCom: one card whose buttons, each within the 10 characters a
card button shows whole, give his 批示 on each problem directly. The Telegram side: tests/e2e/test_leader_lists.py.
"""

from __future__ import annotations

from jobs import escalation
from tests.e2e.test_leader_lists import RAISED
from tests.e2e.test_problems import nov
from tests.wecom.harness import HAO, WeComHarness, read_buttons

LIU = "LiuWenhua"  # 刘文华, lead official of ZD2026-001
LABELS = ["W0001 批示", "W0001 详情", "W0002 批示", "W0002 详情"]


async def test_a_leaders_list_of_escalated_problems_is_a_card_with_his_comment_on_each(wecom: WeComHarness) -> None:
    wecom.clock.set(nov(16, 8, 0))
    await wecom.bind(HAO, "郝芳")
    await wecom.bind(LIU, "刘文华", "lead")
    wecom.clock.set(nov(16, 8, 30))
    for text in RAISED:
        assert "W000" in await wecom.send(HAO, text)
    await wecom.deliver_outbox()
    wecom.clock.set(nov(17, 17, 30))
    await escalation.run(wecom.core.db, wecom.clock, wecom.core.deps.renderer)
    mark = len(wecom.fake.calls)
    await wecom.deliver_outbox()
    sent = wecom.fake.sent_to(LIU, since=mark)
    cards = [m for m in sent if m["msgtype"] == "template_card"]
    assert len(cards) == 1, sent
    assert cards[0]["template_card"]["main_title"]["title"].startswith("📋 问题办理提醒")
    assert [b["text"] for b in cards[0]["template_card"]["button_list"]] == LABELS  # none cut to fit
    assert read_buttons(sent)[-1] == LABELS
    asked = await wecom.press(LIU, "W0002 批示")
    assert "W0002 请输入批示内容" in asked, asked
    done = await wecom.send(LIU, "请住建局本周内办结")
    assert "W0002" in done and "批示" in done, done
