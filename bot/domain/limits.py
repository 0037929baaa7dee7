"""How long a text people may give the bot, and how much of a stored text a notice repeats: in one place.

Texts are counted in characters. A text over its limit is refused with a message that says the limit (the
``text_too_long`` template), never stored cut or silently dropped.
"""

from __future__ import annotations

PROGRESS_TEXT_MAX = 2000  # a report's 形象进度
HALFMONTH_TEXT_MAX = 2000  # each part of a half-monthly report (进展情况, 存在问题, 下一步措施)
PROBLEM_TEXT_MAX = 1000  # a problem's description
REASON_TEXT_MAX = 500  # answers, results, reasons for reassigning or reopening, 批示
DECISION_TEXT_MAX = 500  # a meeting decision's 事项 (/decide)
BROADCAST_TEXT_MAX = 3000  # a /broadcast notice
NOTICE_PREVIEW_MAX = 100  # what a notice about a problem quotes of its description (the card has the rest)


def too_long(text: str, limit: int) -> bool:
    """Whether a text is over its limit."""
    return len(text) > limit


def preview(text: str, limit: int = NOTICE_PREVIEW_MAX) -> str:
    """The start of a text, at most `limit` characters, the last one "…" when it was cut."""
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
