"""What the webhook watcher makes of getWebhookInfo (bot.channels.telegram_hook_watch): Telegram keeps its last
delivery error after deliveries succeed again, so an error counts only while updates wait behind it and it is
newer than the webhook's registration and than the last look that found nothing waiting."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from telegram import WebhookInfo

from bot.channels.telegram_hook_watch import NOT_DELIVERED, WEBHOOK_LOST, HookWatch
from bot.channels.telegram_serving import HEALED_LOOKS, Healing

URL = "https://bot.example.org/telegram/hook"


def info(*, pending: int = 0, error_at: float | None = None, url: str = URL) -> WebhookInfo:
    return WebhookInfo(url=url, has_custom_certificate=False, pending_update_count=pending,
                       last_error_date=None if error_at is None else datetime.fromtimestamp(int(error_at), UTC),
                       last_error_message=None if error_at is None else "Connection refused")


def test_an_error_from_before_the_registration_or_already_healed_does_not_count() -> None:
    watch = HookWatch(URL)
    now = time.time()
    watch.seen(info(pending=1, error_at=now - 3600))  # an old error; an update on its way
    assert watch.problem is None
    watch.registered()
    watch.seen(info(pending=2, error_at=time.time()))  # an error of this second, updates waiting
    assert watch.problem == (NOT_DELIVERED, "Connection refused")
    assert watch.undelivered(0.0) == watch.problem and watch.undelivered(60.0) is None  # within the grace
    later = time.time() + 5
    watch.seen(info(pending=0, error_at=later))  # all delivered: the error is over
    assert watch.problem is None and watch.failing_since is None
    watch.seen(info(pending=1, error_at=later))  # a new update on its way, the same old error
    assert watch.problem is None
    watch.seen(info(pending=1, error_at=later + 30))  # a new error
    assert watch.problem is not None and watch.problem[0] == NOT_DELIVERED


def test_another_webhook_in_ours_place_is_lost() -> None:
    watch = HookWatch(URL)
    watch.seen(info(url=""))
    assert watch.problem == (WEBHOOK_LOST, "")
    watch.seen(info())
    assert watch.problem is None


def test_a_fault_is_over_only_once_gone_at_the_looks_in_a_row_it_takes() -> None:
    healing = Healing()
    assert [healing.saw(well) for well in (True, False, True, False)] == [False] * 4  # a blip is no end
    assert [healing.saw(True) for _ in range(HEALED_LOOKS)][-1] and HEALED_LOOKS >= 2
