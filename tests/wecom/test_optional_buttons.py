"""A button that offers an optional next step is worded as such in WeCom's card: after a saved report of a
前期 project, 报告开工 is offered, and the card does not ask to choose as if a choice were pending."""

from __future__ import annotations

from tests.wecom.harness import WeComHarness


async def test_the_start_button_under_a_saved_report_is_worded_as_optional(wecom: WeComHarness) -> None:
    await wecom.bind("wu", "武杰")  # liaison of ZD2026-002, 前期
    progress = "场地平整完成，" + "临时用电接入、施工便道硬化、围挡安装均已完成，" * 4  # too long for the card
    saved = await wecom.send("wu", f"/report ZD2026-002 50万 {progress}")
    assert "已记录" in saved.text, saved
    [card] = saved.cards
    assert [b["text"] for b in card["button_list"]] == ["报告开工"]
    assert card["sub_title_text"] == "以上已保存，无需再选择；如需要，可点击下方按钮。", card
    assert "请点击下方按钮选择" not in saved.text + str(card)

    # a choice that is pending still asks for it
    asked = await wecom.send("wu", f"/report ZD2026-002 80万 {progress}")
    [card] = asked.cards
    assert card.get("sub_title_text") in (None, "请点击下方按钮选择。"), card
