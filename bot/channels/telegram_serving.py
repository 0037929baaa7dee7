"""Telegram in ``diaodu run``: reached in the background, so the rest of the bot never waits for it.

At start-up the Bot API (or the proxy in front of it) may not answer. WeCom, the scheduled jobs, the outbox
sender and the web pages start at once all the same; Telegram is tried again with a growing pause and comes in
when it answers (:class:`TelegramService`). Meanwhile the outbox sees Telegram as a channel that is down
(``ChannelDown`` "unreachable", :class:`UntilReached`): its notices are held by the channel breaker, no try
counted, and go out once Telegram answers. A refused token is raised to the caller, which refuses to run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from telegram import Update
from telegram.error import BadRequest, InvalidToken, NetworkError

from bot.channels.base import ChannelDown
from bot.channels.telegram import CHANNEL, TelegramChannel
from bot.channels.telegram_transport import TelegramTransport
from bot.config import Settings

log = logging.getLogger(__name__)

TELEGRAM_RETRY_MAX = 60.0  # seconds between tries to reach the Bot API at start-up, at most
UNREACHABLE = "unreachable"  # ChannelDown.reason while the Bot API has not answered since start-up


async def reach_telegram(application, stop: asyncio.Event) -> bool:  # type: ignore[no-untyped-def]
    """Initialize the PTB application (its first call, getMe, reaches the Bot API), trying again with a growing
    pause while the network or the Bot API is down, rather than exiting: the service manager gives up after a
    few quick failures, and WeCom and the web pages would go down with it. A refusal (a bad token, a bad
    request) is raised at once. False when `stop` came first."""
    pause = 1.0
    while not stop.is_set():
        try:
            await application.initialize()
            return True
        except BadRequest:
            raise
        except NetworkError as exc:  # no connection, a timeout, a 5xx answer
            log.warning("cannot reach the Telegram Bot API (%s); trying again in %.0f s", exc, pause)
        try:
            await asyncio.wait_for(stop.wait(), pause)
        except TimeoutError:
            pass
        pause = min(pause * 2, TELEGRAM_RETRY_MAX)
    return False


async def stop_polling(updater) -> None:  # type: ignore[no-untyped-def]
    """Stop polling Telegram if it runs. Polling that ended on a refused token (PTB ends its loop on
    ``InvalidToken``, and the outbox holds the channel's notices meanwhile) raises that again here: there
    is nothing left to stop then."""
    if updater is None or not updater.running:
        return
    try:
        await updater.stop()
    except InvalidToken:
        log.warning("Telegram polling had stopped: the bot token was refused")


class UntilReached:
    """The outbox's Telegram transport in ``diaodu run``: down as a whole (``ChannelDown`` "unreachable")
    until the Bot API has answered once, the ``TelegramTransport`` it wraps from then on."""

    channel = CHANNEL
    limits = TelegramTransport.limits

    def __init__(self, transport: TelegramTransport, reached: asyncio.Event) -> None:
        self.transport = transport
        self.reached = reached

    def is_group_chat(self, chat_id: str) -> bool:
        return self.transport.is_group_chat(chat_id)

    def _check(self) -> None:
        if not self.reached.is_set():
            raise ChannelDown(UNREACHABLE, "the Telegram Bot API has not answered since start-up")

    async def probe(self) -> None:
        self._check()
        await self.transport.probe()

    async def send(self, chat_id: str, reply: Any, **kwargs: Any) -> None:
        self._check()
        await self.transport.send(chat_id, reply, **kwargs)


class TelegramService:
    """The Telegram part of a running bot: the application once the Bot API answers (:meth:`run`), the webhook
    registered then, and polling while this process leads and Telegram has been reached (:meth:`lead`)."""

    def __init__(self, channel: TelegramChannel, settings: Settings, stop: asyncio.Event) -> None:
        self.channel = channel
        self.settings = settings
        self.stop = stop
        self.reached = asyncio.Event()
        self.transport = UntilReached(
            TelegramTransport(channel.application.bot, files_root=settings.data_dir), self.reached
        )
        self.polling = not settings.telegram_webhook_url
        self._leading = False
        self._switch = asyncio.Lock()

    async def run(self, closing: asyncio.Event, on_reached: Callable[[], Awaitable[None]]) -> None:
        """Reach the Bot API, serve until ``closing``, then stop the application. ``on_reached`` is awaited
        once Telegram answered (the outbox lets its held notices go). Raises ``InvalidToken`` when Telegram
        refuses the token, and whatever else stopped Telegram from starting, having set ``stop``."""
        try:
            async with self._serving() as reached:
                if not reached:
                    return
                self.reached.set()
                log.info("the Telegram Bot API answers: Telegram is served")
                try:
                    await on_reached()
                except Exception:  # the held notices still go at the channel's next probe
                    log.exception("could not release the Telegram notices held at start-up")
                await self._sync_polling()
                await closing.wait()  # polling, if any, stops with the application
        except Exception:  # a refused token (InvalidToken) or a failure to start: the whole bot stops on it
            self.stop.set()
            raise

    async def lead(self, leading: bool) -> None:
        """This process became the leader (True) or stopped being it: poll only while it leads."""
        self._leading = leading
        await self._sync_polling()

    async def _sync_polling(self) -> None:
        if not self.polling:
            return
        async with self._switch:
            updater = self.channel.application.updater
            if updater is None:
                return
            if self._leading and self.reached.is_set():
                if not updater.running:
                    await updater.start_polling(allowed_updates=Update.ALL_TYPES)
                    log.info("serving Telegram by polling")
            else:
                await stop_polling(updater)

    @asynccontextmanager
    async def _serving(self) -> AsyncIterator[bool]:
        """The PTB application started (and the webhook registered) for the duration of the block, once the
        Bot API answers (True); False, and nothing of Telegram runs, when ``stop`` comes before it does."""
        application = self.channel.application
        if not await reach_telegram(application, self.stop):
            yield False
            return
        async with application:
            await self.channel.publish_default_menu(application)  # run_polling would, via post_init
            await application.start()
            try:
                if self.settings.telegram_webhook_url:
                    secret = self.settings.telegram_webhook_secret.get_secret_value()  # type: ignore[union-attr]
                    await application.bot.set_webhook(
                        self.settings.telegram_webhook_url, secret_token=secret, allowed_updates=Update.ALL_TYPES
                    )
                    log.info("serving Telegram by webhook at %s", self.settings.telegram_webhook_url)
                yield True
            finally:
                await stop_polling(application.updater)
                await application.stop()
