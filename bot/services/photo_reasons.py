"""Why a photo could not be kept, as a code: what the photo keeper (``bot.services.photo_keeper``) stores with
a failed download (``fetch_reason``), what the channels' sources say when they refuse (``FetchFailed``), and
what the pages word in Chinese (``bot/templates/web/_photo_reason.html.j2``). The channel's own words (its
error codes and messages) go to the log only.

Final reasons (the photo is given up at once): the file is too big, gone from the channel (WeCom keeps a
sent picture three days; a Telegram file id no longer serves it), refused by the channel, or the channel is
not configured here. The others are tried again, and only a photo that failed every try for a week is given
up with one of them.
"""

from __future__ import annotations

TOO_BIG = "too_big"
GONE_WECOM = "gone_wecom"  # WeCom keeps a sent picture 3 days
GONE_TELEGRAM = "gone_telegram"  # Telegram's file id no longer serves the file
REFUSED = "refused"  # the channel refused the download (an HTTP refusal)
NO_CHANNEL = "no_channel"  # the channel is not configured here
UNREACHABLE = "unreachable"  # the channel did not answer (network, server error, flood control)
STORE = "store"  # the photo store could not be written
FAILED = "failed"  # anything else (a bug, an odd file): logged with its trace
UNKNOWN = "unknown"  # no reason was recorded

REASONS = frozenset({TOO_BIG, GONE_WECOM, GONE_TELEGRAM, REFUSED, NO_CHANNEL, UNREACHABLE, STORE, FAILED, UNKNOWN})


def shown_reason(code: str | None) -> str:
    """The reason a page words for a photo given up (a code stored before any was known reads as unknown)."""
    return code if code in REASONS else UNKNOWN
