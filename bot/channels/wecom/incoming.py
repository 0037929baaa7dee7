"""What a WeCom message means, as a channel-neutral ``Incoming``.

- Text: Chinese keywords at its start are mapped to commands (:func:`keyword_to_command`); a number
  answers the numbered list of buttons last shown to the user.
- Images: ``Incoming.photos`` holds the MediaId (a temporary medium WeCom keeps three days).
- Menu clicks: the EventKey is the command, e.g. "/report".
- ``enter_agent`` / ``subscribe``: a help text, at most once per user in a while (the caller decides).
- ``template_card_event``: the pressed button's key is ``Incoming.callback_data``; a :class:`Press` says
  which card to update so it cannot be pressed again.
- Voice, video, location and link messages, and any other kind, are answered that the bot cannot read
  them (``Incoming.unsupported``); a guided flow keeps waiting. Events other than the ones above are ignored.

:func:`dedupe_key` says what identifies a message across WeCom's retries.

Every message here comes from a user's own chat with the app, so each ``Incoming`` is a private one
(``chat_type`` "private"): WeCom groups are reached only through group robots, which send and never
receive.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.channels.wecom import CHANNEL
from bot.domain.digits import as_int
from bot.domain.messages import Button, Incoming

# Longest first: "问题清单" before "问题", "我的项目" before "我的".
KEYWORDS: tuple[tuple[str, str], ...] = (
    ("我的问题", "/issues"),
    ("问题清单", "/issues"),
    ("我的项目", "/mine"),
    ("填报率", "/rank 填报"),
    ("填报", "/report"),
    ("问题", "/issue"),
    ("我的", "/mine"),
    ("排名", "/rank"),
    ("帮助", "/help"),
    ("绑定", "/start"),
    ("撤回", "/undo"),
    ("取消", "/cancel"),
)
_ARG_LEAD = " \t\u3000:\uff1a,\uff0c"


def keyword_to_command(text: str) -> str:
    """"填报 ZD2026-001 1.2亿 …" → "/report ZD2026-001 1.2亿 …"; other text is returned unchanged.

    A keyword counts only at the start of the text and when what follows is not more Chinese
    ("问题 ZD2026-001 …" is /issue, "问题是征地…" stays text, as typed inside a flow). A full-width
    slash ("\uff0freport") is taken as "/".
    """
    stripped = text.strip()
    if stripped.startswith("\uff0f"):  # full-width slash
        return "/" + stripped[1:]
    if stripped.startswith("/"):
        return stripped
    for keyword, command in KEYWORDS:
        if not stripped.startswith(keyword):
            continue
        rest = stripped[len(keyword):]
        if rest and unicodedata.category(rest[0]) == "Lo":
            continue
        args = rest.lstrip(_ARG_LEAD).strip()
        return f"{command} {args}" if args else command
    return text


def dedupe_key(fields: Mapping[str, str]) -> str:
    """What identifies a message across WeCom's retries: MsgId, or sender, time, event and key."""
    msg_id = (fields.get("MsgId") or "").strip()
    if msg_id:
        return "m:" + msg_id
    parts = (fields.get(k, "").strip() for k in ("FromUserName", "CreateTime", "Event", "EventKey", "TaskId"))
    return "e:" + "\x1f".join(parts)


@dataclass(frozen=True)
class Press:
    """A template-card button press: what to update once it is handled."""

    task_id: str
    response_code: str
    key: str


# A keycap emoji (2️⃣: the digit, a variation selector, the enclosing keycap), which a phone's emoji keyboard
# offers for a number, read as its digit; 🔟 as 10.
_KEYCAP = str.maketrans({"\ufe0f": None, "\u20e3": None, "\U0001f51f": "10"})


def pick_number(buttons: tuple[Button, ...], text: str) -> Button | None:
    """The button a typed number ("1", "１", "1️⃣") picks from a numbered list, if any."""
    token = text.strip().translate(_KEYCAP)
    number = as_int(token) if len(token) <= 3 else None
    if not buttons or number is None:
        return None
    return buttons[number - 1] if 1 <= number <= len(buttons) else None


def incoming_from(
    userid: str,
    fields: Mapping[str, str],
    *,
    pressed_number: Callable[[str, str], Button | None],
    greet: Callable[[str], bool],
) -> tuple[Incoming | None, Press | None]:
    """The channel-neutral view of a message; None for what we do not answer.

    ``pressed_number(userid, text)`` is the button a typed number picks, if any; ``greet(userid)`` says
    whether a user entering the app is to be greeted now (and remembers that it was).
    """
    msgtype = (fields.get("MsgType") or "").strip().lower()

    def base(**what: Any) -> Incoming:
        # The member's userid is the only name WeCom tells us (their real name needs the contacts API):
        # it is what /person shows for the account, and what `diaodu people bind --wecom` takes.
        return Incoming(channel=CHANNEL, user_id=userid, chat_id=userid, display_name=userid,
                        key=dedupe_key(fields), **what)

    if msgtype == "text":
        text = fields.get("Content") or ""
        button = pressed_number(userid, text)
        if button is not None:
            return base(callback_data=button.data), None
        return base(text=keyword_to_command(text)), None
    if msgtype == "image":
        media_id = (fields.get("MediaId") or "").strip()
        return base(photos=(media_id,) if media_id else ()), None
    if msgtype == "event":
        event = (fields.get("Event") or "").strip().lower()
        key = fields.get("EventKey") or ""
        if event == "click":
            command = keyword_to_command(key)
            return (base(text=command), None) if command.startswith("/") else (None, None)
        if event in ("enter_agent", "subscribe"):
            if greet(userid):
                return base(text="/help"), None
            return None, None
        if event == "template_card_event" and key:
            press = Press(task_id=fields.get("TaskId") or "",
                          response_code=fields.get("ResponseCode") or "", key=key)
            return base(callback_data=key), press
        return None, None
    if msgtype == "shortvideo":
        msgtype = "video"
    # Voice, video, location, link and file messages (and any kind WeCom adds) are answered that the bot cannot
    # read them (a file with what it takes instead): nothing a member sends goes unanswered.
    return base(unsupported=msgtype if msgtype in ("voice", "video", "location", "link", "file") else "other"), None
