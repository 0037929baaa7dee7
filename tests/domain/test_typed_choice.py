"""Which button typed words name (bot.domain.typed_choice)."""

from __future__ import annotations

from bot.domain.messages import Button
from bot.domain.typed_choice import typed_choice

PHOTOS = [[Button("完成（不再上传照片）", "rp:done")], [Button("取消", "rp:cancel")]]
CONFIRM = [[Button("确认", "rp:ok"), Button("修改", "rp:edit"), Button("取消", "rp:cancel")]]
REPLACE = [[Button("确认替换", "rp:replace"), Button("保留原填报", "rp:keep")]]


def test_the_words_of_a_button_or_of_it_without_its_note_choose_it() -> None:
    assert typed_choice("完成", PHOTOS) == "rp:done"
    assert typed_choice("完成（不再上传照片）", PHOTOS) == "rp:done"
    assert typed_choice(" 确认。", CONFIRM) == "rp:ok"
    assert typed_choice("确 认!", CONFIRM) == "rp:ok"
    assert typed_choice("确认替换", REPLACE) == "rp:replace"


def test_other_words_choose_nothing() -> None:
    assert typed_choice("好了", PHOTOS) is None
    assert typed_choice("确认", REPLACE) is None  # a part of a button's words is not its words
    assert typed_choice("完成了", PHOTOS) is None
    assert typed_choice("", CONFIRM) is None
    assert typed_choice("。", CONFIRM) is None


def test_words_two_buttons_share_choose_neither_and_links_are_never_chosen() -> None:
    assert typed_choice("确认", [[Button("确认", "a:1"), Button("确认", "b:2")]]) is None
    assert typed_choice("打开", [[Button("打开", "", url="https://example.org")]]) is None
