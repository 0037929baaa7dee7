"""Telegram Mini App sign-in: checking ``initData`` as Telegram documents it ("Validating data received via
the Mini App"): the data-check string is every field but ``hash``, as ``key=value`` sorted by key and joined
by line feeds; the secret key is HMAC-SHA256 of the bot token keyed with "WebAppData"; ``hash`` must be the
hex HMAC-SHA256 of the data-check string under that key. ``auth_date`` must be recent (``MAX_AGE``)."""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import parse_qsl, urlencode

MAX_AGE = 3600  # seconds: an initData older than this is refused (Telegram signs a new one on each open)


class InitDataError(ValueError):
    """initData is malformed, forged or too old."""


def _secret(bot_token: str) -> bytes:
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def _check_string(fields: dict[str, str]) -> str:
    return "\n".join(f"{key}={fields[key]}" for key in sorted(fields) if key != "hash")


def sign(fields: dict[str, str], bot_token: str) -> str:
    """initData for these fields, signed with the bot token (what Telegram does; the tests use it)."""
    digest = hmac.new(_secret(bot_token), _check_string(fields).encode(), hashlib.sha256).hexdigest()
    return urlencode({**fields, "hash": digest})


def telegram_user_id(init_data: str, bot_token: str, *, now: float, max_age: int = MAX_AGE) -> str:
    """The Telegram user id of a genuine, recent initData; raises InitDataError otherwise."""
    try:
        fields = dict(parse_qsl(init_data, keep_blank_values=True, strict_parsing=True))
    except ValueError as error:
        raise InitDataError("initData is not a query string") from error
    given = fields.get("hash", "")
    expected = hmac.new(_secret(bot_token), _check_string(fields).encode(), hashlib.sha256).hexdigest()
    if not given or not hmac.compare_digest(given, expected):
        raise InitDataError("initData signature does not match")
    try:
        auth_date = int(fields.get("auth_date", ""))
        user = json.loads(fields.get("user", ""))
        user_id = user["id"]
    except (ValueError, TypeError, KeyError) as error:
        raise InitDataError("initData lacks auth_date or user") from error
    if not 0 <= now - auth_date <= max_age:
        raise InitDataError("initData is too old")
    return str(int(user_id))
