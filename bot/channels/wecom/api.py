"""The WeCom (企业微信) server API as the bot uses it: access token, message/send, media (upload and
get), menu, cards.

Every failure is raised as one of the channel-neutral delivery errors of ``bot.channels.base`` (with
the WeCom ``errcode`` attached when there is one), so the outbox sender needs no WeCom knowledge:

- 40014 / 42001 / 41001 (access token invalid, expired or missing): the token is fetched again once
  and the call retried once; if that fails too it is a ``TransientError``;
- 60020 (this server's IP is not among the app's trusted IPs), 40001 (invalid secret), 40013 (invalid
  corp id), 40056 / 301002 (agent id not this app's): ``ChannelDown``, a fault of the setup that fails
  every message alike (the outbox holds the notices and probes with :meth:`WeComApi.probe`); a refused
  token request is not repeated for a minute by the calls either;
- 45009 (API frequency limit) → ``RetryLater(60)``; 45033 (too many concurrent calls) →
  ``RetryLater(1)``;
- 60111 / 81013 / 82001 (no such user, every recipient invalid) and a ``invaliduser`` answer naming
  the recipient → ``RecipientBlocked``;
- -1 (system busy), HTTP 5xx, timeouts and network errors → ``TransientError``;
- any other errcode → ``PermanentError``.

Secrets (corp secret, access token, robot keys) never appear in errors or logs: URLs are not
included, and :func:`redact` scrubs them from anything that might carry one.

Also here: :class:`TtlCache` (bounded, expiring; callback dedupe, button memories) and
:class:`SlidingWindow` (at most N sends per key in any window of T seconds; WeCom drops messages
over its per-member and per-robot limits silently, so the limit is enforced before sending).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

import aiohttp

from bot.channels.base import (
    ChannelDown,
    DeliveryError,
    PermanentError,
    RecipientBlocked,
    RetryLater,
    TransientError,
)

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://qyapi.weixin.qq.com"
TOKEN_ERRORS = frozenset({40014, 42001, 41001})
SECRET_ERRORS = frozenset({40001, 40013})
# Faults of the app's setup, not of a message: what each means, named for the admins and the health check.
SETUP_ERRORS = {60020: "ip_not_trusted", 40001: "bad_secret", 40013: "bad_corp_id", 40056: "bad_agent_id",
                301002: "bad_agent_id"}
RECIPIENT_ERRORS = frozenset({60111, 81013, 82001})
FREQUENCY_ERRORS = {45009: 60.0, 45033: 1.0}
BUSY_ERRORS = frozenset({-1})
TOKEN_MARGIN = 300.0  # refresh this long before the token expires (a tenth of its life if shorter)
SECRET_FAILURE_PAUSE = 60.0
_SECRET_PARAM = re.compile(r"((?:access_token|corpsecret|key|secret)=)[^&\s'\"]+", re.IGNORECASE)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


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
        error = PermanentError(text)
    vars(error)["errcode"] = errcode
    return error


def errcode_of(error: BaseException) -> int | None:
    """The WeCom errcode a delivery error carries, if it came from an errcode answer."""
    return getattr(error, "errcode", None)


# ---------------------------------------------------------------- small tools


class TtlCache(Generic[K, V]):
    """A bounded mapping whose entries expire ``ttl`` seconds after they were set (oldest evicted first)."""

    def __init__(self, *, ttl: float, max_items: int,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if ttl <= 0 or max_items < 1:
            raise ValueError("ttl and max_items must be positive")
        self.ttl = ttl
        self.max_items = max_items
        self._monotonic = monotonic
        self._items: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def _expire(self) -> None:
        now = self._monotonic()
        while self._items:
            key, (expires, _value) = next(iter(self._items.items()))
            if expires > now:
                break
            del self._items[key]

    def get(self, key: K, default: V | None = None) -> V | None:
        self._expire()
        found = self._items.get(key)
        return default if found is None else found[1]

    def __contains__(self, key: object) -> bool:
        self._expire()
        return key in self._items

    def set(self, key: K, value: V) -> None:
        self._expire()
        self._items.pop(key, None)
        self._items[key] = (self._monotonic() + self.ttl, value)
        while len(self._items) > self.max_items:
            self._items.popitem(last=False)

    def add(self, key: K, value: V) -> bool:
        """Set the key unless it is present; True when it was new."""
        if key in self:
            return False
        self.set(key, value)
        return True

    def pop(self, key: K) -> V | None:
        self._expire()
        found = self._items.pop(key, None)
        return None if found is None else found[1]

    def __len__(self) -> int:
        self._expire()
        return len(self._items)


class SlidingWindow:
    """At most ``limit`` events per key in any ``period`` seconds, counted where they happen (here)."""

    def __init__(self, limit: int, period: float, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        if limit < 1 or period <= 0:
            raise ValueError("limit and period must be positive")
        self.limit = limit
        self.period = period
        self._monotonic = monotonic
        self._events: dict[Hashable, deque[float]] = {}

    def _window(self, key: Hashable) -> deque[float]:
        now = self._monotonic()
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - self.period:
            events.popleft()
        if len(self._events) > 10_000:  # forget idle keys
            for idle in [k for k, v in self._events.items() if not v and k != key]:
                del self._events[idle]
        return events

    def delay(self, key: Hashable, n: int = 1) -> float:
        """Seconds until ``n`` more events fit (0 when they fit now)."""
        if n > self.limit:
            raise ValueError(f"{n} events can never fit in a window of {self.limit}")
        events = self._window(key)
        excess = len(events) + n - self.limit
        if excess <= 0:
            return 0.0
        return max(0.0, events[excess - 1] + self.period - self._monotonic())

    def record(self, key: Hashable, n: int = 1) -> None:
        events = self._window(key)
        now = self._monotonic()
        events.extend([now] * n)

    async def acquire(self, key: Hashable, n: int = 1, *, max_wait: float) -> None:
        """Take ``n`` slots, waiting up to ``max_wait`` seconds; ``RetryLater`` when that is not enough."""
        if n > self.limit:
            raise PermanentError(f"{n} messages at once exceed the limit of {self.limit} per "
                                 f"{self.period:g} s")
        waited = 0.0
        while True:
            wait = self.delay(key, n)
            if wait <= 0:
                self.record(key, n)
                return
            if waited + wait > max_wait:
                raise RetryLater(wait, f"over {self.limit} messages in {self.period:g} s; "
                                       f"retry after {wait:.1f} s")
            await asyncio.sleep(wait)
            waited += wait


# ---------------------------------------------------------------- the API client


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
        raise PermanentError(f"{path}: HTTP {status}")
    try:
        answer = json.loads(raw)
    except ValueError as exc:
        raise TransientError(f"{path}: the answer is not JSON") from exc
    if not isinstance(answer, dict):
        raise TransientError(f"{path}: unexpected answer")
    return answer


class WeComApi:
    """One self-built app's server API: ``gettoken`` with a cached token, and the calls the bot makes.

    The aiohttp session is created on first use (inside the running loop) unless one is given;
    ``close()`` closes it only if it is ours.
    """

    def __init__(
        self,
        *,
        corp_id: str,
        secret: str,
        agent_id: int,
        base_url: str = DEFAULT_API_BASE,
        timeout: float = 10.0,
        session: aiohttp.ClientSession | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not corp_id or not secret or not agent_id:
            raise ValueError("corp_id, secret and agent_id are required")
        self.corp_id = corp_id
        self._secret = secret
        self.agent_id = int(agent_id)
        self.base_url = (base_url or DEFAULT_API_BASE).rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session = session
        self._own_session = session is None
        self._monotonic = monotonic
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()
        self._secret_failed_until = 0.0
        self._secret_failure: ChannelDown | None = None
        self.token_fetches = 0

    def __repr__(self) -> str:  # never show the secret or the token
        return f"WeComApi(corp_id={self.corp_id!r}, agent_id={self.agent_id}, base_url={self.base_url!r})"

    async def __aenter__(self) -> WeComApi:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
            self._own_session = True
        return self._session

    async def close(self) -> None:
        if self._own_session and self._session is not None and not self._session.closed:
            await self._session.close()

    def url(self, path: str) -> str:
        return f"{self.base_url}/cgi-bin/{path.lstrip('/')}"

    # -- transport

    async def _request(self, method: str, path: str, *, params: dict[str, Any], json_body: Any = None,
                       form: Callable[[], aiohttp.FormData] | None = None) -> dict[str, Any]:
        """One HTTP round trip; the answer's JSON (errcode not interpreted yet)."""
        kwargs: dict[str, Any] = {"params": params}
        if json_body is not None:
            kwargs["data"] = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
            kwargs["headers"] = {"Content-Type": "application/json; charset=utf-8"}
        elif form is not None:
            kwargs["data"] = form()
        return await json_round_trip(lambda: self.session.request(method, self.url(path), **kwargs), path)

    # -- access token

    async def access_token(self, *, stale: str | None = None, probe: bool = False) -> str:
        """The cached token, fetched when missing, near expiry, or equal to ``stale`` (refused by WeCom).

        ``probe``: ask WeCom even within the minute after it refused the credentials (``probe``)."""
        if self._token and self._token != stale and self._monotonic() < self._token_expires:
            return self._token
        async with self._token_lock:
            now = self._monotonic()
            if self._token and self._token != stale and now < self._token_expires:
                return self._token  # another caller refreshed it while we waited
            if now < self._secret_failed_until and not probe:
                refused = self._secret_failure
                raise ChannelDown(refused.reason if refused else "bad_secret",
                                  f"WeCom refused the app credentials a moment ago ({refused}); not asking again yet")
            answer = await self._request("GET", "gettoken",
                                         params={"corpid": self.corp_id, "corpsecret": self._secret})
            errcode = int(answer.get("errcode") or 0)
            if errcode:
                error = delivery_error(errcode, str(answer.get("errmsg", "")), what="gettoken")
                if errcode in SECRET_ERRORS and isinstance(error, ChannelDown):
                    self._secret_failed_until = now + SECRET_FAILURE_PAUSE
                    self._secret_failure = error
                    log.error("WeCom refused the app credentials (check WECOM_CORP_ID / WECOM_SECRET): %s",
                              error)
                raise error
            token = answer.get("access_token")
            if not isinstance(token, str) or not token:
                raise TransientError("gettoken: no access_token in the answer")
            expires_in = float(answer.get("expires_in") or 7200)
            margin = min(TOKEN_MARGIN, expires_in / 10)
            self._token = token
            self._token_expires = self._monotonic() + expires_in - margin
            self._secret_failed_until, self._secret_failure = 0.0, None
            self.token_fetches += 1
            return token

    def forget_token(self) -> None:
        self._token = None
        self._token_expires = 0.0

    async def probe(self) -> None:
        """Whether the app's credentials work now: a fresh ``gettoken``, raising its delivery error if not
        (``ChannelDown`` while the setup is still wrong). The outbox asks this while it holds the app's
        notices. A trusted-IP fault does not show here (WeCom hands out tokens to any address): the
        outbox's trial notice finds that out."""
        await self.access_token(stale=self._token, probe=True)

    # -- calls

    async def call(self, path: str, *, json_body: Any = None, params: dict[str, Any] | None = None,
                   form: Callable[[], aiohttp.FormData] | None = None,
                   method: str = "POST") -> dict[str, Any]:
        """Call an API with the access token; an invalid or expired token is refreshed once and the
        call retried once. Returns the answer when its errcode is 0; raises a delivery error otherwise."""
        token = await self.access_token()
        for attempt in (1, 2):
            query = {**(params or {}), "access_token": token}
            answer = await self._request(method, path, params=query, json_body=json_body, form=form)
            errcode = int(answer.get("errcode") or 0)
            if errcode in TOKEN_ERRORS and attempt == 1:
                log.info("WeCom access token refused (errcode %s); fetching a new one", errcode)
                token = await self.access_token(stale=token)
                continue
            if errcode:
                raise delivery_error(errcode, str(answer.get("errmsg", "")), what=path)
            return answer
        raise AssertionError("unreachable")

    async def send_message(self, touser: str, msgtype: str, content: dict[str, Any],
                           **options: Any) -> dict[str, Any]:
        """``message/send`` to one member; ``RecipientBlocked`` when WeCom names them invalid."""
        body = {"touser": touser, "msgtype": msgtype, "agentid": self.agent_id, msgtype: content, **options}
        answer = await self.call("message/send", json_body=body)
        for field in ("invaliduser", "unlicenseduser"):
            # WeCom answers these userids in lower case (userids are case-insensitive there)
            listed = {u.lower() for u in str(answer.get(field) or "").split("|") if u}
            if touser.lower() in listed:
                error = RecipientBlocked if field == "invaliduser" else PermanentError
                raise error(f"message/send: WeCom lists {touser!r} as {field}")
        return answer

    async def upload_media(self, kind: str, data: bytes, filename: str, content_type: str) -> str:
        """``media/upload`` (a temporary medium, valid three days); returns its media_id."""

        def form() -> aiohttp.FormData:
            fields = aiohttp.FormData(quote_fields=False)  # raw UTF-8 file names, as WeCom expects
            fields.add_field("media", data, filename=filename, content_type=content_type)
            return fields

        answer = await self.call("media/upload", params={"type": kind}, form=form)
        media_id = answer.get("media_id")
        if not isinstance(media_id, str) or not media_id:
            raise TransientError("media/upload: no media_id in the answer")
        return media_id

    async def get_media(self, media_id: str, *, max_bytes: int) -> bytes:
        """``media/get``: the bytes of a temporary medium (an image a member sent; WeCom keeps it three days).

        WeCom answers the file itself, or JSON with an errcode (40007: no such medium, or expired): that is
        raised like any call's error, the token refreshed once when refused. A medium over `max_bytes` is
        a ``PermanentError`` (not read further)."""
        token = await self.access_token()
        for attempt in (1, 2):
            params = {"access_token": token, "media_id": media_id}
            try:
                async with self.session.get(self.url("media/get"), params=params) as response:
                    status = response.status
                    if status >= 500:
                        raise TransientError(f"media/get: HTTP {status}")
                    if status == 429:
                        raise RetryLater(60.0, "media/get: HTTP 429")
                    if status != 200:
                        raise PermanentError(f"media/get: HTTP {status}")
                    if response.content_type in ("application/json", "text/plain"):
                        raw = await response.content.read(64 * 1024)
                        data = None
                    else:
                        data = await response.content.read(max_bytes + 1)
                        if len(data) > max_bytes:
                            raise PermanentError(f"media/get: larger than {max_bytes} bytes")
            except TimeoutError as exc:
                raise TransientError("media/get: timed out") from exc
            except (aiohttp.ClientError, OSError) as exc:
                raise TransientError(f"media/get: {type(exc).__name__}: {redact(str(exc))}") from exc
            if data is not None:
                return data
            try:
                answer = json.loads(raw)
            except ValueError as exc:
                raise TransientError("media/get: the answer is neither a file nor JSON") from exc
            errcode = int(answer.get("errcode") or 0) if isinstance(answer, dict) else -1
            if errcode in TOKEN_ERRORS and attempt == 1:
                token = await self.access_token(stale=token)
                continue
            raise delivery_error(errcode, str(answer.get("errmsg", "") if isinstance(answer, dict) else ""),
                                 what="media/get")
        raise AssertionError("unreachable")

    async def create_menu(self, menu: dict[str, Any]) -> None:
        await self.call("menu/create", params={"agentid": self.agent_id}, json_body=menu)

    async def update_card_button(self, userid: str, response_code: str, replace_name: str) -> None:
        """Turn the buttons of a pressed card into one unpressable label."""
        await self.call("message/update_template_card", json_body={
            "userids": [userid], "agentid": self.agent_id, "response_code": response_code,
            "button": {"replace_name": replace_name},
        })


def image_type(data: bytes) -> str | None:
    """The MIME type of a JPEG or PNG file by its first bytes (the image kinds WeCom shows inline), else None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    return None
