"""Why the outbox gave up on a notice, as a class the admins' message words in Chinese
(``bot/templates/notices_given_up.j2``), read from the error the outbox recorded with the row (``last_error``:
the error's type and the channel's own words, see ``bot.services.channel_gate.describe``).

- ``TRIES``: it failed for a passing reason (the network, a 5xx answer, a timeout, or anything unexpected) every
  one of its tries;
- ``CONFIG``: it could not go out because of the bot's setup, not of the notice: the chat account is not one the
  channel knows (not a WeCom userid, not a Telegram chat id), or a group robot is not configured;
- ``CONTENT``: the notice itself was at fault: it could not be read back from the outbox, or the channel refused
  its text or file (malformed, too long, too many messages at once, a file it would not take);
- ``REFUSED``: the channel refused it for a reason of its own.
"""

from __future__ import annotations

TRIES = "tries"
CONFIG = "config"
CONTENT = "content"
REFUSED = "refused"

BAD_PAYLOAD = "bad payload"  # how the sender records a row it could not read back
_REFUSALS = ("PermanentError", "AttachmentRefused", BAD_PAYLOAD)  # what the channel refused, or the sender did
_CONFIG = ("not a wecom userid", "not a telegram chat id", "no group robot named")
_CONTENT = (BAD_PAYLOAD, "AttachmentRefused", "can't parse", "too long", "is empty", "exceed the limit",
            "errcode 44004", "errcode 45002")  # WeCom: empty content; content too long


def reason_of(last_error: str | None) -> str:
    """The class of why a notice was given up on, from the error recorded with it."""
    error = (last_error or "").strip()
    if not error.startswith(_REFUSALS):
        return TRIES
    lowered = error.lower()
    if any(marker in lowered for marker in _CONFIG):
        return CONFIG
    if any(marker.lower() in lowered for marker in _CONTENT):
        return CONTENT
    return REFUSED
