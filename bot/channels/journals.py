"""The journals of the messages confirmed and not yet handled (``bot.channels.inbox``) in ``diaodu run``: what a
process starting hands back before its HTTP server takes anything, and what the leader takes over from the
processes that died while it ran: as it is elected, then every ``JOURNAL_TAKE_OVER_SECONDS`` while it leads (a
webhook or WeCom process that dies while the leader lives leaves messages confirmed to their sender; they wait no
longer than that). A journal is taken over once: its process's lock, then the taker's, say whose it is, and a file
taken over is deleted (``Inbox.take_over``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from bot.clock import set_within

if TYPE_CHECKING:
    from bot.channels.telegram import TelegramChannel
    from bot.channels.telegram_polling import UpdateJournal
    from bot.channels.wecom.callback import WeComChannel

log = logging.getLogger(__name__)


def resume_journal(journal: UpdateJournal) -> Callable[[web.Application], Awaitable[None]]:
    """An HTTP start-up hook putting the Telegram updates recovered from the journal (``UpdateJournal.resume``) on
    the queue before the server listens: a webhook update taken at once after a restart comes after them."""

    async def resume(_app: web.Application) -> None:
        if count := await journal.resume():
            log.warning("Telegram inbox: %d updates fetched before a restart and not handled are handled first", count)

    return resume


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


async def keep_taking_over(telegram: TelegramChannel | None, wecom: WeComChannel | None, until: asyncio.Event,
                           every: float) -> None:
    """While this process leads (until ``until`` is set): every ``every`` seconds, take over the journals of the
    processes that died meanwhile (``take_over_journals``)."""
    while not await set_within(until, every):
        await take_over_journals(telegram, wecom)
