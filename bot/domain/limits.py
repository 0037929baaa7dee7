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
PHOTO_FILE_MAX = 20 * 1024 * 1024  # a photo sent as a file: bots download at most 20 MB from Telegram
# Names of files that are pictures, when a photo comes as a file (sent uncompressed) rather than as a photo.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".heic", ".heif", ".webp", ".bmp", ".gif", ".tif", ".tiff")


def is_image_name(name: str) -> bool:
    """Whether a file's name says it is a picture."""
    return name.lower().endswith(IMAGE_SUFFIXES)


def photo_too_big(name: str, size: int) -> bool:
    """Whether a file sent is a picture too big to keep as a photo (a channel passes smaller ones as photos)."""
    return is_image_name(name) and size > PHOTO_FILE_MAX


def too_long(text: str, limit: int) -> bool:
    """Whether a text is over its limit."""
    return len(text) > limit


def preview(text: str, limit: int = NOTICE_PREVIEW_MAX) -> str:
    """The start of a text, at most `limit` characters, the last one "…" when it was cut."""
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
