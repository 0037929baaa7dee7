"""The WeCom app's callback (``/wecom/callback``): messages in, through the Router, replies out.

- GET is the URL verification: the signed, encrypted ``echostr`` is answered decrypted and bare.
- POST carries one encrypted message. In this order: the body is capped (``too_large`` → 413) and
  parsed safely, the signature checked in constant time (403), the timestamp checked against a
  5-minute window (403), the message decrypted and its receiveid checked against our corp id (403);
  any other malformation is a 400. Only then is the message queued for its user's task, and the answer
  is an empty 200 at once: nothing between the request and the answer waits for the database, so a
  database held by another writer (SQLite's one write lock, while a bulletin is read) cannot make WeCom
  wait past the 5 s after which it posts the message again.
- Duplicates. WeCom posts a message again when it got no answer within 5 s, and a callback URL may be
  served by several processes. A message's key (``MsgId``, or sender + CreateTime + event + key for
  events) is looked up twice. At the answer, in this process's memory: a copy of a message still queued
  or being handled here is answered 200 and dropped. In the user's task, just before the message is
  handled: the key is marked in the database (``SharedMemory.first_sighting``, for longer than the
  timestamp window both ways), and a message some process has marked already is not acted on, so a
  retry, the same message posted to another process, or a captured request replayed after a restart is
  acknowledged and not acted on again. When the database cannot say (locked past its wait, gone), the
  message is handled: the key also travels as ``Incoming.key``, and the router records it with what
  the message changed, which holds even when the mark cannot be written.
- Order. Each user has one task that takes their messages one after another, in the order they were
  answered, checking each against the database just before handling it, so guided flows stay in order;
  different users run concurrently (their database transactions one at a time on SQLite; sending is
  concurrent). Whom to greet on entering the app is remembered the same way, in the user's task.
- A full queue: at most ``max_pending`` messages wait in a process. Past that a message is answered 503
  at once (nothing waits for room, and nothing is remembered of it, so WeCom's retry may find room); a
  copy of a message already queued is still answered 200. While the channel closes it answers 503 too.
- Nothing is lost once answered. Once the 200 is sent, WeCom does not post the message again: with an inbox
  (``bot.channels.wecom.inbox``, which ``diaodu run`` keeps in ``DATA_DIR/wecom-inbox``) the message is
  appended to this process's journal before the answer (synced to the disk in a thread right after; nothing
  waits for the database or a lock), and marked done once its user's task has handled it. On start,
  the messages answered before a crash or restart and not done are queued before any new one, each user's
  in the order they were answered (and, when this process becomes the leader, those of the journals of processes
  that died while it ran: ``take_over``). Such a message may have been marked seen (or even handled) just before
  the crash, so it is handled whatever the mark says: the router's record of what it handled
  (``Incoming.key``) keeps a message that changed something from being acted on twice, and only a message
  that changed nothing (``/help``) may be answered twice. It counts for the day it was answered
  (``Incoming.answered_at``): a report answered at 23:50 and recovered after midnight is the day before's. The
  journal also says how far a message's replies went out (after each message of them that got through, the last
  marking it done): one recovered gets only the rest of the replies kept with it.
  A message the journal cannot write (a full disk) is not taken: answered 503 (logged, counted as
  ``inbox_failed``), so that WeCom posts it again. Without an inbox (the tests' default) a message lives only in
  memory until handled, and a crash loses it.
- What a message means is ``bot.channels.wecom.incoming``'s business; how its replies go out,
  ``bot.channels.wecom.replies``' (to the outbox what cannot go out now) and ``bot.channels.wecom.transport``'s. A
  pressed card's buttons are replaced by "已选择:…" once the press is handled.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from aiohttp import web

from bot.channels.base import Progress
from bot.channels.wecom.crypto import DEFAULT_WINDOW, WeComCrypto, WeComCryptoError
from bot.channels.wecom.inbox import Answered, Inbox
from bot.channels.wecom.incoming import dedupe_key, incoming_from, pick_number
from bot.channels.wecom.replies import WeComReplySender
from bot.channels.wecom.transport import WeComTransport
from bot.channels.wecom.wiring import make_api, wecom_configured
from bot.domain.messages import Outcome
from bot.services.shared_memory import SharedMemory

if TYPE_CHECKING:
    from bot.config import Settings
    from handlers.router import Router

log = logging.getLogger(__name__)

_REFUSAL_STATUS = {"signature": 403, "stale": 403, "receiveid": 403, "too_large": 413}


def _query(request: web.Request) -> dict[str, str]:
    """Query parameters percent-decoded without turning "+" into a space (echostr is base64)."""
    values: dict[str, str] = {}
    for pair in request.rel_url.raw_query_string.split("&"):
        name, _, value = pair.partition("=")
        if name:
            values.setdefault(unquote(name), unquote(value))
    return values


@dataclass(frozen=True)
class _Queued:
    """A message waiting for its user's task: its key and fields; one recovered from the inbox after a restart
    also says when it was answered and how far its replies went before, and whether `diaodu restore` put it back
    (``Answered.restored``: not left by a process that died with it)."""

    key: str
    fields: dict[str, str]
    answered_at: float | None = None
    sent: Progress = field(default_factory=Progress)
    restored: bool = False


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
        memory: SharedMemory | None = None,
        max_pending: int = 2_000,
        greet_every: float = 12 * 3600,
        direct_max_wait: float = 65.0,
        outbox_fallback: bool = True,
        concurrency: int | None = None,
        inbox: Inbox | None = None,
    ) -> None:
        self.router = router
        self.crypto = crypto
        self.transport = transport
        self.agent_id = agent_id
        self.now = now
        self.window = window
        self.max_pending = max_pending
        # Handling takes a database transaction: one at a time on SQLite (a transaction that reads and
        # then writes can be refused at once while another writes), a few at a time elsewhere. Sending
        # the replies happens outside, concurrently.
        db = getattr(getattr(router, "deps", None), "db", None)
        self._handling = asyncio.Semaphore(concurrency or (1 if getattr(db, "is_sqlite", True) else 8))
        deps = getattr(router, "deps", None)
        self.memory = memory or SharedMemory(deps.db, deps.clock)
        # Longer than the timestamp window both ways: a replay that passes the timestamp check is
        # still remembered.
        self.seen_ttl = float(2 * window + 60)
        self.greet_every = greet_every
        self.stats: Counter[str] = Counter()
        self.inbox = inbox
        self.replies = WeComReplySender(transport, db, getattr(deps, "clock", None), self.stats, inbox=inbox,
                                    max_wait=direct_max_wait, outbox_fallback=outbox_fallback)
        # per user: the messages to handle, in order (``_Queued``)
        self._queues: dict[str, deque[_Queued]] = {}
        self._queued: set[str] = set()  # keys of the messages queued or being handled in this process
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._pending = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._closing = False

    @classmethod
    def from_settings(cls, settings: Settings, router: Router, *, files_root: Path | None = None,
                      inbox: Path | Inbox | None = None, **kwargs: Any) -> WeComChannel:
        """The channel of the app configured by the WECOM_* settings (see ``wecom_configured``); with ``inbox``,
        the folder of the journals of answered messages (``bot.channels.wecom.inbox``), or the inbox itself."""
        if not wecom_configured(settings):
            raise ValueError("WeCom is not configured: set WECOM_CORP_ID, WECOM_AGENT_ID, WECOM_SECRET, "
                             "WECOM_TOKEN and WECOM_AES_KEY")
        assert settings.wecom_token and settings.wecom_aes_key and settings.wecom_corp_id
        crypto = WeComCrypto(settings.wecom_token.get_secret_value(),
                             settings.wecom_aes_key.get_secret_value(), settings.wecom_corp_id)
        if files_root is None:
            files_root = getattr(settings, "data_dir", None)
        memory = kwargs.pop("memory", None) or SharedMemory(router.deps.db, router.deps.clock)
        transport = WeComTransport(make_api(settings), files_root=files_root, memory=memory)
        return cls(router, crypto, transport, agent_id=settings.wecom_agent_id, memory=memory,
                   inbox=Inbox.open(inbox) if isinstance(inbox, Path) else inbox, **kwargs)

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
        if self.inbox is not None:
            self.inbox.sync_soon()  # on the disk within milliseconds; the answer waits only for the append
        return web.Response(status=status, text="")

    def accept(self, fields: dict[str, str]) -> int:
        """Queue an authenticated message for its user's task, waiting for nothing (the database is asked
        whether the message was seen in that task), having written it to the inbox; the HTTP status to answer
        with."""
        userid = (fields.get("FromUserName") or "").strip()
        agent = (fields.get("AgentID") or "").strip()
        if not userid or (self.agent_id is not None and agent and agent != str(self.agent_id)):
            self.stats["ignored"] += 1
            return 200
        key = dedupe_key(fields)
        if key in self._queued:  # a copy of a message waiting or being handled here
            self.stats["duplicate"] += 1
            return 200
        if self._closing or self._pending >= self.max_pending:
            self.stats["busy"] += 1
            return 503  # not remembered: WeCom's retry may find room
        if self.inbox is not None:
            try:
                self.inbox.add(key, userid, fields, at=self.now())
            except OSError:  # a full disk: taken, it would be lost with the process; refused, WeCom posts it again
                self.stats["inbox_failed"] += 1
                log.error("WeCom inbox: could not write message %s; refused (503), WeCom posts it again", key,
                          exc_info=True)
                return 503
        self.stats["queued"] += 1
        self._enqueue(userid, _Queued(key, fields))
        return 200

    def _enqueue(self, userid: str, message: _Queued) -> None:
        self._queued.add(message.key)
        self._pending += 1
        self._idle.clear()
        self._queues.setdefault(userid, deque()).append(message)
        if userid not in self._workers:
            self._workers[userid] = asyncio.create_task(self._work(userid), name=f"wecom:{userid}")

    async def resume(self) -> None:
        """Queue the messages answered before a restart and not handled (the inbox's), before any new one."""
        if self.inbox is None:
            return
        self._hand_back(self.inbox.recovered)
        self.inbox.recovered = []

    def take_over(self) -> None:
        """Queue the messages of the journals of processes that died while this one ran (when it becomes the
        leader)."""
        if self.inbox is not None:
            self._hand_back(self.inbox.take_over())

    def _hand_back(self, recovered: list[Answered]) -> None:
        for answered in recovered:
            self.stats["recovered"] += 1
            self._enqueue(answered.userid, _Queued(answered.key, answered.fields, answered.at, answered.sent,
                                                   answered.restored))

    async def _first_sighting(self, key: str) -> bool:
        """Whether no process has seen this message yet. When the database cannot say (locked, gone), the
        message is taken as new: the router's own record of the messages it handled (``Incoming.key``,
        written with what the message changed) still keeps it from being acted on twice."""
        try:
            return await self.memory.first_sighting("wecom-msg:" + key, ttl=self.seen_ttl)
        except Exception:
            self.stats["dedupe_unavailable"] += 1
            log.warning("could not check WeCom message %s against the ones seen; handling it", key, exc_info=True)
            return True

    async def _greet_now(self, userid: str) -> bool:
        """Whether a user entering the app is greeted now (at most once per ``greet_every``, over every
        process); when the database cannot say, not."""
        try:
            return await self.memory.first_sighting(f"wecom-greet:{userid.lower()}", ttl=self.greet_every)
        except Exception:
            log.warning("could not check when %s was last greeted", userid, exc_info=True)
            return False

    # -- the work

    async def _work(self, userid: str) -> None:
        queue = self._queues[userid]
        try:
            while queue:
                message = queue.popleft()
                try:
                    # a message recovered may have been marked by this process before it stopped: handled anyway
                    if await self._first_sighting(message.key) or message.answered_at is not None:
                        self.stats["accepted"] += 1
                        await self._process(userid, message)
                    else:
                        self.stats["duplicate"] += 1
                except Exception:
                    self.stats["failed"] += 1
                    log.exception("error while handling a WeCom message from %s", userid)
                finally:
                    self._pending -= 1
                    self._queued.discard(message.key)
                if self.inbox is not None:  # not reached when cancelled at shutdown: kept for the next start
                    self.inbox.done(message.key)
        finally:
            self._workers.pop(userid, None)
            if not queue:
                self._queues.pop(userid, None)
            if self._pending == 0:
                self._idle.set()

    async def _process(self, userid: str, message: _Queued) -> None:
        """Handle one message; one recovered after a restart (``answered_at``: when the callback answered it) counts
        for that day (``Incoming.answered_at``), and, handled before, is answered with the replies kept with it
        (``Incoming.first_died``: the process that answered it died; not for one `diaodu restore` put back), those
        that went out before left out."""
        fields, answered_at = message.fields, message.answered_at
        choices = await self.transport.numbered_choices(userid)
        msgtype = (fields.get("MsgType") or "").strip().lower()
        event = (fields.get("Event") or "").strip().lower()
        greet = msgtype == "event" and event in ("enter_agent", "subscribe") and await self._greet_now(userid)
        incoming, press = incoming_from(userid, fields, pressed_number=lambda _user, text: pick_number(choices, text),
                                        greet=lambda _user: greet)
        if incoming is None:
            self.stats["ignored"] += 1
            return
        incoming = replace(incoming, numbered_choices=bool(choices))
        if answered_at is not None:
            incoming = replace(incoming, answered_at=datetime.fromtimestamp(answered_at, UTC),
                               first_died=not message.restored)
        async with self._handling:
            outcome = await self.router.handle(incoming)
        self.stats["handled"] += 1
        if press is not None and press.response_code:
            await self.transport.mark_pressed(userid, press.task_id, press.response_code, press.key)
        start = (self.inbox.starting(message.key, message.sent, outcome) if self.inbox is not None
                 else message.sent if outcome.again else None)
        await self.deliver(userid, outcome, had_choices=bool(choices), key=message.key, start=start)

    async def deliver(self, userid: str, outcome: Outcome, *, had_choices: bool = True, key: str | None = None,
                      start: Progress | None = None) -> None:
        """Send an outcome's replies (``WeComReplySender.deliver``)."""
        await self.replies.deliver(userid, outcome, had_choices=had_choices, key=key, start=start)

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
        if self.inbox is not None:
            await self.inbox.close()
        await self.transport.close()
