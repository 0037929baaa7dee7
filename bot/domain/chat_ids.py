"""Chat ids people type: a Telegram group's id is a negative number (-1001234567890 for a supergroup)."""

from __future__ import annotations

import re
import unicodedata

_TELEGRAM_GROUP_ID = re.compile(r"-[1-9][0-9]{0,15}")


def telegram_group_id(text: str) -> str | None:
    """The Telegram group id written in `text` ("-1001234567890", full-width digits and minus read too),
    or None when it is not one (a name, a positive id, which is a person's private chat, or 0)."""
    text = unicodedata.normalize("NFKC", text).strip().replace("−", "-")
    return text if _TELEGRAM_GROUP_ID.fullmatch(text) else None
