"""In the WeCom app a draft's 确认 is a card's button whose key names the draft: the 确认 of an older summary's
card, pressed after a newer summary was shown, stores nothing and says the card is out of date; the newest card's
确认, and 「确认」 typed, store the newest draft."""

from __future__ import annotations

from decimal import Decimal

from tests.wecom.harness import WeComHarness, WeComReplies

OUTDATED = "这个按钮已失效"


async def _summary(wecom: WeComHarness, amount: str) -> WeComReplies:
    await wecom.send("hao", "/report ZD2026-001")
    await wecom.send("hao", f"{amount} 桩基施工")
    shown = await wecom.send("hao", "完成")
    assert "请核对填报内容" in shown and "确认" in shown.buttons, shown
    return shown


async def test_an_older_cards_confirm_stores_nothing(wecom: WeComHarness) -> None:
    await wecom.bind("hao", "郝芳")
    first = await _summary(wecom, "850万")
    await _summary(wecom, "900万")
    card = wecom.fake.cards[first.cards[-1]["task_id"]]
    assert card.active  # WeCom keeps an older card's buttons pressable
    pressed = await wecom.exchange("hao", wecom.fake.card_event_xml("hao", card, "确认"))
    assert OUTDATED in pressed, pressed
    assert await wecom.reports() == []
    assert "已记录填报" in await wecom.send("hao", "确认")  # typed: the newest summary's 确认
    assert [r.amount for r in await wecom.reports()] == [Decimal(900)]
