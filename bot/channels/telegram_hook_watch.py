"""Whether Telegram serves the bot in webhook mode: the Bot API answers, and delivers the updates to the webhook.

In polling mode every getUpdates says whether the Bot API answers (``telegram_updates.PollWatch``). In webhook
mode nothing asks the Bot API while no notice is due, and a webhook Telegram cannot deliver to (a wrong URL, a
certificate it refuses, the reverse proxy or this server answering errors) is seen only by Telegram. So
:class:`HookWatch` looks at ``getWebhookInfo`` (the Bot API's ``url``, ``pending_update_count``,
``last_error_date``, ``last_error_message``) at each look of the watcher (``telegram_serving``): the Bot API
not answering, or refusing the token, is what polling failing would be; updates waiting behind a delivery error
newer than the last time none waited mean the webhook does not receive (:data:`NOT_DELIVERED`); another URL
registered in our place (a second deployment with the same token, a webhook deleted for polling) is
:data:`WEBHOOK_LOST`. Telegram keeps its last error after deliveries succeed again: an error counts only when
it is newer than the webhook's registration and than the last look that found nothing waiting.
"""

from __future__ import annotations

import logging
import time

from telegram import Bot, WebhookInfo
from telegram.error import InvalidToken, NetworkError

from bot.channels.telegram_updates import PollWatch

log = logging.getLogger(__name__)

NOT_DELIVERED = "webhook_failing"  # Telegram cannot deliver the updates to the webhook
WEBHOOK_LOST = "webhook_lost"  # the webhook registered with Telegram is not ours any more


class HookWatch:
    """What the looks at ``getWebhookInfo`` found: ``api`` whether the Bot API answered, ``problem`` (reason,
    Telegram's words) what keeps the updates from reaching the webhook since ``failing_since``
    (``time.monotonic()``), None while they reach it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.api = PollWatch()
        self.seen_error = time.time()  # a delivery error at or before this (unix time) is old news
        self.problem: tuple[str, str] | None = None
        self.failing_since: float | None = None

    def registered(self) -> None:
        """The webhook was just registered: the errors Telegram met before are over (Telegram dates its errors
        in whole seconds: an error of this very second counts)."""
        self.seen_error = float(int(time.time()) - 1)

    async def look(self, bot: Bot) -> None:
        """Ask the Bot API how the webhook fares."""
        try:
            info = await bot.get_webhook_info()
        except InvalidToken:
            self.api.token_refused()
            return
        except NetworkError:  # no connection, a timeout, a 5xx answer
            self.api.failed()
            return
        self.api.answered()
        self.seen(info)

    def seen(self, info: WebhookInfo) -> None:
        error_at = info.last_error_date.timestamp() if info.last_error_date is not None else None
        if info.url != self.url:
            problem: tuple[str, str] | None = (WEBHOOK_LOST, info.url)
        elif info.pending_update_count and error_at is not None and error_at > self.seen_error:
            problem = (NOT_DELIVERED, info.last_error_message or "")
        else:
            problem = None
            if not info.pending_update_count and error_at is not None:
                self.seen_error = max(self.seen_error, error_at)
        if problem is not None and self.failing_since is None:
            self.failing_since = time.monotonic()
            log.warning("Telegram's webhook: %s (%s), %d update(s) waiting", problem[0], problem[1],
                        info.pending_update_count)
        elif problem is None:
            self.failing_since = None
        self.problem = problem

    def undelivered(self, grace: float) -> tuple[str, str] | None:
        """(reason, Telegram's words) once the updates have not reached the webhook for ``grace`` seconds."""
        if self.problem is None or self.failing_since is None or time.monotonic() - self.failing_since < grace:
            return None
        return self.problem
