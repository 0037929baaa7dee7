"""Chat ids: those people type (a Telegram group's id is a negative number, -1001234567890 for a supergroup),
and the address of a forum topic the bot answers in."""

from __future__ import annotations

import re
import unicodedata

_TELEGRAM_GROUP_ID = re.compile(r"-[1-9][0-9]{0,15}")


def telegram_group_id(text: str) -> str | None:
    """The Telegram group id written in `text` ("-1001234567890", full-width digits and minus read too),
    or None when it is not one (a name, a positive id, which is a person's private chat, or 0)."""
    text = unicodedata.normalize("NFKC", text).strip().replace("−", "-")
    return text if _TELEGRAM_GROUP_ID.fullmatch(text) else None


TOPIC_MARK = "/"  # "<chat id>/<topic id>": a topic of a forum supergroup, as a chat the bot answers in


def topic_address(chat_id: int | str, thread_id: int | None) -> str:
    """Where the bot answers a message: its chat, and in a forum supergroup the topic it was written in
    (Telegram's message_thread_id; None for the General topic and every other chat)."""
    return f"{chat_id}{TOPIC_MARK}{thread_id}" if thread_id else str(chat_id)


def split_address(address: str) -> tuple[int, int | None]:
    """The chat id and topic id (None when none) of an address made by :func:`topic_address`; ValueError
    when it is no Telegram chat id."""
    chat, mark, thread = address.strip().partition(TOPIC_MARK)
    return int(chat), (int(thread) if mark else None)


def chat_of(address: str) -> str:
    """The chat an address is in, without its topic (the same for every topic of a forum)."""
    return address.partition(TOPIC_MARK)[0]
