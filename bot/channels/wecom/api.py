"""The WeCom (企业微信) server API as the bot uses it (:class:`WeComApi`): access token, message/send, media
(upload and get), menu, cards.

What each answer means to the outbox (the delivery errors raised, secrets scrubbed) is
``bot.channels.wecom.answers``. An access token refused (40014 / 42001 / 41001) is fetched again once and
the call retried once. A token request refused for the app's credentials is not repeated for a minute by
the calls (``ChannelDown`` at once), only by :meth:`WeComApi.probe`, which the outbox asks while it holds
the app's notices.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from bot.channels.base import ChannelDown, PermanentError, RecipientBlocked, RetryLater, TransientError
from bot.channels.wecom.answers import SECRET_ERRORS, TOKEN_ERRORS, delivery_error, json_round_trip, redact

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://qyapi.weixin.qq.com"
TOKEN_MARGIN = 300.0  # refresh this long before the token expires (a tenth of its life if shorter)
SECRET_FAILURE_PAUSE = 60.0


class MediumTooLarge(PermanentError):
    """``media/get``: the medium is larger than the caller takes."""


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
        a ``MediumTooLarge`` (not read further)."""
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
                            raise MediumTooLarge(f"media/get: larger than {max_bytes} bytes")
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
