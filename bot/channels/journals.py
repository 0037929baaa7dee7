"""The journals of the messages confirmed and not yet handled (``bot.channels.inbox``) in ``diaodu run``: what the
leader takes over from the processes that died while it ran."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.channels.telegram import TelegramChannel
    from bot.channels.wecom.callback import WeComChannel

log = logging.getLogger(__name__)


async def take_over_journals(telegram: TelegramChannel | None, wecom: WeComChannel | None) -> None:
    """Take over the journals of the processes that died while this one ran (``Inbox.take_over``), as it becomes
    the leader: what they had confirmed and not handled is handled now, not at the next start."""
    try:
        if telegram is not None and telegram.journal is not None:
            await telegram.journal.take_over()
        if wecom is not None:
            wecom.take_over()
    except OSError:  # the journals stay as they were: the next start takes them over
        log.exception("could not take over the journals of processes that died")
