"""Why a photo could not be kept, in words the people reading the pages understand.

The photo keeper (``bot.services.photo_keeper``) records the channel's own reason when it gives a photo up
(``fetch_error``: "Telegram: Wrong file_id specified", "企业微信:media/get: WeCom errcode 40007: invalid
media_id"…), and its log keeps that raw reason as a warning. The pages show ``lost_reason`` of it instead:
a short Chinese sentence saying what happened, without the channel's codes.
"""

from __future__ import annotations

UNKNOWN = "原因不明"
GONE_WECOM = "企业微信已不再保存这张图片（图片只保留 3 天）"
GONE_TELEGRAM = "Telegram 已无法提供这张照片（文件已失效）"
TOO_BIG = "照片超过 20 MB，无法保存"
NO_CHANNEL = "该聊天渠道未接入，无法下载"
REFUSED = "聊天渠道拒绝下载这张照片"
GAVE_UP = "多次下载均未成功，已停止尝试"

# (words any of which the raw reason holds, lower case) → what the pages say; the first that matches wins.
_RULES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("larger than", "too big", "照片超过"), TOO_BIG),
    (("errcode 40007", "invalid media"), GONE_WECOM),
    (("file_id", "file id", "file reference", "file is temporarily unavailable"), GONE_TELEGRAM),
    (("未配置",), NO_CHANNEL),
    (("http 4", "forbidden", "unauthorized"), REFUSED),
)


def lost_reason(raw: str | None) -> str:
    """The Chinese reason shown for a photo given up on, from the reason the keeper recorded."""
    if not raw or not raw.strip():
        return UNKNOWN
    text = raw.lower()
    for words, reason in _RULES:
        if any(word in text for word in words):
            return reason
    return GAVE_UP
