"""Why the outbox gave up on a notice, as a class the admins' message words in Chinese
(``bot/templates/notices_given_up.j2``). The class is recorded with the row when the notice fails
(``outbox.fail_cause``): the transport classifies the channel's answer by its number where there is one (a WeCom
errcode, ``of_wecom``; an HTTP status, ``of_http``; Telegram answers every refusal 400, so its description is read,
``of_telegram``), and the sender records ``TRIES`` for a notice whose tries all failed. Rows failed before that was
recorded, and refusals no transport classified, are read from the error recorded with the row (``reason_of``:
``last_error``, the error's type and the channel's own words, see ``bot.services.channel_gate.describe``).

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


CAUSES = (TRIES, CONFIG, CONTENT, REFUSED)
# WeCom errcodes of a notice at fault: empty content, content too long, a bad message type or parameter, a file
# (medium) it will not take; and of the bot's setup: an account or a group robot WeCom does not know.
WECOM_CONTENT = frozenset({44004, 45002, 40008, 40058, 40007, 40004, 40005, 40006, 44001, 44003})
WECOM_CONFIG = frozenset({40003, 93000, 60103})
HTTP_CONTENT = frozenset({413, 414})  # the request (a file) too large
TELEGRAM_CONTENT = ("can't parse", "too long", "is empty", "must be non-empty", "wrong file", "button_", "reply markup",
                    "entity too large", "file is too big")


def of_wecom(errcode: int) -> str:
    """The class of a WeCom refusal, by its errcode."""
    return CONTENT if errcode in WECOM_CONTENT else CONFIG if errcode in WECOM_CONFIG else REFUSED


def of_http(status: int) -> str:
    """The class of a refusal answered by an HTTP status (4xx; a 5xx is a passing failure)."""
    return CONTENT if status in HTTP_CONTENT else REFUSED


def of_telegram(description: str) -> str:
    """The class of a Telegram refusal (a 400 Bad Request), by its description."""
    lowered = description.lower()
    return CONTENT if any(marker in lowered for marker in TELEGRAM_CONTENT) else REFUSED


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
