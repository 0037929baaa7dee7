"""What a pressed button leaves of its message's keyboard (bot.domain.pressed)."""

from __future__ import annotations

from bot.domain.messages import Button
from bot.domain.pressed import after_press

LIST = [[Button("W0001 批示", "pb:cmt:1"), Button("W0001 详情", "pb:show:1")],
        [Button("W0002 批示", "pb:cmt:2"), Button("W0002 详情", "pb:show:2")]]


def test_a_list_of_problems_keeps_the_others_and_marks_the_pressed_one() -> None:
    kept = after_press(LIST, "pb:cmt:2")
    assert kept is not None
    assert [[b.label for b in row] for row in kept] == [["W0001 批示", "W0001 详情"], ["✓ W0002 批示", "W0002 详情"]]
    again = after_press(kept, "pb:cmt:2")
    assert again is not None and again[1][0].label == "✓ W0002 批示"  # marked once


def test_a_choice_takes_the_keyboard_away() -> None:
    one_problem = [[Button("受理", "pb:acc:3"), Button("答复", "pb:ans:3")], [Button("申请改派", "pb:rea:3")]]
    assert after_press(one_problem, "pb:acc:3") is None
    assert after_press([[Button("确认", "rp:ok"), Button("取消", "rp:no")]], "rp:ok") is None
    picks = [[Button("ZD2026-001", "rp:p:ZD2026-001")], [Button("ZD2026-002", "rp:p:ZD2026-002")],
             [Button("取消", "rp:cancel")]]
    assert after_press(picks, "rp:p:ZD2026-001") is None  # a guided flow's pick list
    assert after_press([*LIST, [Button("下一页", "pg:issues:2:")]], "pb:cmt:1") is None
    assert after_press(LIST, "") is None


def test_a_reminder_of_several_projects_keeps_the_others() -> None:
    reminder = [[Button("填报 ZD2026-001", "rp:p:ZD2026-001")], [Button("填报 ZD2026-002", "rp:p:ZD2026-002")],
                [Button("驾驶舱", "", url="https://example.org/web/")]]
    kept = after_press(reminder, "rp:p:ZD2026-002")
    assert kept is not None and [b.label for row in kept for b in row] == \
        ["填报 ZD2026-001", "✓ 填报 ZD2026-002", "驾驶舱"]
