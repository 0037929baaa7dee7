"""WeCom (企业微信) channel: the self-built app's callback in, the same Router, replies out by the API.

Receiving (``/wecom/callback``):

- GET is the URL verification: the signed, encrypted ``echostr`` is answered decrypted and bare.
- POST carries one encrypted message. In this order: the body is capped (``too_large`` → 413) and
  parsed safely, the signature checked in constant time (403), the timestamp checked against a
  5-minute window (403), the message decrypted and its receiveid checked against our corp id (403);
  any other malformation is a 400. Only then is the message deduplicated (WeCom retries a message
  it got no answer to within 5 s; ``MsgId``, or sender + CreateTime + event + key for events, in a
  bounded in-memory cache that outlives the timestamp window both ways, so a captured request
  cannot be replayed either) and queued, and the answer is an empty 200 at once. The work runs in
  a task per user, one message after another, so guided flows stay in order; different users run
  concurrently (their database transactions one at a time on SQLite; sending is concurrent). The
  dedupe cache is in memory only: after a restart, a retry of a message that was acknowledged just
  before is taken as new.
- Text (Chinese keywords mapped by :func:`keyword_to_command`), images (``Incoming.photos`` holds the
  MediaId: a temporary medium WeCom keeps three days), menu clicks (the EventKey is the command,
  e.g. "/report"), ``enter_agent`` / ``subscribe`` (a help text, at most once per user in 12 h) and
  ``template_card_event`` (the pressed button's key is ``Incoming.callback_data``; the card's buttons
  are then replaced by "已选择:…" through its ResponseCode so it cannot be pressed again).

Replying (:class:`WeComTransport`, also the outbox transport of channel "wecom"):

- a reply without markup and without "<" goes out as a text message, otherwise as markdown (see
  ``wecom_markdown``); both are split at 2048 UTF-8 bytes on line boundaries;
- a reply with buttons becomes a ``button_interaction`` template card (its text as title and
  subtitle, or sent as markdown first when too long for a card); with more than 6 buttons, a key
  over 1024 bytes or repeated keys, the buttons become a numbered list instead and the user answers
  with the number (kept per user like the console does, until the next reply that has buttons or
  the next user message answered without any);
- photos and documents (the outbox row's attachment, or ``Reply.attachment``) are uploaded with
  ``media/upload`` and sent as image / file messages after the text (relative paths are taken from
  ``files_root``, DATA_DIR by default);
- at most 30 messages per member per minute (WeCom drops the excess silently): counted per message
  actually sent, over direct replies and outbox notices alike.

A direct reply that meets a transient error or flood control is handed to the outbox (when the
outbox sender serves "wecom" it will be retried there).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import html
import json
import logging
import re
import secrets
import time
import unicodedata
import uuid
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from aiohttp import web

from bot.channels.base import (
    Attachment,
    DeliveryError,
    PermanentError,
    RateLimits,
    RetryLater,
    TransientError,
    Transport,
    read_attachment,
)
from bot.channels.wecom_api import DEFAULT_API_BASE, SlidingWindow, TtlCache, WeComApi, image_type
from bot.channels.wecom_crypto import DEFAULT_WINDOW, WeComCrypto, WeComCryptoError
from bot.channels.wecom_markdown import (
    APP_MARKDOWN_MAX_BYTES,
    APP_TEXT_MAX_BYTES,
    has_markup,
    html_to_markdown,
    split_utf8,
    utf8_len,
)
from bot.channels.wecom_robot import WeComRobotTransport
from bot.clock import Clock
from bot.messages import Button, Incoming, Outcome, Reply
from bot.render import html_to_plain

if TYPE_CHECKING:
    from bot.config import Settings
    from handlers.router import Router
    from storage.db import Database

log = logging.getLogger(__name__)

CHANNEL = "wecom"
CALLBACK_PATH = "/wecom/callback"

CARD_BUTTONS_MAX = 6
BUTTON_KEY_MAX_BYTES = 1024
CARD_TITLE_MAX = 36  # characters WeCom shows in a card's main title
CARD_SUBTITLE_MAX = 160
REPLACE_NAME_MAX = 20
TASK_ID_MAX = 128
TASK_ID_RE = re.compile(r"^[A-Za-z0-9_@-]{1,128}$")
MEMBER_PER_MINUTE = 30
MEMBER_WINDOW = 62.0  # a little over a minute: WeCom counts on its side, after network delays
IMAGE_MAX = 10 * 1024 * 1024
FILE_MAX = 20 * 1024 * 1024
MEDIA_MIN = 6  # WeCom refuses files of 5 bytes or fewer
# What an admin may type for a userid (WeCom's rule for new accounts); when sending, any userid of
# 1-64 bytes without "|" (a list separator), spaces or control characters is accepted.
USERID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
_SENDABLE_USERID = re.compile(r"^[^|\s\x00-\x1f]{1,64}$")
_REFUSAL_STATUS = {"signature": 403, "stale": 403, "receiveid": 403, "too_large": 413}


# ---------------------------------------------------------------- keywords


# Longest first: "问题清单" before "问题", "我的项目" before "我的".
KEYWORDS: tuple[tuple[str, str], ...] = (
    ("我的问题", "/issues"),
    ("问题清单", "/issues"),
    ("我的项目", "/mine"),
    ("填报", "/report"),
    ("问题", "/issue"),
    ("我的", "/mine"),
    ("排名", "/rank"),
    ("帮助", "/help"),
    ("绑定", "/start"),
    ("撤回", "/undo"),
    ("取消", "/cancel"),
)
_ARG_LEAD = " \t\u3000:\uff1a,\uff0c"


def keyword_to_command(text: str) -> str:
    """"填报 ZD2026-001 1.2亿 …" → "/report ZD2026-001 1.2亿 …"; other text is returned unchanged.

    A keyword counts only at the start of the text and when what follows is not more Chinese
    ("问题 ZD2026-001 …" is /issue, "问题是征地…" stays text, as typed inside a flow). A full-width
    slash ("\uff0freport") is taken as "/".
    """
    stripped = text.strip()
    if stripped.startswith("\uff0f"):  # full-width slash
        return "/" + stripped[1:]
    if stripped.startswith("/"):
        return stripped
    for keyword, command in KEYWORDS:
        if not stripped.startswith(keyword):
            continue
        rest = stripped[len(keyword):]
        if rest and unicodedata.category(rest[0]) == "Lo":
            continue
        args = rest.lstrip(_ARG_LEAD).strip()
        return f"{command} {args}" if args else command
    return text


# ---------------------------------------------------------------- rendering


@dataclass(frozen=True)
class Part:
    """One message/send of a reply: its msgtype and content; ``buttons`` for a card."""

    msgtype: str
    content: dict[str, Any]
    buttons: tuple[Button, ...] = ()


def text_parts(reply_html: str) -> list[Part]:
    """A reply's text as text messages when it is plain, else as markdown, each within 2048 bytes."""
    plain = html_to_plain(reply_html).strip()
    if not plain:
        return []
    if not has_markup(reply_html) and "<" not in plain:
        return [Part("text", {"content": c}) for c in split_utf8(plain, APP_TEXT_MAX_BYTES)]
    return [Part("markdown", {"content": c}) for c in split_utf8(html_to_markdown(reply_html),
                                                                   APP_MARKDOWN_MAX_BYTES)]


def card_fits(buttons: list[Button]) -> bool:
    """Whether buttons can be a template card: at most 6, distinct keys of at most 1024 bytes."""
    keys = [b.data for b in buttons]
    return (0 < len(buttons) <= CARD_BUTTONS_MAX and len(set(keys)) == len(keys)
            and all(0 < utf8_len(k) <= BUTTON_KEY_MAX_BYTES for k in keys)
            and all(b.label.strip() for b in buttons))


def numbered_html(reply: Reply) -> str:
    """The reply's HTML with its buttons as a numbered list to answer with a number."""
    buttons = [b for row in reply.buttons for b in row]
    lines = "\n".join(f"[{n}] {html.escape(b.label, quote=False)}" for n, b in enumerate(buttons, 1))
    return f"{reply.html}\n\n回复序号选择:\n{lines}"


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def new_task_id() -> str:
    """A card task id, unique for the app: [A-Za-z0-9_@-], at most 128 characters."""
    return f"dd-{int(time.time() * 1000):x}-{secrets.token_hex(6)}"


def card_parts(reply: Reply) -> list[Part]:
    """A reply with at most 6 buttons: one card, preceded by the full text when a card cannot hold it."""
    buttons = tuple(b for row in reply.buttons for b in row)
    plain = html_to_plain(reply.html).strip()
    lines = [line.strip() for line in plain.split("\n")]
    first = next((i for i, line in enumerate(lines) if line), None)
    title = lines[first] if first is not None else ""
    rest = "\n".join(lines[first + 1:]).strip() if first is not None else ""
    parts: list[Part] = []
    if len(title) > CARD_TITLE_MAX or len(rest) > CARD_SUBTITLE_MAX:
        parts = text_parts(reply.html)
        title, rest = _shorten(title, CARD_TITLE_MAX), "请点击下方按钮选择。"
    card: dict[str, Any] = {
        "card_type": "button_interaction",
        "main_title": {"title": title or "请选择"},
        "button_list": [{"text": b.label, "style": 1, "key": b.data} for b in buttons],
    }
    if rest:
        card["sub_title_text"] = rest
    parts.append(Part("template_card", card, buttons))
    return parts


def reply_parts(reply: Reply) -> tuple[list[Part], bool]:
    """The messages a reply becomes, and whether its buttons went out as a numbered list."""
    buttons = [b for row in reply.buttons for b in row]
    if not buttons:
        return text_parts(reply.html), False
    if card_fits(buttons):
        return card_parts(reply), False
    return text_parts(numbered_html(reply)), True


# ---------------------------------------------------------------- the transport


class WeComTransport:
    """Sends replies to WeCom members (chat id = userid) through the app's API.

    The outbox calls ``send``; the callback channel calls ``deliver`` with a longer wait for the
    per-member limit. Both share the button memories: the numbered lists a user may answer with a
    number, and the labels of each card's buttons (for the "已选择:…" update).
    """

    channel = CHANNEL
    # 30 messages a member a minute, enforced per message by ``window``; the outbox's spacing of
    # rows (one every 2 s per member) keeps most rows clear of it. 50/s stays far below WeCom's
    # 10,000 calls a minute per API.
    limits = RateLimits(global_per_second=50, per_chat_per_second=0.5, per_group_per_minute=20)

    def __init__(self, api: WeComApi, *, files_root: Path | None = None, max_wait: float = 20.0,
                 window: SlidingWindow | None = None) -> None:
        self.api = api
        self.files_root = files_root
        self.max_wait = max_wait
        self.window = window or SlidingWindow(MEMBER_PER_MINUTE, MEMBER_WINDOW)
        self.numbered: TtlCache[str, tuple[Button, ...]] = TtlCache(ttl=86_400, max_items=50_000)
        self.cards: TtlCache[str, dict[str, str]] = TtlCache(ttl=72 * 3600, max_items=50_000)
        self._sent_parts: TtlCache[tuple[str, str], int] = TtlCache(ttl=3600, max_items=10_000)

    def __repr__(self) -> str:
        return f"WeComTransport({self.api!r})"

    def is_group_chat(self, chat_id: str) -> bool:
        return False

    async def close(self) -> None:
        await self.api.close()

    async def send(self, chat_id: str, reply: Reply, *, attachment: Attachment | None = None) -> None:
        await self.deliver(chat_id, reply, attachment=attachment, max_wait=self.max_wait)

    async def deliver(self, userid: str, reply: Reply, *, attachment: Attachment | None = None,
                      max_wait: float) -> None:
        """Send one reply (and its file: ``attachment``, else the reply's own) to a member; raises a
        DeliveryError when it did not get through."""
        if not _SENDABLE_USERID.match(userid) or utf8_len(userid) > 64:
            raise PermanentError(f"not a WeCom userid: {userid!r}")
        if attachment is None:
            attachment = reply.attachment
        parts, numbered = reply_parts(reply)
        media = self._read(attachment) if attachment is not None else None
        total = len(parts) + (1 if media else 0)
        if total == 0:
            return
        digest = hashlib.sha256(json.dumps(
            [reply.html, [[b.label, b.data] for row in reply.buttons for b in row],
             attachment.path if attachment else None], ensure_ascii=False).encode()).hexdigest()
        done_key = (userid, digest)
        done = self._sent_parts.get(done_key) or 0
        if done >= total:
            self._sent_parts.pop(done_key)
            return
        media_part: Part | None = None
        if media is not None:
            media_part = await self._upload(media)  # before any message: the likeliest to fail
        await self.window.acquire(userid, total - done, max_wait=max_wait)
        everything = [*parts, *([media_part] if media_part else [])]
        for index in range(done, total):
            part = everything[index]
            await self._send_part(userid, part)
            self._sent_parts.set(done_key, index + 1)
        self._sent_parts.pop(done_key)
        if numbered:
            self.numbered.set(userid, tuple(b for row in reply.buttons for b in row))
        elif reply.buttons:
            self.numbered.pop(userid)

    async def _send_part(self, userid: str, part: Part) -> None:
        content = part.content
        if part.msgtype == "template_card":
            content = {**content, "task_id": new_task_id()}
        await self.api.send_message(userid, part.msgtype, content)
        if part.buttons:
            self.cards.set(content["task_id"], {b.data: b.label for b in part.buttons})

    def _read(self, attachment: Attachment) -> tuple[Attachment, bytes]:
        data = read_attachment(attachment, self.files_root)
        if len(data) < MEDIA_MIN:
            raise PermanentError(f"attachment too small for WeCom: {attachment.path}")
        return attachment, data

    async def _upload(self, media: tuple[Attachment, bytes]) -> Part:
        attachment, data = media
        filename = attachment.filename or Path(attachment.path).name
        mime = image_type(data) if attachment.kind == "photo" else None
        if mime is not None and len(data) <= IMAGE_MAX:
            media_id = await self.api.upload_media("image", data, filename, mime)
            return Part("image", {"media_id": media_id})
        if len(data) > FILE_MAX:
            raise PermanentError(f"attachment over {FILE_MAX} bytes: {attachment.path}")
        media_id = await self.api.upload_media("file", data, filename, "application/octet-stream")
        return Part("file", {"media_id": media_id})

    # -- button memories

    def pressed_number(self, userid: str, text: str) -> Button | None:
        """The button a typed number picks from the numbered list last shown to this user, if any."""
        token = text.strip()
        buttons = self.numbered.get(userid)
        if not buttons or not token.isdigit() or len(token) > 3:
            return None
        number = int(token)
        return buttons[number - 1] if 1 <= number <= len(buttons) else None

    def forget_numbers(self, userid: str) -> None:
        self.numbered.pop(userid)

    async def mark_pressed(self, userid: str, task_id: str, response_code: str, key: str) -> None:
        """Replace a pressed card's buttons by "已选择:<label>".

        A ResponseCode works once; failures are only logged.
        """
        labels = self.cards.get(task_id) or {}
        label = labels.get(key)
        name = _shorten(f"已选择:{label}", REPLACE_NAME_MAX) if label else "已处理"
        try:
            await self.api.update_card_button(userid, response_code, name)
        except DeliveryError as exc:
            log.info("could not update the pressed card %s: %s", task_id, exc)


# ---------------------------------------------------------------- the callback channel


def _query(request: web.Request) -> dict[str, str]:
    """Query parameters percent-decoded without turning "+" into a space (echostr is base64)."""
    values: dict[str, str] = {}
    for pair in request.rel_url.raw_query_string.split("&"):
        name, _, value = pair.partition("=")
        if name:
            values.setdefault(unquote(name), unquote(value))
    return values


def dedupe_key(fields: Mapping[str, str]) -> str:
    """What identifies a message across WeCom's retries: MsgId, or sender, time, event and key."""
    msg_id = (fields.get("MsgId") or "").strip()
    if msg_id:
        return "m:" + msg_id
    parts = (fields.get(k, "").strip() for k in ("FromUserName", "CreateTime", "Event", "EventKey", "TaskId"))
    return "e:" + "\x1f".join(parts)


@dataclass(frozen=True)
class Press:
    """A template-card button press: what to update once it is handled."""

    task_id: str
    response_code: str
    key: str


class WeComChannel:
    """Serves ``/wecom/callback`` and runs each message through the Router, replying via the transport."""

    def __init__(
        self,
        router: Router,
        crypto: WeComCrypto,
        transport: WeComTransport,
        *,
        agent_id: int | None = None,
        now: Callable[[], float] = time.time,
        window: int = DEFAULT_WINDOW,
        dedupe_max: int = 50_000,
        max_pending: int = 2_000,
        greet_every: float = 12 * 3600,
        direct_max_wait: float = 65.0,
        outbox_fallback: bool = True,
        concurrency: int | None = None,
    ) -> None:
        self.router = router
        self.crypto = crypto
        self.transport = transport
        self.agent_id = agent_id
        self.now = now
        self.window = window
        self.max_pending = max_pending
        self.direct_max_wait = direct_max_wait
        self.outbox_fallback = outbox_fallback
        # Handling takes a database transaction: one at a time on SQLite (a transaction that reads and
        # then writes can be refused at once while another writes), a few at a time elsewhere. Sending
        # the replies happens outside, concurrently.
        db = getattr(getattr(router, "deps", None), "db", None)
        self._handling = asyncio.Semaphore(concurrency or (1 if getattr(db, "is_sqlite", True) else 8))
        # Longer than the timestamp window both ways: a replay that passes the timestamp check is
        # still remembered.
        self.seen: TtlCache[str, bool] = TtlCache(ttl=2 * window + 60, max_items=dedupe_max)
        self.greeted: TtlCache[str, bool] = TtlCache(ttl=greet_every, max_items=50_000)
        self.stats: Counter[str] = Counter()
        self._queues: dict[str, deque[dict[str, str]]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._pending = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._closing = False

    @classmethod
    def from_settings(cls, settings: Settings, router: Router, *, files_root: Path | None = None,
                      **kwargs: Any) -> WeComChannel:
        """The channel of the app configured by the WECOM_* settings (see ``wecom_configured``)."""
        if not wecom_configured(settings):
            raise ValueError("WeCom is not configured: set WECOM_CORP_ID, WECOM_AGENT_ID, WECOM_SECRET, "
                             "WECOM_TOKEN and WECOM_AES_KEY")
        assert settings.wecom_token and settings.wecom_aes_key and settings.wecom_corp_id
        crypto = WeComCrypto(settings.wecom_token.get_secret_value(),
                             settings.wecom_aes_key.get_secret_value(), settings.wecom_corp_id)
        if files_root is None:
            files_root = getattr(settings, "data_dir", None)
        transport = WeComTransport(make_api(settings), files_root=files_root)
        return cls(router, crypto, transport, agent_id=settings.wecom_agent_id, **kwargs)

    # -- HTTP

    def _refuse(self, request: web.Request, error: WeComCryptoError) -> web.Response:
        self.stats[f"refused:{error.reason}"] += 1
        log.warning("WeCom callback refused (%s) from %s", error.reason, request.remote)
        return web.Response(status=_REFUSAL_STATUS.get(error.reason, 400), text=error.reason)

    async def on_get(self, request: web.Request) -> web.Response:
        """URL verification: answer the decrypted echostr, bare."""
        query = _query(request)
        if not all(query.get(k) for k in ("msg_signature", "timestamp", "nonce", "echostr")):
            self.stats["refused:params"] += 1
            return web.Response(status=400, text="missing parameters")
        try:
            echo = self.crypto.verify_url(query["msg_signature"], query["timestamp"], query["nonce"],
                                          query["echostr"], now=int(self.now()), window=self.window)
        except WeComCryptoError as error:
            return self._refuse(request, error)
        return web.Response(text=echo, content_type="text/plain")

    async def _read_body(self, request: web.Request) -> bytes | None:
        """The body, or None when it is over the size cap (read no further than the cap)."""
        cap = self.crypto.max_xml_bytes
        if request.content_length is not None and request.content_length > cap:
            return None
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.content.iter_chunked(16 * 1024):
            size += len(chunk)
            if size > cap:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    async def on_post(self, request: web.Request) -> web.Response:
        """One encrypted message: check it, acknowledge at once, handle it in the user's task."""
        query = _query(request)
        if not all(query.get(k) for k in ("msg_signature", "timestamp", "nonce")):
            self.stats["refused:params"] += 1
            return web.Response(status=400, text="missing parameters")
        body = await self._read_body(request)
        if body is None:
            return self._refuse(request, WeComCryptoError("too_large", "request body over the cap"))
        try:
            fields = self.crypto.decrypt_message(body, query["msg_signature"], query["timestamp"],
                                                 query["nonce"], now=int(self.now()), window=self.window)
        except WeComCryptoError as error:
            return self._refuse(request, error)
        status = self.accept(fields)
        return web.Response(status=status, text="")

    def accept(self, fields: dict[str, str]) -> int:
        """Deduplicate and queue an authenticated message; the HTTP status to answer with."""
        userid = (fields.get("FromUserName") or "").strip()
        agent = (fields.get("AgentID") or "").strip()
        if not userid or (self.agent_id is not None and agent and agent != str(self.agent_id)):
            self.stats["ignored"] += 1
            return 200
        key = dedupe_key(fields)
        if key in self.seen:
            self.stats["duplicate"] += 1
            return 200
        if self._closing or self._pending >= self.max_pending:
            self.stats["busy"] += 1
            return 503  # not remembered: WeCom's retry may find room
        self.seen.set(key, True)
        self.stats["accepted"] += 1
        self._pending += 1
        self._idle.clear()
        self._queues.setdefault(userid, deque()).append(fields)
        if userid not in self._workers:
            self._workers[userid] = asyncio.create_task(self._work(userid), name=f"wecom:{userid}")
        return 200

    # -- the work

    async def _work(self, userid: str) -> None:
        queue = self._queues[userid]
        try:
            while queue:
                fields = queue.popleft()
                try:
                    await self._process(userid, fields)
                except Exception:
                    self.stats["failed"] += 1
                    log.exception("error while handling a WeCom message from %s", userid)
                finally:
                    self._pending -= 1
        finally:
            self._workers.pop(userid, None)
            if not queue:
                self._queues.pop(userid, None)
            if self._pending == 0:
                self._idle.set()

    def incoming_from(self, userid: str, fields: Mapping[str, str]) -> tuple[Incoming | None, Press | None]:
        """The channel-neutral view of a message; None for what we do not answer."""
        msgtype = (fields.get("MsgType") or "").strip().lower()

        def base(**what: Any) -> Incoming:
            return Incoming(channel=CHANNEL, user_id=userid, chat_id=userid, key=dedupe_key(fields), **what)

        if msgtype == "text":
            text = fields.get("Content") or ""
            button = self.transport.pressed_number(userid, text)
            if button is not None:
                return base(callback_data=button.data), None
            return base(text=keyword_to_command(text)), None
        if msgtype == "image":
            media_id = (fields.get("MediaId") or "").strip()
            return base(photos=(media_id,) if media_id else ()), None
        if msgtype == "event":
            event = (fields.get("Event") or "").strip().lower()
            key = fields.get("EventKey") or ""
            if event == "click":
                command = keyword_to_command(key)
                return (base(text=command), None) if command.startswith("/") else (None, None)
            if event in ("enter_agent", "subscribe"):
                if self.greeted.add(userid, True):
                    return base(text="/help"), None
                return None, None
            if event == "template_card_event" and key:
                press = Press(task_id=fields.get("TaskId") or "",
                              response_code=fields.get("ResponseCode") or "", key=key)
                return base(callback_data=key), press
            return None, None
        if msgtype in ("voice", "video", "file", "location", "link"):
            return base(text=""), None  # answered "not understood"
        return None, None

    async def _process(self, userid: str, fields: dict[str, str]) -> None:
        incoming, press = self.incoming_from(userid, fields)
        if incoming is None:
            self.stats["ignored"] += 1
            return
        async with self._handling:
            outcome = await self.router.handle(incoming)
        self.stats["handled"] += 1
        if press is not None and press.response_code:
            await self.transport.mark_pressed(userid, press.task_id, press.response_code, press.key)
        await self.deliver(userid, outcome)

    async def deliver(self, userid: str, outcome: Outcome) -> None:
        """Send an outcome's replies in order (the app menu is the same for everyone: ``outcome.menu``
        is not used). What cannot go out now is handed to the outbox."""
        for index, reply in enumerate(outcome.replies):
            try:
                await self.transport.deliver(userid, reply, max_wait=self.direct_max_wait)
            except (RetryLater, TransientError) as exc:
                log.warning("WeCom reply to %s not sent now (%s)", userid, exc)
                if self.outbox_fallback:
                    await self._to_outbox(userid, outcome.replies[index:])
                    break
            except DeliveryError as exc:
                log.warning("WeCom reply to %s refused: %s", userid, exc)
        if not any(reply.buttons for reply in outcome.replies):
            self.transport.forget_numbers(userid)

    async def _to_outbox(self, userid: str, replies: list[Reply]) -> None:
        from storage import outbox

        deps = self.router.deps
        batch = uuid.uuid4().hex
        try:
            async with deps.db.session() as session:
                for n, reply in enumerate(replies):
                    await outbox.enqueue_for_chat(session, channel=CHANNEL, chat_id=userid, reply=reply,
                                                  key=f"wecom-reply:{batch}:{n}", now=deps.clock.now(),
                                                  attachment=reply.attachment)
            self.stats["to_outbox"] += len(replies)
        except Exception:
            log.exception("could not queue WeCom replies for %s", userid)

    async def idle(self, timeout: float | None = None) -> None:
        """Wait until every accepted message has been handled and answered."""
        await asyncio.wait_for(self._idle.wait(), timeout)

    async def close(self, timeout: float = 10.0) -> None:
        """Stop accepting (503), let queued messages finish for up to ``timeout`` s, close the API session."""
        self._closing = True
        try:
            await self.idle(timeout)
        except TimeoutError:
            log.warning("WeCom: %d messages still unhandled at shutdown", self._pending)
            for task in list(self._workers.values()):
                task.cancel()
            await asyncio.gather(*self._workers.values(), return_exceptions=True)
        await self.transport.close()


# ---------------------------------------------------------------- wiring


def wecom_configured(settings: Settings) -> bool:
    """Whether the self-built app is configured: corp id, agent id, secret, token and AES key."""
    return bool(settings.wecom_corp_id and settings.wecom_agent_id and settings.wecom_secret
                and settings.wecom_token and settings.wecom_aes_key)


def make_api(settings: Settings) -> WeComApi:
    """The API client of the configured app."""
    if not (settings.wecom_corp_id and settings.wecom_agent_id and settings.wecom_secret):
        raise ValueError("set WECOM_CORP_ID, WECOM_AGENT_ID and WECOM_SECRET")
    return WeComApi(corp_id=settings.wecom_corp_id, secret=settings.wecom_secret.get_secret_value(),
                    agent_id=settings.wecom_agent_id, base_url=settings.wecom_api_base or DEFAULT_API_BASE)


def add_wecom_routes(app: web.Application, channel: WeComChannel, *, path: str = CALLBACK_PATH) -> None:
    """Serve the callback (GET verification, POST messages) on ``app``; on shutdown, let queued messages
    finish and close the channel's API session."""
    app.router.add_get(path, channel.on_get)
    app.router.add_post(path, channel.on_post)

    async def _close(_app: web.Application) -> None:
        await channel.close()

    app.on_shutdown.append(_close)


@asynccontextmanager
async def wecom_outbox_transports(settings: Settings, *,
                                  channel: WeComChannel | None = None) -> AsyncIterator[dict[str, Transport]]:
    """The outbox transports of the configured WeCom app ("wecom") and group robots ("wecom_robot");
    empty when neither is configured. Sessions made here are closed on exit (a given channel's are not)."""
    transports: dict[str, Transport] = {}
    own: list[Any] = []
    if channel is not None:
        transports[CHANNEL] = channel.transport
    elif settings.wecom_corp_id and settings.wecom_agent_id and settings.wecom_secret:
        transport = WeComTransport(make_api(settings), files_root=getattr(settings, "data_dir", None))
        transports[CHANNEL] = transport
        own.append(transport)
    robots = WeComRobotTransport.from_settings(settings)
    if robots is not None:
        transports[robots.channel] = robots
        own.append(robots)
    try:
        yield transports
    finally:
        for transport in own:
            await transport.close()


# ---------------------------------------------------------------- the app menu

MENU: dict[str, Any] = {
    # WeCom allows 3 top-level buttons (16 bytes a name) with up to 5 sub-buttons (40 bytes) each.
    "button": [
        {"type": "click", "name": "填报进度", "key": "/report"},
        {"name": "问题", "sub_button": [
            {"type": "click", "name": "我的问题清单", "key": "/issues"},
            {"type": "click", "name": "反映问题", "key": "/issue"},
        ]},
        {"name": "我的", "sub_button": [
            {"type": "click", "name": "我的项目", "key": "/mine"},
            {"type": "click", "name": "排名", "key": "/rank"},
            {"type": "click", "name": "帮助", "key": "/help"},
        ]},
    ],
}


async def publish_menu(api: WeComApi, menu: Mapping[str, Any] = MENU) -> None:
    """Publish the app's menu (``menu/create``); clicks arrive as the command in each button's key."""
    await api.create_menu(dict(menu))


# ---------------------------------------------------------------- admin: binding and CLI


@dataclass(frozen=True)
class WeComBinding:
    """What ``bind_wecom`` did."""

    person_id: int
    person_name: str
    userid: str
    previous_person: str | None  # the userid was bound to someone else before
    already: bool  # it was bound to this person already


async def bind_wecom(db: Database, clock: Clock, *, userid: str, person_name: str,
                     phone: str | None = None, actor_label: str = "cli") -> WeComBinding:
    """Bind a WeCom userid to a person of the roster (an admin vouches for it).

    Raises ``AdminInputError`` with a Chinese message when the userid is malformed or the person is
    unknown, inactive or ambiguous (several of that name: give the phone).
    """
    from bot.admin_ops import AdminInputError
    from storage import audit, people
    from storage.audit import Actor

    userid = userid.strip()
    if not USERID_RE.match(userid):
        raise AdminInputError(f"企业微信账号「{userid}」无效:账号只能由字母、数字和 _ - @ . 组成,"
                              "以字母或数字开头,最长 64 个字符。")
    now: datetime = clock.now()
    async with db.session() as session:
        found = await people.find_people_by_name(session, name=person_name.strip(), phone=phone or None)
        if not found:
            raise AdminInputError(f"人员名单中没有「{person_name}」{f'(手机 {phone})' if phone else ''}。"
                                  "请先导入人员名单。")
        if len(found) > 1:
            lines = "\n".join(
                f"  {p.name}  手机 {p.phone or '—'}  {(p.unit.name if p.unit else p.title) or ''}"
                for p in found)
            raise AdminInputError(
                f"人员名单中有 {len(found)} 位「{person_name}」,请用 --phone 指定:\n{lines}")
        person = found[0]
        if not person.active:
            raise AdminInputError(f"「{person.name}」已停用,不能绑定。")
        existing = await people.get_account(session, channel=CHANNEL, external_id=userid)
        previous = None
        if existing is not None and existing.person_id != person.id:
            other = await people.get_person(session, person_id=existing.person_id)
            previous = other.name if other else str(existing.person_id)
        already = existing is not None and existing.person_id == person.id and existing.blocked_at is None
        await people.bind_account(session, person=person, channel=CHANNEL, external_id=userid, chat_id=userid,
                                  display_name=person.name, now=now)
        await audit.record(session, actor=Actor(label=actor_label, channel="cli"), at=now,
                           action="account.bind", object_type="person", object_key=str(person.id),
                           detail={"channel": CHANNEL, "external_id": userid, "by": "admin",
                                   "previous_person": previous})
        return WeComBinding(person_id=person.id, person_name=person.name, userid=userid,
                            previous_person=previous, already=already)


async def cli_bind_wecom(core: Any, args: argparse.Namespace, *, out: Callable[[str], None] = print) -> int:
    """`diaodu people bind --wecom USERID --person NAME [--phone PHONE]`."""
    result = await bind_wecom(core.db, core.clock, userid=args.wecom, person_name=args.person,
                              phone=getattr(args, "phone", None))
    if result.already:
        out(f"企业微信账号 {result.userid} 已绑定到 {result.person_name},无需重复绑定。")
    elif result.previous_person:
        out(f"企业微信账号 {result.userid} 已从 {result.previous_person} 改绑到 {result.person_name}。")
    else:
        out(f"已将企业微信账号 {result.userid} 绑定到 {result.person_name}。")
    return 0


async def cli_wecom_menu(core: Any, args: argparse.Namespace, *, out: Callable[[str], None] = print,
                         api: WeComApi | None = None) -> int:
    """`diaodu wecom menu [--dry-run]`: publish the app menu (dry run: print it as JSON)."""
    from bot.admin_ops import AdminInputError

    if getattr(args, "dry_run", False):
        out(json.dumps(MENU, ensure_ascii=False, indent=2))
        return 0
    settings = core.settings
    if api is None and not (settings.wecom_corp_id and settings.wecom_agent_id and settings.wecom_secret):
        raise AdminInputError("未配置企业微信应用:请设置 WECOM_CORP_ID、WECOM_AGENT_ID 和 WECOM_SECRET。")
    client = api or make_api(settings)
    try:
        await publish_menu(client)
    except DeliveryError as error:
        raise AdminInputError(f"发布企业微信应用菜单失败:{error}") from error
    finally:
        if api is None:
            await client.close()
    names = "、".join(b["name"] for b in MENU["button"])
    out(f"已发布企业微信应用菜单:{names}。")
    return 0
