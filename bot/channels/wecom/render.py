"""How a reply becomes WeCom messages (:func:`reply_parts`).

- A reply without markup and without "<" goes out as text messages, otherwise as markdown (see
  ``bot.channels.wecom.markdown``); both are split at 2048 UTF-8 bytes on line boundaries (an over-long
  markdown line between constructs, never inside bold, a colour, a link or a code span).
- A reply with buttons becomes a ``button_interaction`` template card (its text as title and subtitle,
  or sent as markdown first when too long for a card). With more than 6 buttons, a key over 1024 bytes
  or repeated keys, the buttons become a numbered list instead, which the user answers with the number.
- A card button's text is kept within the 10 characters WeCom documents (按钮文案，建议不超过10个字; its
  client cuts longer ones): a longer label becomes a mark and its end, 「ZD2026-001 路面施工完成」 →
  「①路面施工完成」, and the card's text lists it in full (① ZD2026-001 路面施工完成), so that every button
  stays unambiguous (``fitted_labels``).
"""

from __future__ import annotations

import html
import secrets
import time
from dataclasses import dataclass, replace
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
from bot.render import html_to_plain, shared_renderer

CARD_BUTTONS_MAX = 6
BUTTON_KEY_MAX_BYTES = 1024
CARD_TITLE_MAX = 36  # characters WeCom shows in a card's main title
CARD_SUBTITLE_MAX = 160
BUTTON_TEXT_MAX = 10  # characters of a card button's text WeCom shows whole
CUT_MARKS = "①②③④⑤⑥"  # one per button a card can have


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
    return f"{reply.html}\n\n{_words('choose_by_number')}\n{lines}"


def _words(macro: str, *args: Any) -> str:
    """What the channel says itself (channel_words.j2)."""
    return shared_renderer().phrase("channel_words", macro, *args)


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, the last one an ellipsis when it was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def new_task_id() -> str:
    """A card task id, unique for the app: [A-Za-z0-9_@-], at most 128 characters."""
    return f"dd-{int(time.time() * 1000):x}-{secrets.token_hex(6)}"


def fitted_labels(buttons: tuple[Button, ...]) -> tuple[list[str], list[str]]:
    """The texts of a card's buttons, each within ``BUTTON_TEXT_MAX`` characters, and the lines naming in
    full the labels that had to be shortened.

    A label that fits is kept as it is. A longer one gets a mark of its own (①, ②…) followed by what
    tells it apart best: its words after the first (the first is usually a code, such as the project's,
    shared by the other buttons), cut with an ellipsis if still too long. The mark makes it unambiguous,
    and the line ``① <label>`` in the card's text gives it in full.
    """
    texts: list[str] = []
    listed: list[str] = []
    for button in buttons:
        label = button.label.strip()
        if len(label) <= BUTTON_TEXT_MAX and label[:1] not in CUT_MARKS:  # (a mark would read as ours)
            texts.append(label)
            continue
        mark = CUT_MARKS[len(listed)]
        words = label.split()
        texts.append(shorten(mark + (" ".join(words[1:]) if len(words) > 1 else label), BUTTON_TEXT_MAX))
        listed.append(f"{mark} {label}")
    return texts, listed


def card_parts(reply: Reply) -> list[Part]:
    """A reply with at most 6 buttons: one card, preceded by the full text when a card cannot hold it."""
    buttons = tuple(b for row in reply.buttons for b in row)
    texts, listed = fitted_labels(buttons)
    body = reply.html
    if listed:
        body += "\n\n" + "\n".join(html.escape(line, quote=False) for line in listed)
    plain = html_to_plain(body).strip()
    lines = [line.strip() for line in plain.split("\n")]
    first = next((i for i, line in enumerate(lines) if line), None)
    title = lines[first] if first is not None else ""
    rest = "\n".join(lines[first + 1:]).strip() if first is not None else ""
    parts: list[Part] = []
    if len(title) > CARD_TITLE_MAX or len(rest) > CARD_SUBTITLE_MAX:
        parts = text_parts(body)
        title, rest = shorten(title, CARD_TITLE_MAX), _words("optional_button" if reply.optional else "press_a_button")
    card: dict[str, Any] = {
        "card_type": "button_interaction",
        "main_title": {"title": title or _words("choose")},
        "button_list": [{"text": text, "style": 1, "key": b.data} for text, b in zip(texts, buttons, strict=True)],
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
        reply = replace(reply, buttons=rows)
    buttons = [b for row in reply.buttons for b in row]
    if not buttons:
        return text_parts(reply.html), False
    if card_fits(buttons):
        return card_parts(reply), False
    return text_parts(numbered_html(reply)), True
