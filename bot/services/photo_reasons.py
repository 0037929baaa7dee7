"""Why a photo could not be kept, as a kind of reason the pages put in words people understand.

The photo keeper (``bot.services.photo_keeper``) records the channel's own reason when it gives a photo up
(``fetch_error``: "Telegram: Wrong file_id specified", "企业微信:media/get: WeCom errcode 40007: invalid
media_id"…), and its log keeps that raw reason as a warning. The pages show the kind ``lost_reason`` finds in
it, in the Chinese of ``bot/templates/web/_photo_reason.html.j2``, without the channel's codes.
"""

from __future__ import annotations

UNKNOWN = "unknown"  # no reason was recorded
GONE_WECOM = "gone_wecom"  # WeCom keeps a sent picture 3 days
GONE_TELEGRAM = "gone_telegram"  # Telegram's file id no longer serves the file
TOO_BIG = "too_big"
NO_CHANNEL = "no_channel"  # the channel is not configured here
REFUSED = "refused"
GAVE_UP = "gave_up"  # failed every try

# (words any of which the raw reason holds, lower case) → the kind; the first that matches wins.
_RULES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("larger than", "too big", "照片超过"), TOO_BIG),
    (("errcode 40007", "invalid media"), GONE_WECOM),
    (("file_id", "file id", "file reference", "file is temporarily unavailable"), GONE_TELEGRAM),
    (("未配置",), NO_CHANNEL),
    (("http 4", "forbidden", "unauthorized"), REFUSED),
)


def lost_reason(raw: str | None) -> str:
    """The kind of reason a photo given up on is shown with, from the reason the keeper recorded."""
    if not raw or not raw.strip():
        return UNKNOWN
    text = raw.lower()
    for words, reason in _RULES:
        if any(word in text for word in words):
            return reason
    return GAVE_UP
