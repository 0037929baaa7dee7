"""A small fake Telegram Bot API server speaking real HTTP, for end-to-end tests of the Telegram channel.

It implements just enough of the Bot API for python-telegram-bot 22 to poll it, answer users and manage
command menus: getMe, getUpdates (long polling with offset semantics), sendMessage, sendPhoto,
sendDocument, editMessageText, editMessageReplyMarkup, answerCallbackQuery, set/get/deleteMyCommands, set/deleteWebhook,
getWebhookInfo, getFile (plus file downloads), getChatMember, getChat, logOut and close.

Like Telegram, it rejects text sent with ``parse_mode=HTML`` that does not parse as Telegram-HTML
("Bad Request: can't parse entities: ..."), so escaping bugs fail tests instead of passing silently.

A test drives it by queueing what users do (``enqueue_text``, ``enqueue_photo``, ``enqueue_callback``),
then waits for what the bot did (``await wait_for("sendMessage", chat_id=..., count=1)``). Every call is
recorded in ``calls`` with its parsed parameters. ``inject_fault`` makes a method answer 429 (with
``retry_after``), 500 or any other status, and/or respond late, for a fraction of calls;
``inject_faults`` mixes several (20 % 429s and 10 % 500s of the same method); ``file_delays`` makes a file's
download answer late, so that downloads finish out of order. ``migrate_group`` upgrades a
group to a supergroup (the bot standing there as it stood in the group, the group's permissions kept): calls naming
the old id are refused with ``migrate_to_chat_id``, and the updates Telegram sends are queued, as Telegram does. A
forum supergroup (``group(..., forum=True)``) has topics (``topic``, ``delete_topic``): users write in one
(``enqueue_text(..., thread_id=...)``) and a message sent to a topic that does not exist is refused with
"message thread not found". ``bot_standing`` changes the bot's standing in a group as its admins do (taken out,
muted, allowed to send again) and queues the ``my_chat_member`` update Telegram sends: a message to a group where
the bot is muted is refused ("not enough rights to send text messages to the chat"), one to a group it was taken out
of too ("bot was kicked from the group chat"); getChatMember tells the bot's standing. A bot restricted with some rights
(``photos=False``, ``documents=False``) has its photos or files refused ("not enough rights to send photos to the
chat"). ``group_permissions`` sets what every member of a group may send (an admin's setChatPermissions, say
"members may not send messages"): Telegram tells the bot nothing of it, but refuses what a bot that is no admin sends
there in the same words; getChat says the group's permissions.
While a webhook is set (setWebhook) the fake delivers the queued updates to it as Telegram does, one at a time in
order, with the secret token, and tries again every ``webhook_retry`` seconds after a failure; getWebhookInfo
says what it met (``pending_update_count``, ``last_error_date``, ``last_error_message`` worded as Telegram words
them). There is no TLS here: it delivers to ``webhook_redirect`` (``http://host:port``) in place of the
webhook URL's scheme and host, and without one only to a local URL; any other host is "Failed to resolve host".
Setting ``token_revoked`` answers every call as Telegram does once a token was revoked in @BotFather (401
"Unauthorized"; PTB raises ``InvalidToken``), as it answers a token that was never the bot's.

Usage::

    async with FakeBotAPI() as fake:
        settings = load_settings(TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_BASE_URL=fake.base_url, ...)
        ...
        fake.enqueue_text(1001, "/help")
        [reply] = await fake.wait_for("sendMessage", chat_id=1001)
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import os
import random
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from aiohttp import ClientError, ClientSession, ClientTimeout, web

from tests.fakes.serving import serve_locally, wait_for_wake, wake

JSON = dict[str, Any]

# Parameters Telegram takes as plain strings; every other form field carries a JSON value
# (python-telegram-bot json-encodes non-string values when it posts a form).
STRING_PARAMS = frozenset({
    "text", "caption", "parse_mode", "callback_query_id", "inline_message_id", "url", "secret_token",
    "file_id", "language_code", "photo", "certificate", "ip_address", "business_connection_id",
    "message_effect_id", "description", "short_description", "name", "emoji", "action",
})

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
# An inline keyboard holds at most 100 buttons, 8 to a row, and at most about 10 KB of JSON; beyond any of
# these Telegram answers "reply markup is too long".
MAX_BUTTONS = 100
MAX_ROW_BUTTONS = 8
MAX_MARKUP_BYTES = 10 * 1024
MAX_UPLOAD = 50 * 1024 * 1024  # what a bot may upload; a bigger request is answered 413
# What a member of a group may send (ChatPermissions, ChatMemberRestricted), each allowed or not.
SEND_RIGHTS = ("can_send_messages", "can_send_audios", "can_send_documents", "can_send_photos", "can_send_videos",
               "can_send_video_notes", "can_send_voice_notes", "can_send_polls", "can_send_other_messages",
               "can_add_web_page_previews")
CHAT_RIGHTS = (*SEND_RIGHTS, "can_change_info", "can_invite_users", "can_pin_messages", "can_manage_topics")
COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")


class ApiError(Exception):
    """An error answer of the Bot API: {"ok": false, "error_code": ..., "description": ...}."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


# --- Telegram-HTML ------------------------------------------------------------------------------------

# Tags Telegram accepts with parse_mode=HTML, and the attributes each may carry.
ALLOWED_TAGS: dict[str, frozenset[str]] = {
    "b": frozenset(), "strong": frozenset(), "i": frozenset(), "em": frozenset(), "u": frozenset(),
    "ins": frozenset(), "s": frozenset(), "strike": frozenset(), "del": frozenset(),
    "tg-spoiler": frozenset(), "span": frozenset({"class"}), "a": frozenset({"href"}),
    "tg-emoji": frozenset({"emoji-id"}), "code": frozenset({"class"}), "pre": frozenset(),
    "blockquote": frozenset({"expandable"}),
}
# Telegram supports every numeric character reference but only these named ones.
_BAD_AMPERSAND = re.compile(r"&(?!(?:lt|gt|amp|quot);|#[0-9]+;|#[xX][0-9a-fA-F]+;)")


class TelegramHtmlError(ValueError):
    """Text that Telegram would refuse with "can't parse entities"."""


class _TelegramHtml(HTMLParser):
    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=False)
        self.source = source
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", source)]
        self.stack: list[str] = []
        self.parts: list[str] = []

    def _offset(self) -> int:
        line, column = self.getpos()
        return self._line_starts[line - 1] + column

    def _fail(self, what: str) -> None:
        raise TelegramHtmlError(f"{what} at character offset {self._offset()}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self._fail(f'Unsupported start tag "{tag}"')
        for name, value in attrs:
            if name not in ALLOWED_TAGS[tag]:
                self._fail(f'Unsupported attribute "{name}" of tag "{tag}"')
            if tag == "span" and value != "tg-spoiler":
                self._fail('Tag "span" must have class "tg-spoiler"')
        if tag == "a" and not dict(attrs).get("href"):
            self._fail('Tag "a" must have attribute "href"')
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._fail(f'Unsupported start tag "{tag}"')

    def handle_endtag(self, tag: str) -> None:
        if not self.stack:
            self._fail(f'Unexpected end tag "{tag}"')
        if self.stack[-1] != tag:
            self._fail(f'Unmatched end tag, expected "</{self.stack[-1]}>", found "</{tag}>"')
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if "<" in data:
            self._fail('Unsupported start tag or unescaped "<"')
        self.parts.append(data)

    def handle_entityref(self, name: str) -> None:
        self.parts.append(html.unescape(f"&{name};"))

    def handle_charref(self, name: str) -> None:
        self.parts.append(html.unescape(f"&#{name};"))

    def handle_comment(self, data: str) -> None:
        self._fail("Unsupported comment or bogus tag")

    def handle_decl(self, decl: str) -> None:
        self._fail("Unsupported declaration")

    def handle_pi(self, data: str) -> None:
        self._fail("Unsupported processing instruction")

    def unknown_decl(self, data: str) -> None:
        self._fail("Unsupported declaration")


def parse_telegram_html(text: str) -> str:
    """The plain text Telegram would show for this Telegram-HTML; raises TelegramHtmlError if it would
    refuse it. Stricter than needed about "<" and "&" (always escape them) and lenient about ">"."""
    bad = _BAD_AMPERSAND.search(text)
    if bad:
        raise TelegramHtmlError(f'Unsupported HTML entity or unescaped "&" at character offset {bad.start()}')
    parser = _TelegramHtml(text)
    parser.feed(text)
    parser.close()
    if parser.stack:
        raise TelegramHtmlError(f'Can\'t find end tag corresponding to start tag "{parser.stack[-1]}"')
    return "".join(parser.parts)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# --- recording --------------------------------------------------------------------------------------


@dataclass
class Call:
    """One request the bot made: the method, its decoded parameters, uploaded files and the answer."""

    method: str
    params: JSON
    files: dict[str, bytes] = field(default_factory=dict)
    status: int = 0
    result: Any = None
    error: str | None = None
    at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return self.status == 200

    def matches(self, method: str | None, criteria: dict[str, Any]) -> bool:
        if method is not None and self.method != method:
            return False
        return all(_same(self.params.get(key), value) for key, value in criteria.items())

    def __getitem__(self, key: str) -> Any:
        return self.params[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.params.get(key, default)


def _same(actual: Any, expected: Any) -> bool:
    """Loose equality for criteria: 1001 matches "1001" (chat ids come as either)."""
    if actual == expected:
        return True
    if isinstance(expected, (int, str)) and isinstance(actual, (int, str)):
        return str(actual) == str(expected)
    return False


@dataclass
class Fault:
    """Misbehaviour injected into one method: for `rate` of the calls (while `times` lasts, and after the
    first `after` calls have passed untouched), wait `delay` seconds, then answer `status` instead of
    doing the work (status None: only the delay)."""

    status: int | None = 429
    rate: float = 1.0
    retry_after: int = 1
    delay: float = 0.0
    times: int | None = None
    description: str | None = None
    after: int = 0

    def error(self) -> ApiError | None:
        if self.status is None:
            return None
        if self.status == 429:
            return ApiError(429, self.description or f"Too Many Requests: retry after {self.retry_after}",
                            {"retry_after": self.retry_after})
        default = {500: "Internal Server Error", 502: "Bad Gateway",
                   403: "Forbidden: bot was blocked by the user",
                   400: "Bad Request: injected fault"}.get(self.status, "Injected fault")
        return ApiError(self.status, self.description or default)


Handler = Callable[[JSON, dict[str, bytes]], Awaitable[Any]]


class FakeBotAPI:
    """The fake server. Start it with ``await start()`` (or ``async with``), stop it with ``await stop()``."""

    def __init__(self, *, token: str = "123456:TEST-token", username: str = "diaodu_bot",
                 validate_html: bool = True, max_poll_timeout: float = 5.0, seed: int = 0,
                 control: bool = False) -> None:
        self.token = token
        self.max_upload = MAX_UPLOAD  # a test may lower it to refuse smaller files
        self.bot_id = int(token.split(":", 1)[0])
        self.username = username
        self.validate_html = validate_html
        self.max_poll_timeout = max_poll_timeout
        self.control = control
        self.token_revoked = False  # answer every call 401 Unauthorized, as for a revoked token
        self.calls: list[Call] = []
        self.updates: list[JSON] = []  # not yet confirmed by an offset
        self.messages: dict[tuple[int, int], JSON] = {}  # (chat_id, message_id) -> message as stored
        self.commands: dict[tuple[str, str], list[JSON]] = {}  # (scope json, language) -> commands
        self.webhook: JSON | None = None
        self.webhook_redirect: str | None = None  # where webhook updates go instead of the URL's scheme and host
        self.webhook_retry = 0.2  # seconds between two tries to deliver an update to the webhook
        self.webhook_error: tuple[int, str] | None = None  # the last delivery error: unix time, Telegram's words
        self._delivering: asyncio.Task[None] | None = None
        self.files: dict[str, bytes] = {}
        self.file_delays: dict[str, float] = {}  # file id -> seconds its download answers late (out of order)
        self.downloads: list[str] = []  # file ids whose bytes were fetched from the file URL
        self.callback_queries: dict[str, JSON] = {}  # id -> {"answered": bool, ...}
        self.faults: dict[str, Fault] = {}
        self.mixed_faults: dict[str, list[Fault]] = {}
        self._random = random.Random(seed)
        self._update_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._users: dict[int, JSON] = {}
        self._groups: dict[int, JSON] = {}  # chat id -> Chat of a group registered with group()
        self.migrated: dict[int, int] = {}  # group chat id -> the supergroup it became (migrate_group)
        self.topics: dict[int, dict[int, str]] = {}  # forum chat id -> its topics: thread id -> name
        self.closed_topics: set[tuple[int, int]] = set()  # (chat id, thread id) of the topics closed
        self.bot_members: dict[int, JSON] = {}  # group chat id -> the bot's ChatMember there (bot_standing)
        self.permissions: dict[int, JSON] = {}  # group chat id -> what its members may send (group_permissions)
        self._update_waiters: set[asyncio.Future[None]] = set()
        self._call_waiters: set[asyncio.Future[None]] = set()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._handlers: dict[str, Handler] = {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "sendmessage": self._send_message,
            "sendphoto": self._send_photo,
            "senddocument": self._send_document,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "answercallbackquery": self._answer_callback_query,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "getfile": self._get_file,
            "getchatmember": self._get_chat_member,
            "getchat": self._get_chat,
            "logout": self._true,
            "close": self._true,
            "sendchataction": self._true,
        }

    # --- lifecycle -----------------------------------------------------------------------------------

    async def start(self) -> FakeBotAPI:
        app = web.Application(client_max_size=MAX_UPLOAD + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        if self.control:
            app.router.add_post("/_fake/enqueue", self._control_enqueue)
            app.router.add_get("/_fake/count", self._control_count)
            app.router.add_get("/_fake/wait", self._control_wait)
        self._runner, self.port = await serve_locally(app, shutdown_timeout=0.5)
        return self

    async def stop(self) -> None:
        self._closing = True
        wake(self._update_waiters)
        wake(self._call_waiters)
        if self._delivering is not None:
            self._delivering.cancel()
            await asyncio.gather(self._delivering, return_exceptions=True)
            self._delivering = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotAPI:
        return await self.start()

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """What to give python-telegram-bot as base_url (it appends the token and the method)."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    def run_environment(self, database_url: str, data_dir: Path) -> dict[str, str]:
        """The environment of a ``diaodu run`` started in a process of its own against this fake: this
        process's, without its channel, database and HTTP settings, and with the fake's, the database, the
        data directory, and HTTP on 127.0.0.1 at a port the system picks."""
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("TELEGRAM_", "WECOM_", "DATABASE_", "HTTP_"))}
        env.update({
            "TELEGRAM_BOT_TOKEN": self.token, "TELEGRAM_BASE_URL": self.base_url,
            "TELEGRAM_BASE_FILE_URL": self.base_file_url, "DATABASE_URL": database_url,
            "DATA_DIR": str(data_dir), "HTTP_HOST": "127.0.0.1", "HTTP_PORT": "0",
            "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        })
        return env

    @property
    def bot_user(self) -> JSON:
        return {"id": self.bot_id, "is_bot": True, "first_name": "调度助手", "username": self.username,
                "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False}

    # --- what users do -------------------------------------------------------------------------------

    def user(self, user_id: int, *, first_name: str | None = None, last_name: str | None = None,
             username: str | None = None, language_code: str = "zh-hans") -> JSON:
        """Register (or update) how a user appears in updates; returns the User object."""
        user = self._users.get(user_id) or {"id": user_id, "is_bot": False, "first_name": f"用户{user_id}",
                                            "language_code": language_code}
        if first_name is not None:
            user["first_name"] = first_name
        if last_name is not None:
            user["last_name"] = last_name
        if username is not None:
            user["username"] = username
        self._users[user_id] = user
        return dict(user)

    def group(self, chat_id: int, *, kind: str = "group", title: str | None = None, forum: bool = False) -> JSON:
        """Register (or update) a group chat: `kind` is "group" or "supergroup" (with `forum`: one whose members
        talk in topics, see ``topic``); returns the Chat object. A chat id never registered and not a user's
        appears as a "group"."""
        if kind not in ("group", "supergroup"):
            raise ValueError(f"not a group chat type: {kind!r}")
        if forum and kind != "supergroup":
            raise ValueError("only a supergroup can be a forum")
        self._groups[chat_id] = {"id": chat_id, "type": kind, "title": title or f"群{chat_id}"}
        if forum:
            self._groups[chat_id]["is_forum"] = True
        return dict(self._groups[chat_id])

    def topic(self, chat_id: int, name: str) -> int:
        """Open a topic in forum supergroup `chat_id` (registered with ``group(..., forum=True)``); returns its
        message_thread_id (as in Telegram, the id of the service message that created it). Messages sent with a
        message_thread_id that is no open topic of the chat are refused: "message thread not found"."""
        if not self._groups.get(chat_id, {}).get("is_forum"):
            raise ValueError(f"chat {chat_id} is no forum supergroup")
        thread_id = self._next_message_id(chat_id)
        self.topics.setdefault(chat_id, {})[thread_id] = name
        return thread_id

    def delete_topic(self, chat_id: int, thread_id: int) -> None:
        """Delete a topic, as a group admin may: sending to it is refused from now on."""
        self.topics.get(chat_id, {}).pop(thread_id, None)

    def close_topic(self, chat_id: int, thread_id: int) -> None:
        """Close a topic: a bot that may not manage topics is refused "TOPIC_CLOSED" there."""
        self.closed_topics.add((chat_id, thread_id))

    def bot_standing(self, chat_id: int, status: str, *, user_id: int, can_send: bool = True,
                     photos: bool | None = None, documents: bool | None = None, told: bool = True) -> JSON:
        """A group admin (``user_id``) changes the bot's standing in group ``chat_id``: "member", "administrator",
        "restricted" (with ``can_send``: whether it may still send messages; a muted bot may not; ``photos``,
        ``documents``: whether it may send those, as ``can_send`` unless given), "left" or "kicked". From now on
        sends there meet what Telegram answers then, and getChatMember says it; the ``my_chat_member`` update
        Telegram sends the bot is returned, and queued unless not ``told`` (the update lost: the bot was down
        longer than Telegram keeps updates)."""
        chat = self._chat(chat_id, user_id)
        old = self._bot_member(chat_id)
        member: JSON = {"user": self.bot_user, "status": status}
        if status == "restricted":
            member.update({right: can_send for right in SEND_RIGHTS})
            member.update({"can_send_photos": can_send if photos is None else photos,
                           "can_send_documents": can_send if documents is None else documents})
            member.update({"is_member": True, "can_change_info": False, "can_invite_users": False,
                           "can_pin_messages": False, "can_manage_topics": False, "can_edit_tag": False,
                           "can_react_to_messages": can_send,
                           "until_date": 0})
        elif status == "kicked":
            member["until_date"] = 0
        elif status == "administrator":
            member.update({"can_be_edited": False, "is_anonymous": False, "can_manage_chat": True,
                           "can_delete_messages": False, "can_manage_video_chats": False,
                           "can_restrict_members": False, "can_promote_members": False, "can_change_info": False,
                           "can_invite_users": True, "can_post_stories": False, "can_edit_stories": False,
                           "can_delete_stories": False})
        elif status not in ("member", "left"):
            raise ValueError(f"not a chat member status: {status!r}")
        self.bot_members[chat_id] = member
        update = {"my_chat_member": {"chat": chat, "from": self.user(user_id), "date": int(time.time()),
                                     "old_chat_member": old, "new_chat_member": json.loads(json.dumps(member))}}
        return self.enqueue_update(update) if told else update

    def _bot_member(self, chat_id: int) -> JSON:
        """The bot's ChatMember in a group: as ``bot_standing`` last set it, a plain member otherwise."""
        return json.loads(json.dumps(self.bot_members.get(chat_id) or {"user": self.bot_user, "status": "member"}))

    def _may_send(self, chat_id: int, what: str) -> None:
        """Refuse a send of ``what`` ("text messages", "photos", "documents") to a group the bot is no member of
        or may not send it to, in Telegram's words."""
        member = self.bot_members.get(chat_id)
        if member is None:
            member = {"status": "member"} if chat_id in self.permissions else None
        if member is None:
            return
        kind = (self._groups.get(chat_id) or {}).get("type", "group")
        if member["status"] in ("left", "kicked"):
            how = "was kicked from" if member["status"] == "kicked" else "is not a member of"
            raise ApiError(403, f"Forbidden: bot {how} the {kind} chat")
        right = {"text messages": "can_send_messages", "photos": "can_send_photos",
                 "documents": "can_send_documents"}[what]
        if member["status"] == "restricted" and not member.get(right, True):
            raise bad_request(f"not enough rights to send {what} to the chat")
        if member["status"] in ("member", "restricted") and not self.permissions.get(chat_id, {}).get(right, True):
            raise bad_request(f"not enough rights to send {what} to the chat")  # the group's own permissions

    def group_permissions(self, chat_id: int, **rights: bool) -> None:
        """A group admin sets what every member of group ``chat_id`` may send (setChatPermissions, e.g.
        ``can_send_messages=False``: "members may not send messages"; the rights not given stay allowed).
        Telegram sends the bot no update: a bot that is no admin there finds out when its sends are refused, or
        by getChat."""
        allowed = {right: True for right in CHAT_RIGHTS}
        allowed.update(rights)
        self.permissions[chat_id] = allowed

    def migrate_group(self, old: int, new: int, *, user_id: int, told: bool = True) -> tuple[JSON, ...]:
        """Upgrade group `old` to supergroup `new`, as a member (`user_id`) making it public or an admin
        changing a setting does: from now on a call naming `old` (a send, getChat, getChatMember) is refused with
        "group chat was upgraded to a supergroup chat" and ``parameters.migrate_to_chat_id``. The supergroup keeps
        the group's title, members and permissions: the bot stands there as it stood in the group. The updates
        Telegram sends are queued and returned: a ``my_chat_member`` of the supergroup (the bot, "left" before,
        joins it; none when the bot was out of the group) and the two service messages (in the old chat
        ``migrate_to_chat_id``, in the new one ``migrate_from_chat_id``); none when not ``told`` (the bot was down
        longer than Telegram keeps updates: it finds out when a send is refused)."""
        title = self._groups.get(old, {}).get("title") or f"群{old}"
        self.group(new, kind="supergroup", title=title)
        member = self._bot_member(old)
        if old in self.permissions:
            self.permissions[new] = dict(self.permissions[old])
        self.bot_members[new] = member
        self.migrated[old] = new
        updates: list[JSON] = []
        if member["status"] not in ("left", "kicked"):
            updates.append({"my_chat_member": {
                "chat": self._chat(new, user_id), "from": self.user(user_id), "date": int(time.time()),
                "old_chat_member": {"user": self.bot_user, "status": "left"}, "new_chat_member": member}})
        to_new = self._user_message(user_id, old)
        to_new["migrate_to_chat_id"] = new
        from_old = self._user_message(user_id, new)
        from_old["migrate_from_chat_id"] = old
        updates += [{"message": to_new}, {"message": from_old}]
        return tuple(self.enqueue_update(update) for update in updates) if told else tuple(updates)

    def _chat(self, chat_id: int, user_id: int) -> JSON:
        if chat_id == user_id:
            user = self.user(user_id)
            chat = {"id": chat_id, "type": "private", "first_name": user["first_name"]}
            if "username" in user:
                chat["username"] = user["username"]
            return chat
        return dict(self._groups.get(chat_id) or {"id": chat_id, "type": "group", "title": f"群{chat_id}"})

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _user_message(self, user_id: int, chat_id: int | None) -> JSON:
        chat_id = user_id if chat_id is None else chat_id
        return {"message_id": self._next_message_id(chat_id), "from": self.user(user_id),
                "chat": self._chat(chat_id, user_id), "date": int(time.time())}

    def text_update(self, user_id: int, text: str, *, chat_id: int | None = None,
                    thread_id: int | None = None) -> JSON:
        """An update for a text message (with a bot_command entity when it starts with "/"), not queued;
        `thread_id`: written in that topic of a forum supergroup."""
        message = self._user_message(user_id, chat_id)
        message["text"] = text
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
        return {"update_id": next(self._update_ids), "message": message}

    def enqueue_text(self, user_id: int, text: str, *, chat_id: int | None = None,
                     thread_id: int | None = None) -> JSON:
        """Queue a text message from a user (in their private chat unless chat_id is given; in a forum's
        topic with thread_id)."""
        return self.enqueue_update(self.text_update(user_id, text, chat_id=chat_id, thread_id=thread_id))

    def add_file(self, content: bytes = b"\xff\xd8\xff\xe0fake-jpeg", *, file_id: str | None = None) -> str:
        """Make a file downloadable through getFile; returns its file_id."""
        file_id = file_id or f"AgACAgFake{next(self._file_ids):06d}"
        self.files[file_id] = content
        return file_id

    def enqueue_photo(self, user_id: int, *, caption: str = "", file_id: str | None = None,
                      chat_id: int | None = None, sizes: int = 3) -> JSON:
        """Queue a photo message; like Telegram it carries several sizes, the largest last."""
        file_id = file_id or self.add_file()
        self.files.setdefault(file_id, b"\xff\xd8\xff\xe0fake-jpeg")
        message = self._user_message(user_id, chat_id)
        message["photo"] = [
            {"file_id": f"{file_id}" if n == sizes - 1 else f"{file_id}_s{n}",
             "file_unique_id": f"u{file_id}_{n}", "width": 320 * (n + 1), "height": 240 * (n + 1),
             "file_size": 10_000 * (n + 1)}
            for n in range(sizes)
        ]
        for size in message["photo"]:
            self.files.setdefault(size["file_id"], self.files[file_id])
        if caption:
            message["caption"] = caption
        return self.enqueue_update({"update_id": next(self._update_ids), "message": message})

    def find_button(self, chat_id: int, *, label: str | None = None,
                    data: str | None = None) -> tuple[int, str]:
        """(message_id, callback_data) of the newest bot message in the chat that still shows a button
        with this label (or callback data). Buttons whose keyboard was removed cannot be pressed."""
        for (chat, message_id), message in sorted(self.messages.items(), key=lambda item: -item[0][1]):
            if chat != chat_id:
                continue
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
                for button in row:
                    if (label is not None and button.get("text") == label) or (
                        data is not None and button.get("callback_data") == data
                    ):
                        return message_id, button["callback_data"]
        raise LookupError(f"no visible button {label or data!r} in chat {chat_id}")

    def enqueue_callback(self, user_id: int, data: str | None = None, *, label: str | None = None,
                         message_id: int | None = None, chat_id: int | None = None) -> JSON:
        """Queue a button press. Give the button's label (or data): the newest message showing it is used."""
        chat_id = user_id if chat_id is None else chat_id
        if message_id is None:
            message_id, data = self.find_button(chat_id, label=label, data=data)
        message = self.messages.get((chat_id, message_id))
        if message is None:
            raise LookupError(f"no bot message {message_id} in chat {chat_id}")
        query_id = str(next(self._callback_ids))
        self.callback_queries[query_id] = {"answered": False, "data": data}
        query = {"id": query_id, "from": self.user(user_id), "chat_instance": f"ci{chat_id}",
                 "message": json.loads(json.dumps(message)), "data": data}
        return self.enqueue_update({"update_id": next(self._update_ids), "callback_query": query})

    def enqueue_update(self, update: JSON) -> JSON:
        """Queue any update (an update_id is assigned if missing)."""
        if "update_id" not in update:
            update["update_id"] = next(self._update_ids)
        self.updates.append(update)
        wake(self._update_waiters)
        return update

    # --- what the bot did ----------------------------------------------------------------------------

    def calls_of(self, method: str | None = None, *, since: int = 0, ok: bool | None = None,
                 **criteria: Any) -> list[Call]:
        """Recorded calls of a method (any if None) from index `since` on whose params match `criteria`."""
        return [c for c in self.calls[since:] if c.matches(method, criteria) and (ok is None or c.ok == ok)]

    def texts(self, chat_id: int, *, since: int = 0) -> list[str]:
        """The text of every accepted sendMessage to a chat."""
        return [c["text"] for c in self.calls_of("sendMessage", since=since, chat_id=chat_id, ok=True)]

    async def wait_for(self, method: str, *, count: int = 1, timeout: float = 5.0, since: int = 0,
                       ok: bool | None = None, **criteria: Any) -> list[Call]:
        """Wait until at least `count` matching calls were recorded (from index `since`); returns them."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = self.calls_of(method, since=since, ok=ok, **criteria)
            if len(found) >= count:
                return found
            remaining = deadline - loop.time()
            if remaining <= 0 or self._closing:
                recent = "\n".join(f"  {c.method} {c.status} {c.params}" for c in self.calls[-10:])
                raise AssertionError(
                    f"waited {timeout}s for {count} {method} call(s) matching {criteria}, got {len(found)}; "
                    f"last calls:\n{recent}"
                )
            await wait_for_wake(self._call_waiters, remaining)

    def menu(self, scope: JSON | None = None, language_code: str = "") -> list[str] | None:
        """Command names set for a scope (default scope if None), or None if never set."""
        commands = self.commands.get((_scope_key(scope), language_code))
        return None if commands is None else [c["command"] for c in commands]

    # --- fault injection -----------------------------------------------------------------------------

    def inject_fault(self, method: str, *, status: int | None = 429, rate: float = 1.0, retry_after: int = 1,
                     delay: float = 0.0, times: int | None = None, description: str | None = None,
                     after: int = 0) -> Fault:
        """Make `method` misbehave for `rate` of its calls (the first `times` of them if given), once its
        next `after` calls have gone through."""
        fault = Fault(status=status, rate=rate, retry_after=retry_after, delay=delay, times=times,
                      description=description, after=after)
        self.faults[method.lower()] = fault
        return fault

    def inject_faults(self, method: str, faults: list[Fault]) -> None:
        """Make `method` misbehave in several ways at once: each call meets at most one of `faults`, each
        for its `rate` of the calls (the rates add up to at most 1)."""
        if sum(f.rate for f in faults) > 1:
            raise ValueError("the rates of mixed faults add up to more than 1")
        self.mixed_faults[method.lower()] = list(faults)

    def clear_faults(self, method: str | None = None) -> None:
        if method is None:
            self.faults.clear()
            self.mixed_faults.clear()
        else:
            self.faults.pop(method.lower(), None)
            self.mixed_faults.pop(method.lower(), None)

    def _fault_for(self, method: str) -> Fault | None:
        """The fault this call meets, if any (and counts it against its `times`)."""
        fault = self.faults.get(method)
        if fault is not None:
            if fault.after > 0:
                fault.after -= 1
                return None
            return fault if fault.times != 0 and self._random.random() < fault.rate else None
        draw, edge = self._random.random(), 0.0
        for fault in self.mixed_faults.get(method, ()):
            edge += fault.rate
            if draw < edge:
                return fault if fault.times != 0 else None
        return None

    # --- HTTP ----------------------------------------------------------------------------------------

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        wake(self._call_waiters)

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params, files = await _read_params(request)
        call = Call(method=method, params=params, files=files)
        try:
            if request.match_info["token"] != self.token or self.token_revoked:
                raise ApiError(401, "Unauthorized")
            if sum(len(content) for content in files.values()) > self.max_upload:
                raise ApiError(413, "Request Entity Too Large")
            handler = self._handlers.get(method.lower())
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            fault = self._fault_for(method.lower())
            if fault is not None:
                if fault.times is not None:
                    fault.times -= 1
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                error = fault.error()
                if error is not None:
                    raise error
            call.result = await handler(params, files)
            call.status = 200
            body: JSON = {"ok": True, "result": call.result}
        except ApiError as error:
            call.status, call.error = error.code, error.description
            body = error.body()
        except Exception as error:  # a bug in the fake: answer like a broken server, keep the record
            call.status, call.error = 500, f"fake failed: {error!r}"
            body = {"ok": False, "error_code": 500, "description": call.error}
        self._record(call)
        return web.json_response(body, status=call.status, dumps=lambda o: json.dumps(o, ensure_ascii=False))

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token or self.token_revoked:
            return web.Response(status=401)
        path = request.match_info["path"]
        file_id = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        if file_id not in self.files:
            return web.Response(status=404)
        if self.file_delays.get(file_id):
            await asyncio.sleep(self.file_delays[file_id])
        self.downloads.append(file_id)
        return web.Response(body=self.files[file_id], content_type="image/jpeg")

    # --- remote control (when the fake runs in another process) ------------------------------------

    async def _control_enqueue(self, request: web.Request) -> web.Response:
        """POST {"texts": [[user_id, text], ...]}: queue text messages; answers their update ids."""
        body = await request.json()
        ids = [self.enqueue_text(int(user_id), str(text))["update_id"] for user_id, text in body["texts"]]
        return web.json_response({"update_ids": ids})

    async def _control_count(self, request: web.Request) -> web.Response:
        """GET ?method=sendMessage&since=0: how many successful calls of the method were recorded."""
        method = request.query.get("method", "sendMessage")
        since = int(request.query.get("since", "0"))
        count = sum(1 for c in self.calls[since:] if c.method == method and c.ok)
        return web.json_response({"count": count, "total": len(self.calls)})

    async def _control_wait(self, request: web.Request) -> web.Response:
        """GET ?method=sendMessage&since=0&count=N&timeout=60: answers once N successful calls were
        recorded (or at the timeout), so a remote driver need not poll."""
        method = request.query.get("method", "sendMessage")
        since = int(request.query.get("since", "0"))
        count = int(request.query.get("count", "1"))
        try:
            found = await self.wait_for(method, count=count, since=since, ok=True,
                                        timeout=float(request.query.get("timeout", "60")))
        except AssertionError:
            found = self.calls_of(method, since=since, ok=True)
        return web.json_response({"count": len(found), "total": len(self.calls)})

    # --- methods -------------------------------------------------------------------------------------

    async def _true(self, _params: JSON, _files: dict[str, bytes]) -> bool:
        return True

    async def _get_me(self, _params: JSON, _files: dict[str, bytes]) -> JSON:
        return self.bot_user

    async def _get_updates(self, params: JSON, _files: dict[str, bytes]) -> list[JSON]:
        if self.webhook is not None:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        offset = int(params.get("offset") or 0)
        limit = max(1, min(int(params.get("limit") or 100), 100))
        timeout = min(float(params.get("timeout") or 0), self.max_poll_timeout)
        if offset > 0:  # confirms every update before it
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        elif offset < 0:  # only the last -offset updates
            self.updates = self.updates[offset:]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.updates and not self._closing:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            await wait_for_wake(self._update_waiters, remaining)
        return [json.loads(json.dumps(u)) for u in self.updates[:limit]]

    def _check_text(self, text: Any, parse_mode: Any, *, limit: int, empty_ok: bool = False) -> str:
        """Validates a text or caption like Telegram does; returns the plain text it would show."""
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        plain = text
        if parse_mode is not None and str(parse_mode).lower() == "html" and self.validate_html:
            try:
                plain = parse_telegram_html(text)
            except TelegramHtmlError as error:
                raise bad_request(f"can't parse entities: {error}") from None
        elif parse_mode is not None and str(parse_mode).lower() not in ("html", "markdown", "markdownv2"):
            raise bad_request(f"unsupported parse_mode {parse_mode!r}")
        if not plain.strip() and not empty_ok:
            raise bad_request("message text is empty")
        if utf16_len(plain) > limit:
            raise bad_request("message is too long" if limit == MAX_TEXT else "message caption is too long")
        return plain

    @staticmethod
    def _check_markup(markup: Any) -> JSON | None:
        if markup in (None, "", {}):
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise bad_request(
                    "field \"inline_keyboard\" of the InlineKeyboardMarkup should be an Array of Arrays"
                )
            if sum(len(row) for row in rows) > MAX_BUTTONS or any(len(row) > MAX_ROW_BUTTONS for row in rows) \
                    or len(json.dumps(markup, ensure_ascii=False).encode()) > MAX_MARKUP_BYTES:
                raise bad_request("reply markup is too long")
            for row in rows:
                for button in row:
                    if not str(button.get("text", "")).strip():
                        raise bad_request("BUTTON_TEXT_EMPTY")
                    data = button.get("callback_data")
                    if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
                        raise bad_request("BUTTON_DATA_INVALID")
                    if data is None and not any(k in button for k in ("url", "switch_inline_query", "web_app",
                                                                       "login_url", "pay", "copy_text")):
                        raise bad_request("can't find field \"callback_data\" or another button action")
        return markup

    def _chat_id(self, params: JSON) -> int:
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            raise bad_request("chat_id is empty")
        try:
            target = int(chat_id)
        except (TypeError, ValueError):
            raise bad_request("chat not found") from None
        if target in self.migrated:
            raise ApiError(400, "Bad Request: group chat was upgraded to a supergroup chat",
                           {"migrate_to_chat_id": self.migrated[target]})
        return target

    def _bot_message(self, chat_id: int) -> JSON:
        user = self._users.get(chat_id)
        if chat_id in self._groups:
            chat = dict(self._groups[chat_id])
        elif user:
            chat = self._chat(chat_id, chat_id)
        else:
            chat = {"id": chat_id, "type": "private", "first_name": "?"}
        return {"message_id": self._next_message_id(chat_id), "from": self.bot_user, "chat": chat,
                "date": int(time.time())}

    def _thread(self, params: JSON, chat_id: int) -> int | None:
        """The forum topic a message is sent to (None: the chat itself, a forum's General topic); a thread that
        is no open topic of the chat is refused as Telegram refuses it."""
        thread = params.get("message_thread_id")
        if thread in (None, "", 0):
            return None
        if int(thread) not in self.topics.get(chat_id, {}):
            raise bad_request("message thread not found")
        if (chat_id, int(thread)) in self.closed_topics:
            raise bad_request("TOPIC_CLOSED")
        return int(thread)

    def _in_thread(self, message: JSON, thread: int | None) -> JSON:
        if thread is not None:
            message["message_thread_id"] = thread
            message["is_topic_message"] = True
        return message

    async def _send_message(self, params: JSON, _files: dict[str, bytes]) -> JSON:
        chat_id = self._chat_id(params)
        self._may_send(chat_id, "text messages")
        thread = self._thread(params, chat_id)
        plain = self._check_text(params.get("text"), params.get("parse_mode"), limit=MAX_TEXT)
        markup = self._check_markup(params.get("reply_markup"))
        message = self._in_thread(self._bot_message(chat_id), thread)
        message["text"] = plain
        if markup is not None:
            message["reply_markup"] = markup
        self.messages[(chat_id, message["message_id"])] = message
        return message

    async def _send_photo(self, params: JSON, files: dict[str, bytes]) -> JSON:
        return self._send_file(params, files, "photo", lambda file_id, size: [
            {"file_id": file_id, "file_unique_id": f"u{file_id}", "width": 1280, "height": 960, "file_size": size}])

    async def _send_document(self, params: JSON, files: dict[str, bytes]) -> JSON:
        """Like sendPhoto, for any file: uploaded in the multipart form (``document``), or a known file_id."""
        return self._send_file(params, files, "document", lambda file_id, size: {
            "file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": size})

    def _send_file(self, params: JSON, files: dict[str, bytes], field: str,
                   describe: Callable[[str, int], Any]) -> JSON:
        """sendPhoto/sendDocument: the file (uploaded, ``attach://``, a known file_id or a URL), a caption."""
        chat_id = self._chat_id(params)
        self._may_send(chat_id, f"{field}s")
        thread = self._thread(params, chat_id)
        caption = params.get("caption")
        plain = (self._check_text(caption, params.get("parse_mode"), limit=MAX_CAPTION, empty_ok=True)
                 if caption else "")
        markup = self._check_markup(params.get("reply_markup"))
        given = params.get(field)
        if field in files or (isinstance(given, str) and given.startswith("attach://")):
            file_id = self.add_file(files.get(field) or files.get(str(given).removeprefix("attach://"), b""))
        elif isinstance(given, str) and given in self.files:
            file_id = given
        elif isinstance(given, str) and given.startswith(("http://", "https://")):
            file_id = self.add_file(b"")
        else:
            raise bad_request("wrong file identifier/HTTP URL specified")
        message = self._in_thread(self._bot_message(chat_id), thread)
        message[field] = describe(file_id, len(self.files[file_id]))
        if plain:
            message["caption"] = plain
        if markup is not None:
            message["reply_markup"] = markup
        self.messages[(chat_id, message["message_id"])] = message
        return message

    def _target(self, params: JSON) -> JSON:
        if params.get("inline_message_id"):
            raise bad_request("inline messages are not supported by the fake")
        chat_id = self._chat_id(params)
        message = self.messages.get((chat_id, int(params.get("message_id") or 0)))
        if message is None:
            raise bad_request("message to edit not found")
        return message

    async def _edit_message_text(self, params: JSON, _files: dict[str, bytes]) -> JSON:
        message = self._target(params)
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        plain = self._check_text(params.get("text"), params.get("parse_mode"), limit=MAX_TEXT)
        markup = self._check_markup(params.get("reply_markup"))
        if plain == message["text"] and markup == message.get("reply_markup"):
            raise bad_request("message is not modified: specified new message content and reply markup are "
                              "exactly the same as a current content and reply markup of the message")
        message["text"] = plain
        message["edit_date"] = int(time.time())
        _set_markup(message, markup)
        return message

    async def _edit_message_reply_markup(self, params: JSON, _files: dict[str, bytes]) -> JSON:
        message = self._target(params)
        markup = self._check_markup(params.get("reply_markup"))
        if markup == message.get("reply_markup"):
            raise bad_request("message is not modified: specified new message content and reply markup are "
                              "exactly the same as a current content and reply markup of the message")
        message["edit_date"] = int(time.time())
        _set_markup(message, markup)
        return message

    async def _answer_callback_query(self, params: JSON, _files: dict[str, bytes]) -> bool:
        query = self.callback_queries.get(str(params.get("callback_query_id")))
        if query is None or query["answered"]:
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        query["answered"] = True
        query["text"] = params.get("text")
        return True

    async def _set_my_commands(self, params: JSON, _files: dict[str, bytes]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise bad_request("too many commands")
        for command in commands:
            name, description = str(command.get("command", "")), str(command.get("description", ""))
            if not COMMAND_NAME.match(name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[(_scope_key(params.get("scope")), str(params.get("language_code") or ""))] = commands
        return True

    async def _get_my_commands(self, params: JSON, _files: dict[str, bytes]) -> list[JSON]:
        key = (_scope_key(params.get("scope")), str(params.get("language_code") or ""))
        return self.commands.get(key, [])

    async def _delete_my_commands(self, params: JSON, _files: dict[str, bytes]) -> bool:
        self.commands.pop((_scope_key(params.get("scope")), str(params.get("language_code") or "")), None)
        return True

    async def _set_webhook(self, params: JSON, _files: dict[str, bytes]) -> bool:
        url = str(params.get("url") or "")
        if not url:
            self.webhook = None
            return True
        if not url.startswith("https://"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook = dict(params)
        if self._delivering is None or self._delivering.done():
            self._delivering = asyncio.create_task(self._deliver())
        wake(self._update_waiters)
        return True

    async def _delete_webhook(self, params: JSON, _files: dict[str, bytes]) -> bool:
        self.webhook = None
        if params.get("drop_pending_updates"):
            self.updates.clear()
        return True

    async def _get_webhook_info(self, _params: JSON, _files: dict[str, bytes]) -> JSON:
        info: JSON = {"url": (self.webhook or {}).get("url", ""), "has_custom_certificate": False,
                      "pending_update_count": len(self.updates)}
        if self.webhook_error is not None:
            info["last_error_date"], info["last_error_message"] = self.webhook_error
        return info

    async def _deliver(self) -> None:
        """While a webhook is set: each queued update POSTed to it in order, dropped once answered 2xx; after a
        failure, the error noted and the same update tried again ``webhook_retry`` seconds later."""
        async with ClientSession(timeout=ClientTimeout(total=10)) as client:
            while not self._closing and self.webhook is not None:
                if not self.updates:
                    await wait_for_wake(self._update_waiters, 1.0)
                    continue
                update = self.updates[0]
                error = await self._post_update(client, self.webhook, update)
                if error is None:
                    if self.updates and self.updates[0] is update:
                        self.updates.pop(0)
                    continue
                self.webhook_error = (int(time.time()), error)
                await asyncio.sleep(self.webhook_retry)

    async def _post_update(self, client: ClientSession, webhook: JSON, update: JSON) -> str | None:
        """None once the webhook took ``update``, else what Telegram's getWebhookInfo would say went wrong."""
        parts = urlsplit(str(webhook["url"]))
        scheme, netloc = parts.scheme, parts.netloc
        if self.webhook_redirect is not None:
            scheme, netloc = urlsplit(self.webhook_redirect)[:2]
        elif parts.hostname not in ("127.0.0.1", "localhost"):
            return "Failed to resolve host: Name or service not known"
        headers = {"X-Telegram-Bot-Api-Secret-Token": str(webhook["secret_token"])} if webhook.get("secret_token") \
            else {}
        try:
            target = urlunsplit((scheme, netloc, parts.path, parts.query, ""))
            async with client.post(target, json=update, headers=headers) as response:
                if 200 <= response.status < 300:
                    return None
                return f"Wrong response from the webhook: {response.status} {response.reason}"
        except TimeoutError:
            return "Read timeout expired"
        except ClientError:
            return "Connection refused"

    async def _get_file(self, params: JSON, _files: dict[str, bytes]) -> JSON:
        file_id = str(params.get("file_id") or "")
        if file_id not in self.files:
            raise bad_request("invalid file_id")
        return {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": len(self.files[file_id]),
                "file_path": f"photos/{file_id}.jpg"}


    async def _get_chat_member(self, params: JSON, _files: dict[str, bytes]) -> JSON:
        """The ChatMember of the bot itself in a group (the only member the fake knows): a chat it is no member of
        any more answers as Telegram does, 403."""
        chat_id = self._chat_id(params)
        if int(params.get("user_id") or 0) != self.bot_id:
            raise bad_request("the fake knows only the bot's own membership")
        if chat_id not in self._groups and chat_id not in self.bot_members:
            raise bad_request("chat not found")
        member = self._bot_member(chat_id)
        if member["status"] in ("left", "kicked"):
            self._may_send(chat_id, "text messages")  # raises, as Telegram answers a chat the bot is out of
        return member


    async def _get_chat(self, params: JSON, _files: dict[str, bytes]) -> JSON:
        """The ChatFullInfo of a group: its chat, and what its members may send (``group_permissions``)."""
        chat_id = self._chat_id(params)
        if chat_id not in self._groups and chat_id not in self.bot_members and chat_id not in self.permissions:
            raise bad_request("chat not found")
        if self._bot_member(chat_id)["status"] in ("left", "kicked"):
            self._may_send(chat_id, "text messages")  # raises, as Telegram answers a chat the bot is out of
        chat = self._chat(chat_id, 0)
        chat.update({"accent_color_id": 0, "max_reaction_count": 11,
                     "permissions": dict(self.permissions.get(chat_id) or dict.fromkeys(CHAT_RIGHTS, True))})
        return chat


def _set_markup(message: JSON, markup: JSON | None) -> None:
    if markup is None:
        message.pop("reply_markup", None)
    else:
        message["reply_markup"] = markup


def _scope_key(scope: Any) -> str:
    if scope in (None, "", {}):
        scope = {"type": "default"}
    if isinstance(scope, str):
        scope = json.loads(scope)
    return json.dumps(scope, sort_keys=True)


def _decode(key: str, value: str) -> Any:
    if key in STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


async def _read_params(request: web.Request) -> tuple[JSON, dict[str, bytes]]:
    """Parameters of a Bot API request: query string, JSON body, urlencoded or multipart form."""
    params: JSON = {key: _decode(key, value) for key, value in request.query.items()}
    files: dict[str, bytes] = {}
    if request.method != "POST" or not request.can_read_body:
        return params, files
    if request.content_type == "application/json":
        body = await request.json()
        if isinstance(body, dict):
            params.update(body)
        return params, files
    form = await request.post()
    for key, value in form.items():
        if isinstance(value, web.FileField):
            files[key] = value.file.read()
        else:
            params[key] = _decode(key, str(value))
    return params, files


def scope_chat(chat_id: int) -> JSON:
    """The BotCommandScopeChat a bot sends for a chat, as the fake stores it."""
    return {"type": "chat", "chat_id": chat_id}


def keyboard_labels(call: Call) -> list[list[str]]:
    """The button labels of a sendMessage call's inline keyboard, row by row."""
    markup = call.params.get("reply_markup") or {}
    return [[button["text"] for button in row] for row in markup.get("inline_keyboard", [])]


def all_labels(calls: Iterable[Call]) -> list[str]:
    return [label for call in calls for row in keyboard_labels(call) for label in row]
