"""Polling that survives an update python-telegram-bot cannot read (a field it requires missing, a newer or
older Bot API than it expects). PTB reads a whole getUpdates answer at once: one such update fails them all, the
poller asks for the same batch again, and from then on no message of anyone is handled. The request used for
getUpdates (:class:`TolerantUpdatesRequest`) replaces each unreadable update by its bare ``update_id``, logged
with what it held, so that polling moves past it."""

from __future__ import annotations

import json
import logging
from typing import Any

from telegram import Update
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
        update_id = item.get("update_id") if isinstance(item, dict) else None
        if type(update_id) is not int:
            continue  # nothing to move past: left for PTB to refuse
        try:
            Update.de_json(item, None)
        except Exception:  # whatever PTB raises on data it cannot read
            log.error("skipped Telegram update %s, which could not be read: %r", update_id, item, exc_info=True)
            result[index] = {"update_id": update_id}
            changed = True
    return json.dumps(body, ensure_ascii=False).encode() if changed else payload


class TolerantUpdatesRequest(HTTPXRequest):
    """PTB's HTTP request for polling, whose getUpdates answers hold only updates PTB can read."""

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None, *args: Any, **kwargs: Any
    ) -> tuple[int, bytes]:
        code, payload = await super().do_request(url, method, request_data, *args, **kwargs)
        if code == 200 and url.rstrip("/").lower().endswith("/getupdates"):
            payload = readable_updates(payload)
        return code, payload
