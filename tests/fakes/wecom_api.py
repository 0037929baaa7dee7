"""A small fake WeCom (企业微信) server speaking real HTTP, for end-to-end tests of the WeCom channel.

The API side implements what the bot calls: ``gettoken``, ``message/send`` (text, markdown, image,
file, template_card), ``message/update_template_card``, ``media/upload``, ``menu/create``,
``auth/getuserinfo`` (网页授权: codes made by ``oauth_code``, each valid once), and for group robots
``webhook/send`` and ``webhook/upload_media``; ``media/get`` serves the images members sent
(``add_sent_image``) as WeCom does: the file itself, or errcode 40007 once it is gone. Like WeCom it refuses
what WeCom would refuse (errcode answers): unknown tokens (40014), expired ones (42001), a wrong secret
(40001), unknown recipients (81013, or ``invaliduser``), content over 2048 bytes (4096 for robots), cards
with more than 6 buttons or repeated keys or a reused task_id, an image whose md5 does not match,
a menu with more than 3 top-level buttons, and more than 20 messages a minute from one robot
(45009). A member gets at most 30 app messages a minute and 1,000 an hour: as in WeCom, the excess is
answered errcode 0 and never shown (``dropped``), so a bot that does not keep to the limit loses messages
silently; ``now`` (seconds, real time by default) is the clock these windows count on, which a test sets to
the bot's own. A card button's text over the 10 characters WeCom documents (按钮文案，建议不超过10个字) is taken,
as WeCom does, but its client shows it cut: such texts are kept in ``cut_buttons``, and ``Card.shown_labels``
is what a member sees. ``expire_tokens()`` makes every token issued so far answer 42001 (once each), at once
or after a number of messages;
``inject_fault(path, errcode=… | status=…, times=…, delay=…)`` makes a path misbehave. ``untrusted_ip``
(an address, None by default) is the app's trusted-IP list refusing the bot: as in WeCom, ``gettoken``
still hands out tokens, and every other app API call is answered errcode 60020 naming that address.

The callback side is what WeCom does to the bot: it builds the encrypted, signed XML envelope of a
user's message (``text_xml``, ``image_xml``, ``event_xml``, ``card_event_xml``, ``envelope``) and
posts it to the bot's callback URL (``post_callback``). ``shown(userid)`` is what that user's
WeCom client displays (markdown rendered the way WeCom's renderer treats it: tags it does not know
vanish, character references are not decoded), so escaping bugs fail tests.

Usage::

    async with FakeWeCom() as fake:
        fake.add_user("HaoFang")
        status, _ = await fake.post_callback(url, fake.text_xml("HaoFang", "/help"))
        ...
        assert "/start" in fake.shown("HaoFang")[-1]
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import json
import os
import re
import secrets
import time
import unicodedata
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from yarl import URL

from bot.channels.wecom.crypto import WeComCrypto
from tests.fakes.serving import serve_locally, wait_for_wake, wake

JSON = dict[str, Any]

TEXT_MAX = 2048
APP_MARKDOWN_MAX = 2048
ROBOT_MARKDOWN_MAX = 4096
ROBOT_IMAGE_MAX = 2 * 1024 * 1024
IMAGE_MAX = 10 * 1024 * 1024
FILE_MAX = 20 * 1024 * 1024
ROBOT_PER_MINUTE = 20
MEMBER_PER_MINUTE = 30
MEMBER_PER_HOUR = 1000
TASK_ID = re.compile(r"^[A-Za-z0-9_@-]{1,128}$")
BUTTON_TEXT_MAX = 10  # characters of a card button's text a client shows whole ("建议不超过10个字")
FONT_COLORS = ("info", "comment", "warning")
ZERO_WIDTH_SPACE = "\u200b"
DEFAULT_AES_KEY = base64.b64encode(bytes(range(1, 33))).decode().rstrip("=")


class ApiError(Exception):
    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(errmsg)
        self.errcode = errcode
        self.errmsg = errmsg


def invalid(detail: str) -> ApiError:
    return ApiError(40058, f"invalid parameter: {detail}")


# --- what a WeCom client shows -------------------------------------------------------------------

_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_FONT = re.compile(r'<font color="([^"]*)">|</font>')
_TAG = re.compile(r"<[^<>]*>")
_LINK = re.compile(r"\[([^\[\]]*)\]\(([^()\s]*)\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*")


def render_markdown(content: str) -> str:
    """The text a WeCom client shows for a markdown message (a simple model of its renderer, keeping to
    what WeCom documents: character references such as ``&lt;`` or ``&#46;`` are shown as typed, since
    no escaping is documented; a zero-width space shows as nothing)."""
    codes: list[str] = []

    def keep(match: re.Match[str]) -> str:
        codes.append(match.group(1))
        return f"\x00{len(codes) - 1}\x00"

    text = _CODE_SPAN.sub(keep, content)
    text = _FONT.sub("", text)
    text = _TAG.sub("", text)  # any other tag, known to HTML or not, is markup: it vanishes
    text = _LINK.sub(lambda m: m.group(1), text)
    text = _BOLD.sub(lambda m: m.group(1), text)
    lines = []
    for line in text.split("\n"):
        line = re.sub(r"^\s*#{1,6}\s+", "", line)
        line = re.sub(r"^\s*>\s?", "", line)
        line = re.sub(r"^(\s*)[-+*]\s+", r"\1• ", line)
        lines.append(line)
    text = "\n".join(lines).replace(ZERO_WIDTH_SPACE, "")  # it shows as nothing
    return re.sub("\x00(\\d+)\x00", lambda m: codes[int(m.group(1))], text)


def as_read(text: str) -> str:
    """What a reader takes a shown text for: the full-width twins of ASCII characters (＊ ［ ＜, used to
    show markdown syntax characters literally) read as those characters (NFKC)."""
    return unicodedata.normalize("NFKC", text)


def check_markdown(content: str) -> None:
    """Refuse font colours WeCom does not have."""
    for match in _FONT.finditer(content):
        if match.group(1) is not None and match.group(1) not in FONT_COLORS:
            raise invalid(f"font color {match.group(1)!r}")


def shown_text(message: JSON) -> str:
    """What a client shows for one message/send or webhook/send body."""
    msgtype = message.get("msgtype")
    if msgtype == "text":
        return str(message["text"]["content"])
    if msgtype == "markdown":
        return render_markdown(str(message["markdown"]["content"]))
    if msgtype == "template_card":
        card = message["template_card"]
        lines = [card.get("main_title", {}).get("title", ""), card.get("sub_title_text", "")]
        return "\n".join(line for line in lines if line)
    if msgtype in ("image", "file"):
        return f"[{msgtype}]"
    return f"[{msgtype}]"


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


# --- recording -----------------------------------------------------------------------------------


@dataclass
class Call:
    """One request the bot made: its path under /cgi-bin/, query, JSON body, uploaded files, answer."""

    path: str
    query: dict[str, str]
    body: Any = None
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    status: int = 200
    answer: JSON = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)
    dropped: list[str] = field(default_factory=list)  # recipients over their limit: accepted, never shown

    @property
    def errcode(self) -> int:
        return int(self.answer.get("errcode", 0) or 0)

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.errcode == 0


@dataclass
class Fault:
    """Misbehaviour of one path for ``times`` calls (None: for ever) after the next ``after`` ones."""

    errcode: int | None = None
    status: int | None = None
    times: int | None = 1
    delay: float = 0.0
    errmsg: str = "injected fault"
    after: int = 0


@dataclass
class Card:
    task_id: str
    touser: str
    card: JSON
    response_code: str
    active: bool = True
    replaced_by: str | None = None

    @property
    def labels(self) -> list[str]:
        return [b["text"] for b in self.card.get("button_list", [])]

    @property
    def shown_labels(self) -> list[str]:
        """The button texts as a member's client shows them: cut after 10 characters."""
        return [t if len(t) <= BUTTON_TEXT_MAX else t[:BUTTON_TEXT_MAX] + "…" for t in self.labels]


class FakeWeCom:
    """The fake server; start with ``await start()`` or ``async with``."""

    def __init__(self, *, corp_id: str = "ww5f1c2d3e4a5b6c7d", secret: str = "app-secret-0123456789",
                 agent_id: int = 5_000_000_001, token: str = "cbToken42", aes_key: str = DEFAULT_AES_KEY,
                 robots: dict[str, str] | None = None, token_ttl: int = 7200) -> None:
        self.corp_id = corp_id
        self.secret = secret
        self.agent_id = agent_id  # over 32 bits on purpose
        self.callback_token = token
        self.aes_key = aes_key
        self.robots = dict(robots if robots is not None else
                           {"领导小组": "robot-key-lead-0001", "项目办": "robot-key-office-0002"})
        self.token_ttl = token_ttl
        self.crypto = WeComCrypto(token, aes_key, corp_id)
        self.users: set[str] = set()
        self.departed: set[str] = set()  # answered errcode 0 with "invaliduser" naming them
        self.calls: list[Call] = []
        self.tokens: dict[str, float] = {}  # token -> expiry (monotonic)
        self.expired: set[str] = set()
        self.token_grants = 0
        self.media: dict[str, tuple[str, str, bytes]] = {}  # media_id -> (type, filename, content)
        self.robot_media: dict[str, tuple[str, str, bytes]] = {}  # media_id -> (robot key, filename, content)
        self.sent_images: dict[str, bytes] = {}  # media_id of an image a member sent -> its bytes (media/get)
        self.cards: dict[str, Card] = {}  # task_id -> card
        self.cut_buttons: list[str] = []  # card button texts too long to be shown whole
        self.response_codes: dict[str, str] = {}  # unused response_code -> task_id
        self.menu: JSON | None = None
        self.oauth_codes: dict[str, str] = {}  # unused 网页授权 code -> the member's userid
        self.faults: dict[str, Fault] = {}
        self._robot_sends: dict[str, deque[float]] = {}
        self._member_sends: dict[str, deque[float]] = {}
        self.now: Callable[[], float] = time.monotonic
        self._expire_after: int | None = None
        self.member_limits = True  # False: no message is dropped (for tests about what is sent, not when)
        self.untrusted_ip: str | None = None  # the bot's address when it is not among the app's trusted IPs
        self._ids = itertools.count(1)
        self._msg_ids = itertools.count(7_391_234_567_890_123_456)  # over 63 bits soon enough: opaque
        self._waiters: set[asyncio.Future[None]] = set()
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self.port = 0

    # --- lifecycle -----------------------------------------------------------------------------------

    async def start(self) -> FakeWeCom:
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_route("*", "/cgi-bin/{path:.+}", self._api)
        self._runner, self.port = await serve_locally(app, shutdown_timeout=0.5)
        return self

    async def stop(self) -> None:
        wake(self._waiters)
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeWeCom:
        return await self.start()

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """What to give the bot as WECOM_API_BASE."""
        return f"http://127.0.0.1:{self.port}"

    def robot_keys_setting(self) -> str:
        """WECOM_ROBOT_KEYS for this fake's robots."""
        return ",".join(f"{name}={key}" for name, key in self.robots.items())

    def run_environment(self, database_url: str, data_dir: Path) -> dict[str, str]:
        """The environment of a ``diaodu run`` started in a process of its own against this fake (WeCom only):
        this process's, without its channel, database and HTTP settings, and with the fake's app, the database,
        the data directory, and HTTP on 127.0.0.1 at a port the system picks (the bot logs which)."""
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("TELEGRAM_", "WECOM_", "DATABASE_", "HTTP_"))}
        env.update({
            "WECOM_CORP_ID": self.corp_id, "WECOM_AGENT_ID": str(self.agent_id), "WECOM_SECRET": self.secret,
            "WECOM_TOKEN": self.callback_token, "WECOM_AES_KEY": self.aes_key, "WECOM_API_BASE": self.base_url,
            "DATABASE_URL": database_url, "DATA_DIR": str(data_dir), "HTTP_HOST": "127.0.0.1", "HTTP_PORT": "0",
            "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        })
        return env

    # --- control -------------------------------------------------------------------------------------

    def add_user(self, *userids: str) -> None:
        self.users.update(userids)

    def expire_tokens(self, *, after_sends: int = 0) -> None:
        """Every token issued so far answers 42001 from now on, or once ``after_sends`` more messages have
        been accepted (a token running out in the middle of a fan-out)."""
        if after_sends > 0:
            self._expire_after = after_sends
            return
        self.expired.update(self.tokens)

    def inject_fault(self, path: str, *, errcode: int | None = None, status: int | None = None,
                     times: int | None = 1, delay: float = 0.0, errmsg: str = "injected fault",
                     after: int = 0) -> Fault:
        fault = Fault(errcode=errcode, status=status, times=times, delay=delay, errmsg=errmsg, after=after)
        self.faults[path] = fault
        return fault

    def oauth_code(self, userid: str) -> str:
        """The code WeCom's OAuth (网页授权, snsapi_base) hands the browser of this member, as if they had
        opened the authorize page: valid once."""
        code = f"CODE-{next(self._ids)}-{secrets.token_hex(6)}"
        self.oauth_codes[code] = userid
        return code

    # --- what the bot did ----------------------------------------------------------------------------

    def calls_of(self, path: str | None = None, *, since: int = 0, ok: bool | None = None) -> list[Call]:
        return [c for c in self.calls[since:]
                if (path is None or c.path == path) and (ok is None or c.ok == ok)]

    def sent_to(self, userid: str, *, since: int = 0) -> list[JSON]:
        """Accepted message/send bodies addressed to this member, oldest first."""
        return [c.body for c in self.calls_of("message/send", since=since, ok=True)
                if self.same_user(userid, str(c.body.get("touser", "")).split("|"))
                and not self.same_user(userid, c.dropped)]

    @staticmethod
    def same_user(userid: str, userids: Any) -> bool:
        """Whether ``userid`` is among ``userids``: WeCom's userids are case-insensitive (不区分大小写)."""
        return userid.lower() in {u.lower() for u in userids}

    @property
    def dropped(self) -> list[tuple[str, JSON]]:
        """(member, message) of every message WeCom accepted but dropped: over the member's limits."""
        return [(userid, c.body) for c in self.calls_of("message/send") for userid in c.dropped]

    def shown(self, userid: str, *, since: int = 0) -> list[str]:
        """What the member's client shows for each message sent to them."""
        return [shown_text(m) for m in self.sent_to(userid, since=since)]

    def robot_messages(self, name: str, *, since: int = 0) -> list[JSON]:
        key = self.robots[name]
        return [c.body for c in self.calls_of("webhook/send", since=since, ok=True)
                if c.query.get("key") == key]

    def find_card(self, userid: str, label: str) -> Card:
        """The newest card still pressable by this member with a button of this label."""
        for card in reversed(list(self.cards.values())):
            if card.touser == userid and card.active and label in card.labels:
                return card
        raise LookupError(f"no pressable card with {label!r} for {userid}")

    async def wait_for(self, path: str, *, count: int = 1, since: int = 0,
                       timeout: float = 5.0) -> list[Call]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = self.calls_of(path, since=since, ok=True)
            if len(found) >= count:
                return found
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"waited {timeout}s for {count} {path} call(s), got {len(found)}")
            await wait_for_wake(self._waiters, remaining)

    # --- callbacks: what WeCom posts to the bot -----------------------------------------------------

    def _xml(self, userid: str, msgtype: str, fields: dict[str, str], *,
             create_time: int | None = None) -> str:
        items = {"ToUserName": self.corp_id, "FromUserName": userid,
                 "CreateTime": str(create_time if create_time is not None else int(time.time())),
                 "MsgType": msgtype, **fields, "AgentID": str(self.agent_id)}
        body = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in items.items())
        return f"<xml>{body}</xml>"

    def text_xml(self, userid: str, content: str, *, msg_id: str | None = None) -> str:
        return self._xml(userid, "text", {"Content": content, "MsgId": msg_id or str(next(self._msg_ids))})

    def message_xml(self, userid: str, msgtype: str, fields: dict[str, str], *, msg_id: str | None = None) -> str:
        """A message of any other type a member can send (voice, video, location, link…)."""
        return self._xml(userid, msgtype, {**fields, "MsgId": msg_id or str(next(self._msg_ids))})

    def add_sent_image(self, content: bytes) -> str:
        """An image a member sends: its MediaId, which ``media/get`` serves until ``expire_sent_image``."""
        media_id = f"IN-MEDIA-{next(self._ids)}-{secrets.token_hex(8)}"
        self.sent_images[media_id] = content
        return media_id

    def expire_sent_image(self, media_id: str) -> None:
        """Three days have passed: WeCom no longer has it (40007)."""
        self.sent_images.pop(media_id, None)

    def image_xml(self, userid: str, media_id: str | None = None, *, msg_id: str | None = None) -> str:
        media_id = media_id or f"IN-MEDIA-{next(self._ids)}-{secrets.token_hex(8)}"
        return self._xml(userid, "image", {"PicUrl": f"https://wework.qpic.cn/fake/{media_id}",
                                           "MediaId": media_id, "MsgId": msg_id or str(next(self._msg_ids))})

    def event_xml(self, userid: str, event: str, key: str = "", *, create_time: int | None = None,
                  **extra: str) -> str:
        return self._xml(userid, "event", {"Event": event, "EventKey": key, **extra}, create_time=create_time)

    def card_event_xml(self, userid: str, card: Card, label: str) -> str:
        key = next(b["key"] for b in card.card["button_list"] if b["text"] == label)
        return self.event_xml(userid, "template_card_event", key, TaskId=card.task_id,
                              CardType="button_interaction", ResponseCode=card.response_code)

    def seal_raw(self, raw: bytes) -> str:
        """AES-CBC of bytes exactly as given (no padding added): to forge bad plaintexts."""
        key = base64.b64decode(self.aes_key + "=")
        encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
        return base64.b64encode(encryptor.update(raw) + encryptor.finalize()).decode()

    def envelope(self, inner_xml: str | None = None, *, encrypt: str | None = None,
                 timestamp: int | None = None, nonce: str | None = None, receive_id: str | None = None,
                 signature: str | None = None) -> tuple[dict[str, str], bytes]:
        """(query, body) of a callback POST: the inner XML encrypted (or a given Encrypt) and signed."""
        crypto = (self.crypto if receive_id is None
                  else WeComCrypto(self.callback_token, self.aes_key, receive_id))
        if encrypt is None:
            assert inner_xml is not None
            encrypt = crypto.encrypt(inner_xml)
        ts = str(int(time.time()) if timestamp is None else timestamp)
        nonce = nonce or str(secrets.randbelow(10**10))
        query = {"msg_signature": signature or crypto.signature(ts, nonce, encrypt), "timestamp": ts,
                 "nonce": nonce}
        body = (f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName>"
                f"<Encrypt><![CDATA[{encrypt}]]></Encrypt>"
                f"<AgentID><![CDATA[{self.agent_id}]]></AgentID></xml>")
        return query, body.encode()

    def url_verification(self, echo: str, *, timestamp: int | None = None,
                         nonce: str | None = None) -> dict[str, str]:
        """The query of WeCom's URL-verification GET for the plaintext ``echo``."""
        echostr = self.crypto.encrypt(echo)
        ts = str(int(time.time()) if timestamp is None else timestamp)
        nonce = nonce or str(secrets.randbelow(10**10))
        return {"msg_signature": self.crypto.signature(ts, nonce, echostr), "timestamp": ts, "nonce": nonce,
                "echostr": echostr}

    @property
    def client(self) -> aiohttp.ClientSession:
        if self._client is None or self._client.closed:
            self._client = aiohttp.ClientSession()
        return self._client

    @staticmethod
    def _url(url: str, query: dict[str, str]) -> URL:
        # Percent-encode every value ourselves ("+" in base64 must stay "+"), like WeCom does.
        encoded = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query.items())
        return URL(f"{url}?{encoded}", encoded=True)

    async def post_callback(self, url: str, inner_xml: str | None = None, *, body: bytes | None = None,
                            query: dict[str, str] | None = None, **envelope: Any) -> tuple[int, str]:
        """POST a message to the bot as WeCom would; returns (status, answer text)."""
        if body is None or query is None:
            made_query, made_body = self.envelope(inner_xml, **envelope)
            query = query or made_query
            body = body if body is not None else made_body
        async with self.client.post(self._url(url, query), data=body,
                                    headers={"Content-Type": "text/xml"}) as response:
            return response.status, await response.text()

    async def get_callback(self, url: str, query: dict[str, str]) -> tuple[int, str]:
        async with self.client.get(self._url(url, query)) as response:
            return response.status, await response.text()

    # --- HTTP ----------------------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        query = dict(request.query)
        call = Call(path=path, query=query)
        try:
            call.body, call.files = await _read(request)
            fault = self.faults.get(path)
            if fault is not None and fault.after > 0:
                fault.after -= 1
            elif fault is not None and fault.times != 0:
                if fault.times is not None:
                    fault.times -= 1
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                if fault.status is not None:
                    call.status = fault.status
                    call.answer = {"errcode": -1, "errmsg": "injected HTTP status"}
                    raise _Status()
                if fault.errcode is not None:
                    raise ApiError(fault.errcode, fault.errmsg)
            if path == "media/get":
                self._check_token(query)
                content = self.sent_images.get(query.get("media_id", ""))
                if content is None:
                    raise ApiError(40007, "invalid media_id")
                self.calls.append(call)
                wake(self._waiters)
                return web.Response(status=200, body=content, content_type="image/jpeg",
                                    headers={"Content-Disposition": 'attachment; filename="image.jpg"'})
            handler = self._handlers().get(path)
            if handler is None:
                raise ApiError(404, f"unknown api {path}")
            if path not in ("gettoken",) and not path.startswith("webhook/"):
                self._check_token(query)
                if self.untrusted_ip is not None:
                    raise ApiError(60020, f"not allow to access from your ip, hint: [{next(self._ids)}], "
                                          f"from ip: {self.untrusted_ip}, more info at "
                                          "https://open.work.weixin.qq.com/devtool/query?e=60020")
            result = handler(call) or {}
            call.answer = {"errcode": 0, "errmsg": "ok", **result}
        except _Status:
            pass
        except ApiError as error:
            call.answer = {"errcode": error.errcode, "errmsg": error.errmsg}
        except Exception as error:  # a bug in the fake: answer like a broken server, keep the record
            call.status, call.answer = 500, {"errcode": -1, "errmsg": f"fake failed: {error!r}"}
        self.calls.append(call)
        wake(self._waiters)
        return web.Response(status=call.status, text=json.dumps(call.answer, ensure_ascii=False),
                            content_type="application/json")

    def _handlers(self) -> dict[str, Any]:
        return {
            "gettoken": self._gettoken,
            "message/send": self._message_send,
            "message/update_template_card": self._update_card,
            "media/upload": self._media_upload,
            "menu/create": self._menu_create,
            "webhook/send": self._webhook_send,
            "webhook/upload_media": self._webhook_upload,
            "auth/getuserinfo": self._getuserinfo,
        }

    def _check_token(self, query: dict[str, str]) -> None:
        token = query.get("access_token")
        if not token:
            raise ApiError(41001, "access_token missing")
        if token not in self.tokens:
            raise ApiError(40014, "invalid access_token")
        if token in self.expired or self.tokens[token] <= time.monotonic():
            self.expired.discard(token)
            del self.tokens[token]
            raise ApiError(42001, "access_token expired")

    # --- methods -------------------------------------------------------------------------------------

    def _gettoken(self, call: Call) -> JSON:
        if call.query.get("corpid") != self.corp_id:
            raise ApiError(40013, "invalid corpid")
        if call.query.get("corpsecret") != self.secret:
            raise ApiError(40001, "invalid secret")
        token = f"TOKEN-{next(self._ids)}-{secrets.token_hex(8)}"
        self.tokens[token] = time.monotonic() + self.token_ttl
        self.token_grants += 1
        return {"access_token": token, "expires_in": self.token_ttl}

    def _agent(self, value: Any) -> None:
        if str(value) != str(self.agent_id):
            raise ApiError(301002, f"invalid agentid {value!r}")

    def _message_send(self, call: Call) -> JSON:
        body = call.body
        if not isinstance(body, dict):
            raise invalid("body is not a JSON object")
        self._agent(body.get("agentid"))
        recipients = [u for u in str(body.get("touser", "")).split("|") if u]
        known = [u for u in recipients if self.same_user(u, self.users | self.departed)]
        if not known:
            raise ApiError(81013, "user & party & tag all invalid")
        msgtype = body.get("msgtype")
        content = body.get(str(msgtype))
        if not isinstance(content, dict):
            raise invalid(f"no {msgtype} content")
        result: JSON = {"msgid": f"msg{next(self._ids)}"}
        if msgtype == "text":
            self._check_text(content.get("content"), TEXT_MAX)
        elif msgtype == "markdown":
            self._check_text(content.get("content"), APP_MARKDOWN_MAX)
            check_markdown(str(content["content"]))
        elif msgtype in ("image", "file"):
            entry = self.media.get(str(content.get("media_id")))
            if entry is None or entry[0] != msgtype:
                raise ApiError(40007, "invalid media_id")
        elif msgtype == "template_card":
            result["response_code"] = self._check_card(content, known)
        else:
            raise invalid(f"msgtype {msgtype!r} not supported by the fake")
        invalid_users = [u for u in recipients if not self.same_user(u, self.users)]  # departed ones too
        if invalid_users:  # as WeCom answers them: "不区分大小写，统一转为小写"
            result["invaliduser"] = "|".join(u.lower() for u in invalid_users)
        if self.member_limits:
            call.dropped = [u for u in recipients
                            if self.same_user(u, self.users) and not self._member_takes_one(u.lower())]
        if self._expire_after is not None:
            self._expire_after -= 1
            if self._expire_after <= 0:
                self._expire_after = None
                self.expire_tokens()
        return result

    def _member_takes_one(self, userid: str) -> bool:
        """Whether one more message reaches this member: at most 30 a minute and 1,000 an hour."""
        sent = self._member_sends.setdefault(userid, deque())
        now = self.now()
        while sent and sent[0] <= now - 3600:
            sent.popleft()
        if len(sent) >= MEMBER_PER_HOUR or sum(1 for t in sent if t > now - 60) >= MEMBER_PER_MINUTE:
            return False
        sent.append(now)
        return True

    @staticmethod
    def _check_text(text: Any, limit: int) -> None:
        if not isinstance(text, str) or not text.strip():
            raise ApiError(44004, "empty content")
        if utf8_len(text) > limit:
            raise ApiError(45002, f"content size out of limit ({utf8_len(text)} > {limit} bytes)")

    def _check_card(self, card: JSON, recipients: list[str]) -> str:
        if card.get("card_type") != "button_interaction":
            raise invalid("card_type must be button_interaction")
        task_id = str(card.get("task_id", ""))
        if not TASK_ID.match(task_id):
            raise invalid("task_id")
        if task_id in self.cards:
            raise invalid("task_id already used")
        if not str(card.get("main_title", {}).get("title", "")).strip():
            raise invalid("main_title.title is required")
        buttons = card.get("button_list")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= 6:
            raise invalid("button_list must have 1 to 6 buttons")
        keys = [str(b.get("key", "")) for b in buttons]
        if len(set(keys)) != len(keys) or not all(0 < utf8_len(k) <= 1024 for k in keys):
            raise invalid("button keys must be distinct, 1 to 1024 bytes")
        if not all(str(b.get("text", "")).strip() for b in buttons):
            raise invalid("button text is required")
        self.cut_buttons += [str(b["text"]) for b in buttons if len(str(b["text"])) > BUTTON_TEXT_MAX]
        code = f"RC-{next(self._ids)}-{secrets.token_hex(6)}"
        self.cards[task_id] = Card(task_id=task_id, touser=recipients[0], card=card, response_code=code)
        self.response_codes[code] = task_id
        return code

    def _update_card(self, call: Call) -> JSON:
        body = call.body
        self._agent(body.get("agentid"))
        task_id = self.response_codes.pop(str(body.get("response_code")), None)
        if task_id is None:
            raise ApiError(40058, "invalid or used response_code")
        name = str((body.get("button") or {}).get("replace_name", ""))
        if not name.strip():
            raise invalid("button.replace_name is required")
        card = self.cards[task_id]
        if card.touser not in body.get("userids", []):
            raise invalid("userids")
        card.active, card.replaced_by = False, name
        return {}

    def _media_upload(self, call: Call) -> JSON:
        kind = call.query.get("type")
        if kind not in ("image", "file", "voice", "video"):
            raise ApiError(40004, "invalid media type")
        if "media" not in call.files:
            raise invalid("media field missing")
        filename, content = call.files["media"]
        if len(content) <= 5:
            raise ApiError(40006, "invalid file size")
        if kind == "image":
            if not (content.startswith(b"\xff\xd8\xff") or content.startswith(b"\x89PNG")):
                raise ApiError(40005, "invalid file type")
            if len(content) > IMAGE_MAX:
                raise ApiError(40006, "invalid file size")
        if len(content) > FILE_MAX:
            raise ApiError(40006, "invalid file size")
        media_id = f"M{next(self._ids)}{secrets.token_hex(10)}"
        self.media[media_id] = (kind, filename, content)
        return {"type": kind, "media_id": media_id, "created_at": str(int(time.time()))}

    def _menu_create(self, call: Call) -> JSON:
        self._agent(call.query.get("agentid"))
        buttons = (call.body or {}).get("button")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
            raise ApiError(40016, "invalid button count: 1 to 3 top-level buttons")
        for top in buttons:
            self._check_button(top, name_max=16)
            subs = top.get("sub_button")
            if subs is not None:
                if not isinstance(subs, list) or not 1 <= len(subs) <= 5:
                    raise ApiError(40016, "invalid sub button count: 1 to 5")
                for sub in subs:
                    if "sub_button" in sub:
                        raise ApiError(40016, "menus have two levels at most")
                    self._check_button(sub, name_max=40)
        self.menu = call.body
        return {}

    @staticmethod
    def _check_button(button: JSON, *, name_max: int) -> None:
        name = str(button.get("name", ""))
        if not name or utf8_len(name) > name_max:
            raise ApiError(40018, f"invalid button name {name!r}")
        if "sub_button" in button:
            return
        if button.get("type") != "click":
            raise ApiError(40017, "invalid button type (the fake knows click only)")
        key = str(button.get("key", ""))
        if not key or utf8_len(key) > 128:
            raise ApiError(40019, "invalid button key")

    def _robot(self, call: Call) -> str:
        key = call.query.get("key", "")
        if key not in self.robots.values():
            raise ApiError(93000, "invalid webhook url")
        return key

    def _webhook_send(self, call: Call) -> JSON:
        key = self._robot(call)
        window = self._robot_sends.setdefault(key, deque())
        now = time.monotonic()
        while window and window[0] <= now - 60:
            window.popleft()
        if len(window) >= ROBOT_PER_MINUTE:
            raise ApiError(45009, "api freq out of limit")
        body = call.body or {}
        msgtype = body.get("msgtype")
        if msgtype == "markdown":
            self._check_text(body.get("markdown", {}).get("content"), ROBOT_MARKDOWN_MAX)
            check_markdown(str(body["markdown"]["content"]))
        elif msgtype == "text":
            self._check_text(body.get("text", {}).get("content"), TEXT_MAX)
        elif msgtype == "image":
            image = body.get("image", {})
            try:
                data = base64.b64decode(str(image.get("base64", "")), validate=True)
            except ValueError:
                raise invalid("image.base64") from None
            if not data or len(data) > ROBOT_IMAGE_MAX:
                raise ApiError(40009, "invalid image size")
            if hashlib.md5(data).hexdigest() != image.get("md5"):
                raise invalid("image.md5 does not match")
            if not (data.startswith(b"\xff\xd8\xff") or data.startswith(b"\x89PNG")):
                raise ApiError(40005, "invalid image type")
        elif msgtype == "file":
            entry = self.robot_media.get(str(body.get("file", {}).get("media_id")))
            if entry is None or entry[0] != key:
                raise ApiError(40007, "invalid media_id")
        else:
            raise invalid(f"msgtype {msgtype!r} not supported by the fake")
        window.append(now)
        return {}

    def _getuserinfo(self, call: Call) -> JSON:
        """auth/getuserinfo: the member behind an OAuth code (each code works once, as in WeCom: 40029)."""
        userid = self.oauth_codes.pop(call.query.get("code", ""), None)
        if userid is None:
            raise ApiError(40029, "invalid code")
        if userid not in self.users:  # not a member of the corp: WeCom answers an openid instead
            return {"openid": f"open-{userid}"}
        return {"userid": userid}

    def _webhook_upload(self, call: Call) -> JSON:
        key = self._robot(call)
        if call.query.get("type") != "file":
            raise ApiError(40004, "invalid media type")
        if "media" not in call.files:
            raise invalid("media field missing")
        filename, content = call.files["media"]
        if not 5 < len(content) <= FILE_MAX:
            raise ApiError(40006, "invalid file size")
        media_id = f"R{next(self._ids)}{secrets.token_hex(10)}"
        self.robot_media[media_id] = (key, filename, content)
        return {"type": "file", "media_id": media_id, "created_at": str(int(time.time()))}


class _Status(Exception):
    """An injected HTTP status: the answer is already set."""


async def _read(request: web.Request) -> tuple[Any, dict[str, tuple[str, bytes]]]:
    """The JSON body or the multipart files of a request."""
    files: dict[str, tuple[str, bytes]] = {}
    if request.method != "POST" or not request.can_read_body:
        return None, files
    if request.content_type.startswith("multipart/"):
        form = await request.post()
        for name, value in form.items():
            if isinstance(value, web.FileField):
                files[name] = (value.filename, value.file.read())
        return None, files
    raw = await request.read()
    try:
        return json.loads(raw), files
    except ValueError:
        raise invalid("body is not JSON") from None
