"""A button answered by typing its words: where the bot shows 完成 or 确认 as buttons, a member who types
「完成」 or 「确认。」 means that button (many type rather than tap, WeCom members above all)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.domain.messages import Button

# Marks a typed answer may end with (「确认。」, 「好！」); they are not part of a button's words.
_END_MARKS = "。．.！!～~"
# A note in brackets after a button's words: 「完成（不再上传照片）」 is also answered by 「完成」.
_NOTE = re.compile(r"[（(][^（）()]*[）)]$")


def _words(text: str) -> str:
    return "".join(text.split()).rstrip(_END_MARKS)


def typed_choice(text: str, buttons: Sequence[Sequence[Button]]) -> str | None:
    """The data of the one button among ``buttons`` whose words ``text`` is (spaces and a closing 。！ left
    out; the button's note in brackets may be left out too); None when the text names no button, or more
    than one. Buttons that open an address carry no data and are never chosen."""
    typed = _words(text)
    if not typed:
        return None
    chosen = {button.data for row in buttons for button in row
              if button.data and typed in (_words(button.label), _words(_NOTE.sub("", button.label)))}
    return chosen.pop() if len(chosen) == 1 else None
