"""How a reply becomes WeCom messages (:func:`reply_parts`).

- A reply without markup and without "<" goes out as text messages, otherwise as markdown (see
  ``bot.channels.wecom.markdown``); both are split at 2048 UTF-8 bytes on line boundaries (an over-long
  markdown line between constructs, never inside bold, a colour, a link or a code span).
- A reply with buttons becomes a ``button_interaction`` template card (its text as title and subtitle,
  or sent as markdown first when too long for a card). With more than 6 buttons, a key over 1024 bytes
  or repeated keys, the buttons become a numbered list instead, which the user answers with the number.
"""

from __future__ import annotations

import html
import secrets
import time
from dataclasses import dataclass
from typing import Any

from bot.channels.wecom.markdown import (
    APP_MARKDOWN_MAX_BYTES,
    APP_TEXT_MAX_BYTES,
    has_markup,
    html_to_markdown,
    split_markdown,
    split_utf8,
    utf8_len,
)
from bot.domain.messages import Button, Reply
from bot.render import html_to_plain

CARD_BUTTONS_MAX = 6
BUTTON_KEY_MAX_BYTES = 1024
CARD_TITLE_MAX = 36  # characters WeCom shows in a card's main title
CARD_SUBTITLE_MAX = 160


@dataclass(frozen=True)
class Part:
    """One message/send of a reply: its msgtype and content; ``buttons`` for a card."""

    msgtype: str
    content: dict[str, Any]
    buttons: tuple[Button, ...] = ()


def text_parts(reply_html: str) -> list[Part]:
    """A reply's text as text messages when it is plain, else as markdown, each within 2048 bytes."""
    plain = html_to_plain(reply_html).strip()
    if not plain:
        return []
    if not has_markup(reply_html) and "<" not in plain:
        return [Part("text", {"content": c}) for c in split_utf8(plain, APP_TEXT_MAX_BYTES)]
    return [Part("markdown", {"content": c}) for c in split_markdown(html_to_markdown(reply_html),
                                                                       APP_MARKDOWN_MAX_BYTES)]


def card_fits(buttons: list[Button]) -> bool:
    """Whether buttons can be a template card: at most 6, distinct keys of at most 1024 bytes."""
    keys = [b.data for b in buttons]
    return (0 < len(buttons) <= CARD_BUTTONS_MAX and len(set(keys)) == len(keys)
            and all(0 < utf8_len(k) <= BUTTON_KEY_MAX_BYTES for k in keys)
            and all(b.label.strip() for b in buttons))


def numbered_html(reply: Reply) -> str:
    """The reply's HTML with its buttons as a numbered list to answer with a number."""
    buttons = [b for row in reply.buttons for b in row]
    lines = "\n".join(f"[{n}] {html.escape(b.label, quote=False)}" for n, b in enumerate(buttons, 1))
    return f"{reply.html}\n\n回复序号选择：\n{lines}"


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, the last one an ellipsis when it was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def new_task_id() -> str:
    """A card task id, unique for the app: [A-Za-z0-9_@-], at most 128 characters."""
    return f"dd-{int(time.time() * 1000):x}-{secrets.token_hex(6)}"


def card_parts(reply: Reply) -> list[Part]:
    """A reply with at most 6 buttons: one card, preceded by the full text when a card cannot hold it."""
    buttons = tuple(b for row in reply.buttons for b in row)
    plain = html_to_plain(reply.html).strip()
    lines = [line.strip() for line in plain.split("\n")]
    first = next((i for i, line in enumerate(lines) if line), None)
    title = lines[first] if first is not None else ""
    rest = "\n".join(lines[first + 1:]).strip() if first is not None else ""
    parts: list[Part] = []
    if len(title) > CARD_TITLE_MAX or len(rest) > CARD_SUBTITLE_MAX:
        parts = text_parts(reply.html)
        title, rest = shorten(title, CARD_TITLE_MAX), "请点击下方按钮选择。"
    card: dict[str, Any] = {
        "card_type": "button_interaction",
        "main_title": {"title": title or "请选择"},
        "button_list": [{"text": b.label, "style": 1, "key": b.data} for b in buttons],
    }
    if rest:
        card["sub_title_text"] = rest
    parts.append(Part("template_card", card, buttons))
    return parts


def reply_parts(reply: Reply) -> tuple[list[Part], bool]:
    """The messages a reply becomes, and whether its buttons went out as a numbered list. Buttons that open
    an address (Telegram's link to a private chat) have no use in WeCom, whose app chats are private, and
    are left out."""
    if any(b.url for row in reply.buttons for b in row):
        rows = tuple(kept for kept in (tuple(b for b in row if not b.url) for row in reply.buttons) if kept)
        reply = Reply(html=reply.html, buttons=rows, attachment=reply.attachment)
    buttons = [b for row in reply.buttons for b in row]
    if not buttons:
        return text_parts(reply.html), False
    if card_fits(buttons):
        return card_parts(reply), False
    return text_parts(numbered_html(reply)), True
