"""Telegram in ``diaodu run``: reached in the background, so the rest of the bot never waits for it.

At start-up the Bot API (or the proxy in front of it) may not answer. WeCom, the scheduled jobs, the outbox
sender and the web pages start at once all the same; Telegram is tried again with a growing pause and comes in
when it answers (:class:`TelegramService`). Meanwhile the outbox sees Telegram as a channel that is down
(``ChannelDown`` "unreachable", :class:`UntilReached`): its notices are held by the channel breaker, no try
counted, and go out once Telegram answers. A refused token is raised to the caller, which refuses to run.

While it runs, :meth:`TelegramService.watch` tells the channel gate (and through it the admins, on their other
channels, and ``/readyz``) when Telegram cannot be reached for ``UNREACHABLE_GRACE`` (at start-up, or polling
failing), or polling stopped on a refused token, even when no notice is due; once per outage, and once when it
works again: at the ``HEALED_LOOKS``-th look in a row that finds it so (:class:`Healing`), not at one good look
in the middle of an outage. A token refused while polling and accepted again later (a token reset in @BotFather and then
restored) gets polling going again: polling (``bot.channels.telegram_polling``) ends on a 401, and is started
anew then.

Updates are journaled until handled (``bot.channels.telegram_polling``): what the journal holds from before a
restart is queued first, before the HTTP server takes any webhook update (``bot.channels.journals.resume_journal``).

In webhook mode the watcher asks ``getWebhookInfo`` at each look (``telegram_hook_watch``): the Bot API not
answering for ``UNREACHABLE_GRACE``, or refusing the token, is told as polling's would be; updates Telegram
cannot deliver to the webhook for as long (or another webhook registered in ours' place) are told as the channel
not receiving (``Gate.not_receiving``): what the bot sends still goes, so nothing is held.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol

from telegram import Update
from telegram.error import BadRequest, InvalidToken, NetworkError

from bot.channels.base import ChannelDown
from bot.channels.telegram import CHANNEL, TelegramChannel
from bot.channels.telegram_hook_watch import HookWatch
from bot.channels.telegram_polling import JournaledPolling
from bot.channels.telegram_transport import BAD_TOKEN, TelegramTransport
from bot.clock import set_within
from bot.config import Settings

log = logging.getLogger(__name__)

TELEGRAM_RETRY_MAX = 60.0  # seconds between tries to reach the Bot API at start-up, at most
UNREACHABLE = "unreachable"  # ChannelDown.reason while the Bot API has not answered since start-up
UNREACHABLE_GRACE = 120.0  # seconds Telegram may not answer before the admins are told
WATCH_EVERY = 30.0  # seconds between two looks at whether Telegram answers
HEALED_LOOKS = 2  # looks in a row that find a fault gone before the admins are told it is over


class Healing:
    """Whether a fault told to the admins is over: gone at ``HEALED_LOOKS`` looks in a row. One good look in
    an outage (the Bot API answering once, or no update waiting at that moment behind a proxy still down) is no
    end of it: telling "works again" then would be followed by "down" at the next look."""

    def __init__(self) -> None:
        self.good_looks = 0

    def saw(self, well: bool) -> bool:
        """This look found all well (True) or not; whether it has been well for ``HEALED_LOOKS`` looks now."""
        self.good_looks = self.good_looks + 1 if well else 0
        return self.good_looks >= HEALED_LOOKS


class Gate(Protocol):
    """What the watcher tells (``bot.services.channel_gate.ChannelGate``)."""

    async def down(self, channel: str, error: ChannelDown) -> None: ...

    async def works(self, channel: str) -> None: ...

    async def not_receiving(self, channel: str, error: ChannelDown) -> None: ...

    async def receiving(self, channel: str) -> None: ...


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
        await set_within(stop, pause)
        pause = min(pause * 2, TELEGRAM_RETRY_MAX)
    return False


async def stop_polling(poller: JournaledPolling | None) -> None:
    """Stop polling Telegram if it runs. Polling that ended on a refused token (the loop ends on
    ``InvalidToken``, and the outbox holds the channel's notices meanwhile) raises that again here: there
    is nothing left to stop then."""
    if poller is None or not poller.running:
        return
    try:
        await poller.stop()
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

    async def send(self, chat_id: str, reply: Any, **kwargs: Any) -> list[str]:
        self._check()
        return await self.transport.send(chat_id, reply, **kwargs)


class TelegramService:
    """The Telegram part of a running bot: the application once the Bot API answers (:meth:`run`), the webhook
    registered then, and polling while this process leads and Telegram has been reached (:meth:`lead`)."""

    def __init__(self, channel: TelegramChannel, settings: Settings, stop: asyncio.Event) -> None:
        self.channel = channel
        self.settings = settings
        self.stop = stop
        self.reached = asyncio.Event()
        self.transport = UntilReached(
            TelegramTransport(channel.application.bot, files_root=settings.data_dir, rights=channel.rights),
            self.reached
        )
        self.polling = not settings.telegram_webhook_url
        self.poller = JournaledPolling(channel.application, channel.journal, channel.polls)
        self.started = time.monotonic()
        self._leading = False
        self._switch = asyncio.Lock()
        self._told: str | None = None  # the fault the gate was told of by the watcher
        self.hook = None if self.polling else HookWatch(str(settings.telegram_webhook_url))
        self._told_receiving: str | None = None  # what keeps the webhook from receiving, as told ("": nothing)
        self._answering = Healing()  # the Bot API answering (and the token accepted), look after look
        self._delivering = Healing()  # the webhook receiving, look after look

    async def run(self, closing: asyncio.Event, on_reached: Callable[[], Awaitable[None]]) -> None:
        """Reach the Bot API, serve until ``closing``, then stop the application. ``on_reached`` is awaited
        once Telegram answered (the outbox lets its held notices go). Raises ``InvalidToken`` when Telegram
        refuses the token, and whatever else stopped Telegram from starting, having set ``stop``."""
        journal = self.channel.journal
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
        finally:
            if journal is not None:  # kept for the next start if something is left in it
                await journal.close()

    async def lead(self, leading: bool) -> None:
        """This process became the leader (True) or stopped being it: poll only while it leads."""
        self._leading = leading
        await self._sync_polling()

    async def watch(self, closing: asyncio.Event, gate: Gate) -> None:
        """Until ``closing``: every ``WATCH_EVERY`` seconds, tell ``gate`` of a fault of Telegram found meanwhile
        (:meth:`check`), and get polling going again once a refused token is accepted."""
        while not await set_within(closing, WATCH_EVERY):
            try:
                await self.check(gate)
            except Exception:  # the next look tries again
                log.exception("could not check whether Telegram answers")

    async def check(self, gate: Gate) -> None:
        """Tell ``gate`` that Telegram is down (once per fault) or works again, as the Bot API answered since
        start-up and polling met lately; a token refused while polling is tried again (``getMe``)."""
        polls = self.channel.polls
        if self.reached.is_set() and not self._leading:
            return  # another process polls, or looks at the webhook, and tells
        if self.reached.is_set() and self.polling and polls.refused and await self._token_accepted():
            await self._poll_anew()
        if self.reached.is_set() and self.hook is not None:
            await self.hook.look(self.channel.application.bot)
        fault = self._fault()
        polls = self.hook.api if self.hook is not None else polls
        healed = self._answering.saw(self.reached.is_set() and polls.failing_since is None and not polls.refused)
        if fault is not None and self._told != fault[0]:
            self._told = fault[0]
            await gate.down(CHANNEL, ChannelDown(*fault))
        elif fault is None and self._told is not None and healed:
            self._told = None
            await gate.works(CHANNEL)
        if fault is None and self.hook is not None and self.reached.is_set():
            await self._check_receiving(gate, self.hook)
        else:  # a fault seen: no look at the webhook, so the looks that found it receiving are no longer in a row
            self._delivering.saw(False)

    async def _check_receiving(self, gate: Gate, hook: HookWatch) -> None:
        """Tell ``gate`` that the webhook does not receive (once per fault), or receives again (at the
        ``HEALED_LOOKS``-th look in a row that finds it receiving, which also tells the end of a fault told before
        this process started, if any). A look the Bot API did not answer found nothing: it breaks the row."""
        problem = hook.undelivered(UNREACHABLE_GRACE)
        answered = hook.api.failing_since is None and not hook.api.refused
        healed = self._delivering.saw(answered and hook.problem is None)
        if problem is not None and self._told_receiving != problem[0]:
            self._told_receiving = problem[0]
            await gate.not_receiving(CHANNEL, ChannelDown(*problem))
        elif problem is None and healed and self._told_receiving != "":
            self._told_receiving = ""
            await gate.receiving(CHANNEL)

    def _fault(self) -> tuple[str, str] | None:
        """(reason, words) of what keeps Telegram from being served now, None when nothing does."""
        if not self.reached.is_set():
            if time.monotonic() - self.started < UNREACHABLE_GRACE:
                return None
            return UNREACHABLE, "the Telegram Bot API has not answered since start-up"
        polls = self.hook.api if self.hook is not None else self.channel.polls
        if polls.refused:
            return BAD_TOKEN, "invalid bot token: the Bot API refused it (401 Unauthorized)"
        if polls.failing_for() >= UNREACHABLE_GRACE:
            asking = "getWebhookInfo" if self.hook is not None else "polling"
            return UNREACHABLE, f"{asking} has not reached the Telegram Bot API for {polls.failing_for():.0f} s"
        return None

    async def _token_accepted(self) -> bool:
        try:
            await self.channel.application.bot.get_me()
        except (InvalidToken, NetworkError):  # still refused, or cannot tell
            return False
        return True

    async def _poll_anew(self) -> None:
        """Polling ended on a refused token that is accepted now: it is stopped and started anew."""
        async with self._switch:
            await stop_polling(self.poller)
        self.channel.polls.answered()
        log.warning("Telegram accepts the bot token again: polling starts anew")
        await self._sync_polling()

    async def _sync_polling(self) -> None:
        if not self.polling:
            return
        async with self._switch:
            if self._leading and self.reached.is_set():
                if not self.poller.running:
                    self.channel.polls.answered()  # what an earlier polling met is over
                    await self.poller.start()
                    log.info("serving Telegram by polling")
            else:
                await stop_polling(self.poller)

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
                    if self.hook is not None:
                        self.hook.registered()
                    log.info("serving Telegram by webhook at %s", self.settings.telegram_webhook_url)
                yield True
            finally:
                await stop_polling(self.poller)
                await application.stop()
