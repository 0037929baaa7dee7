"""Polling that survives an update python-telegram-bot cannot read (a field it requires missing, a newer or
older Bot API than it expects). PTB reads a whole getUpdates answer at once: one such update fails them all, the
poller asks for the same batch again, and from then on no message of anyone is handled. The request used for
getUpdates (:class:`TolerantUpdatesRequest`) replaces each unreadable update by its bare ``update_id``, logged
with what it held, so that polling moves past it. The webhook skips such an update alike (:func:`readable_update`).

The same request tells a :class:`PollWatch` whether polling reaches the Bot API, so that an outage is noticed
while no message is due."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from telegram import Bot, Update
from telegram.error import NetworkError
from telegram.request import HTTPXRequest, RequestData

log = logging.getLogger(__name__)


def readable_updates(payload: bytes) -> bytes:
    """A getUpdates answer in which every update can be read: one that cannot is reduced to its update_id.
    Anything that is not a successful answer holding a list is returned as it came."""
    try:
        body = json.loads(payload)
    except ValueError:
        return payload
    result = body.get("result") if isinstance(body, dict) else None
    if not isinstance(result, list):
        return payload
    changed = False
    for index, item in enumerate(result):
        update_id = update_id_of(item)
        if update_id is None:
            continue  # nothing to move past: left for PTB to refuse
        if readable_update(item, update_id, None) is None:
            result[index] = {"update_id": update_id}
            changed = True
    return json.dumps(body, ensure_ascii=False).encode() if changed else payload


def update_id_of(payload: object) -> int | None:
    """The integer ``update_id`` of what Telegram sent, None when it is not an update at all."""
    update_id = payload.get("update_id") if isinstance(payload, dict) else None
    return update_id if type(update_id) is int else None


def readable_update(item: dict[str, Any], update_id: int, bot: Bot | None) -> Update | None:
    """The Update ``item`` holds, or None, logged at error level with what it held, when PTB cannot read it
    (then the update is skipped: by polling, and by the webhook, which still answers 200 so that Telegram does
    not send it again and again)."""
    try:
        return Update.de_json(item, bot)
    except Exception:  # whatever PTB raises on data it cannot read
        log.error("skipped Telegram update %s, which could not be read: %r", update_id, item, exc_info=True)
        return None


class PollWatch:
    """What polling's getUpdates requests met lately: answers, trouble reaching the Bot API (no connection, a
    timeout, a 5xx answer) since ``failing_since`` (``time.monotonic()``), or a refused token (401, after which
    python-telegram-bot stops polling for good). ``bot.channels.telegram_serving`` watches it."""

    def __init__(self) -> None:
        self.failing_since: float | None = None
        self.refused = False

    def answered(self) -> None:
        self.failing_since = None
        self.refused = False

    def failed(self) -> None:
        if self.failing_since is None:
            self.failing_since = time.monotonic()

    def token_refused(self) -> None:
        self.refused = True

    def failing_for(self) -> float:
        """Seconds polling has not reached the Bot API (0 while it does)."""
        return 0.0 if self.failing_since is None else time.monotonic() - self.failing_since


class TolerantUpdatesRequest(HTTPXRequest):
    """PTB's HTTP request for polling, whose getUpdates answers hold only updates PTB can read; what each
    getUpdates met is told to ``watch``."""

    def __init__(self, *args: Any, watch: PollWatch | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.watch = watch or PollWatch()

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None, *args: Any, **kwargs: Any
    ) -> tuple[int, bytes]:
        updates = url.rstrip("/").lower().endswith("/getupdates")
        try:
            code, payload = await super().do_request(url, method, request_data, *args, **kwargs)
        except NetworkError:  # no connection, a timeout
            if updates:
                self.watch.failed()
            raise
        if updates:
            if code == 200:
                self.watch.answered()
                payload = readable_updates(payload)
            elif code == 401:
                self.watch.token_refused()
            elif code >= 500:
                self.watch.failed()
        return code, payload
