"""What WeCom's (企业微信) answers mean to the bot: every failure as one of the channel-neutral delivery
errors of ``bot.channels.base`` (with the WeCom ``errcode`` attached when there is one), so the outbox
sender needs no WeCom knowledge:

- 40014 / 42001 / 41001 (access token invalid, expired or missing): the API client fetches the token
  again once and retries the call once; if that fails too it is a ``TransientError``;
- 60020 (this server's IP is not among the app's trusted IPs), 40001 (invalid secret), 40013 (invalid
  corp id), 40056 / 301002 (agent id not this app's): ``ChannelDown``, a fault of the setup that fails
  every message alike (the outbox holds the notices and probes with ``WeComApi.probe``);
- 45009 (API frequency limit) → ``RetryLater(60)``; 45033 (too many concurrent calls) →
  ``RetryLater(1)``;
- 60111 / 81013 / 82001 (no such user, every recipient invalid) → ``RecipientBlocked``;
- -1 (system busy), HTTP 5xx, timeouts and network errors → ``TransientError``;
- any other errcode → ``PermanentError``.

Secrets (corp secret, access token, robot keys) never appear in errors or logs: URLs are not
included, and :func:`redact` scrubs them from anything that might carry one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import aiohttp

from bot.channels.base import (
    ChannelDown,
    DeliveryError,
    PermanentError,
    RecipientBlocked,
    RetryLater,
    TransientError,
    caused,
)
from bot.domain.give_up_reasons import of_http, of_wecom

TOKEN_ERRORS = frozenset({40014, 42001, 41001})
SECRET_ERRORS = frozenset({40001, 40013})
# Faults of the app's setup, not of a message: what each means, named for the admins and the health check.
SETUP_ERRORS = {60020: "ip_not_trusted", 40001: "bad_secret", 40013: "bad_corp_id", 40056: "bad_agent_id",
                301002: "bad_agent_id"}
RECIPIENT_ERRORS = frozenset({60111, 81013, 82001})
FREQUENCY_ERRORS = {45009: 60.0, 45033: 1.0}
BUSY_ERRORS = frozenset({-1})
_SECRET_PARAM = re.compile(r"((?:access_token|corpsecret|key|secret)=)[^&\s'\"]+", re.IGNORECASE)


def redact(text: str) -> str:
    """Remove access tokens, secrets and robot keys from a URL or message."""
    return _SECRET_PARAM.sub(r"\1***", text)


def delivery_error(errcode: int, errmsg: str, *, what: str = "") -> DeliveryError:
    """The channel-neutral meaning of a WeCom errcode (see the module docstring)."""
    text = f"{what + ': ' if what else ''}WeCom errcode {errcode}: {redact(errmsg)}"
    error: DeliveryError
    if errcode in SETUP_ERRORS:
        error = ChannelDown(SETUP_ERRORS[errcode], text)
    elif errcode in FREQUENCY_ERRORS:
        error = RetryLater(FREQUENCY_ERRORS[errcode], text)
    elif errcode in RECIPIENT_ERRORS:
        error = RecipientBlocked(text)
    elif errcode in BUSY_ERRORS or errcode in TOKEN_ERRORS:
        error = TransientError(text)
    else:
        error = caused(PermanentError(text), of_wecom(errcode))
    vars(error)["errcode"] = errcode
    return error


def errcode_of(error: BaseException) -> int | None:
    """The WeCom errcode a delivery error carries, if it came from an errcode answer."""
    return getattr(error, "errcode", None)


async def json_round_trip(request: Callable[[], Any], path: str) -> dict[str, Any]:
    """One HTTP call to WeCom (`request()` opens the aiohttp response) and its JSON answer, errcode not
    interpreted yet; network trouble, HTTP errors and a body that is not a JSON object become the
    delivery error the outbox acts on."""
    try:
        async with request() as response:
            raw, status = await response.read(), response.status
    except TimeoutError as exc:
        raise TransientError(f"{path}: timed out") from exc
    except (aiohttp.ClientError, OSError) as exc:
        raise TransientError(f"{path}: {type(exc).__name__}: {redact(str(exc))}") from exc
    if status >= 500:
        raise TransientError(f"{path}: HTTP {status}")
    if status == 429:
        raise RetryLater(60.0, f"{path}: HTTP 429")
    if status != 200:
        raise caused(PermanentError(f"{path}: HTTP {status}"), of_http(status))
    try:
        answer = json.loads(raw)
    except ValueError as exc:
        raise TransientError(f"{path}: the answer is not JSON") from exc
    if not isinstance(answer, dict):
        raise TransientError(f"{path}: unexpected answer")
    return answer
