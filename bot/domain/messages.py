"""Channel-neutral messages: what a channel hands to the core and what the core hands back."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Literal

ChatType = Literal["private", "group"]


@dataclass(frozen=True)
class IncomingFile:
    """A document a user sent (e.g. a ledger to import). Channels do not download it up front: `fetch`, when
    given, downloads it, and only a handler that accepts the file from this sender calls it (through
    :meth:`load`). `data` is None until then, and stays None when the file is over the size cap the channel
    was given or the download failed."""

    name: str
    size: int
    data: bytes | None = None
    fetch: Callable[[], Awaitable[bytes | None]] | None = field(default=None, compare=False, repr=False)

    async def load(self) -> IncomingFile:
        """This file with its data, downloaded now if it was not yet (data None when that failed)."""
        if self.data is not None or self.fetch is None:
            return self
        data = await self.fetch()
        return IncomingFile(name=self.name, size=self.size if data is None else len(data), data=data)


# Control characters other than tab and line breaks, DEL, and lone surrogates: no chat shows them, and a
# database cannot store some of them (PostgreSQL refuses NUL in text, UTF-8 has no lone surrogates). Also
# the invisible spaces text copied from documents and web pages carries (zero-width space, word joiner,
# byte order mark): they would glue words together ("ZD2026-001\u200b" is no project code). And the invisible
# marks of writing direction: a phone number copied from an iPhone's contacts comes wrapped in U+202A…U+202C,
# and an override (U+202E) would show a stored name or text reversed in every bulletin. The zero-width
# (non-)joiners are kept: emoji sequences are made with them.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\u200b\u2060\ufeff"
                     "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# What may stand between a command and its arguments: any whitespace (a full-width space from a Chinese
# keyboard, a line break).
_COMMAND_END = re.compile(r"\s")


def clean_text(text: str) -> str:
    """User text as the core takes it: line breaks as "\n", without control characters, lone surrogates or
    zero-width spaces."""
    return _UNSAFE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def one_line(text: str) -> str:
    """A name as charts, tables and documents show it on one line: line breaks, tabs and the vertical tab Word
    writes for a line break as single spaces, without control characters (a bell pasted from Word) or
    zero-width spaces, no space at either end."""
    return " ".join(clean_text(" ".join(text.split())).split())


@dataclass(frozen=True)
class Incoming:
    """One thing a user did in a chat: typed text, sent photos or a document, or pressed a button.

    `chat_type` says whether it happened in the sender's private chat with the bot or in a group chat
    (Telegram's "group"/"supergroup"; WeCom app messages are always private). `bot_username` is the name
    the receiving bot goes by, when the channel knows it (Telegram): "/help@other_bot" is not for us.

    Every text field is cleaned (:func:`clean_text`) when the message is made, whichever channel made it, so
    no handler ever sees a NUL or another control character.
    """

    channel: str
    user_id: str
    chat_id: str
    text: str = ""
    callback_data: str | None = None
    photos: tuple[str, ...] = ()
    display_name: str = ""
    document: IncomingFile | None = None
    # What identifies this message across deliveries (the same message sent to us again keeps it); None when
    # the channel has nothing stable (the console). See storage.processed.
    key: str | None = None
    chat_type: ChatType = "private"
    bot_username: str = ""
    # What the user sent that the bot cannot read, alone or with a caption (`text`): "voice", "video",
    # "location", "link", "sticker", "contact", "poll", "dice", "story", "game", "checklist", "file" (a channel
    # that does not pass files on) or "other" ("" for text, photos, documents and buttons).
    unsupported: str = ""
    # The album (Telegram's media group) the photo belongs to: an album of several photos comes as one
    # message per photo, the caption on any one of them (bot.domain.albums); "" when the message is no part
    # of an album.
    album: str = ""
    # When the user sent it, as the channel says (Telegram's message date; None when the channel does not say):
    # a bot behind a backlog handles a message well after it was sent (bot.domain.albums).
    sent_at: datetime | None = None
    # When the bot took the message in, for one handled long after (a WeCom message answered before a restart and
    # recovered from the inbox's journal): the day it counts for (``Context.today``); None: handled as it comes.
    answered_at: datetime | None = None
    # Handed back by the journal of a process that died with it in hand (WeCom's inbox or Telegram's journal after a
    # restart): the replies the dead process kept with it, if it handled it, may not all have gone out
    # (handlers.answered_again).
    first_died: bool = False
    # The id of the message this one answers (Telegram's reply to a message), in its chat; "" when none.
    reply_to: str = ""
    # Sent in a group in the group's own name (Telegram's anonymous group admin): who sent it is unknown.
    anonymous: bool = False
    # The choices last shown in this chat are a numbered list the user answers with a number (WeCom's lists of
    # more than six, every list on the console), not buttons to press: a hint pointing to them says so.
    numbered_choices: bool = False

    @property
    def in_group(self) -> bool:
        return self.chat_type == "group"

    def __post_init__(self) -> None:
        # dataclasses' documented way to set a field of a frozen instance in __post_init__
        for name in ("channel", "user_id", "chat_id", "text", "display_name"):
            object.__setattr__(self, name, clean_text(getattr(self, name)))
        if self.callback_data is not None:
            object.__setattr__(self, "callback_data", clean_text(self.callback_data))
        object.__setattr__(self, "photos", tuple(clean_text(p) for p in self.photos))
        if self.key is not None:
            object.__setattr__(self, "key", clean_text(self.key))

    @cached_property
    def _command_parts(self) -> tuple[str, str, str] | None:
        """(name, addressee, arguments) of "/name@addressee arguments"; addressee "" when not given."""
        text = self.text.strip()
        if not text.startswith(("/", "／")):  # a full-width slash is how a Chinese keyboard types "/"
            return None
        found = _COMMAND_END.search(text)
        head, rest = (text[1:found.start()], text[found.end():]) if found else (text[1:], "")
        name, _, addressee = head.partition("@")
        # A full-width space is a space: handlers split arguments on " " ("/started ZD2026-002　10月12日").
        return (name.lower(), addressee.strip(), rest.replace("\u3000", " ").strip()) if name else None

    @cached_property
    def command(self) -> tuple[str, str] | None:
        """("report", "ZD2026-001 1.2亿 …") for "/report ZD2026-001 1.2亿 …" (or "/report@our_bot …"), else
        None."""
        parts = self._command_parts
        return (parts[0], parts[2]) if parts is not None else None

    @property
    def for_another_bot(self) -> bool:
        """A command addressed to some other bot ("/start@other_bot"), which a group chat shows us too."""
        parts = self._command_parts
        if parts is None or not parts[1] or not self.bot_username:
            return False
        return parts[1].lower() != self.bot_username.lower()


@dataclass(frozen=True)
class Button:
    """A button under a message; `data` comes back as Incoming.callback_data when pressed. A button with
    a `url` opens that address instead (e.g. a private chat with the bot) and carries no data; with
    `web_app` too, Telegram opens the address as a Mini App inside the chat (other channels: a link)."""

    label: str
    data: str
    url: str = ""
    web_app: bool = False


AttachmentKind = Literal["photo", "document"]


@dataclass(frozen=True)
class Attachment:
    """A file sent with a message: a photo or a document kept in the file store (DATA_DIR) under ``path``."""

    kind: AttachmentKind
    path: str
    filename: str | None = None

    @property
    def of_bulletin(self) -> bool:
        """A bulletin's chart or workbook (kept under ``BULLETIN_FILES``: the web page's 下载 lists the latest)."""
        return self.path.replace("\\", "/").startswith(BULLETIN_FILES + "/")


BULLETIN_FILES = "bulletins"  # where, in the file store, each bulletin's files are kept (by kind and period)


@dataclass(frozen=True)
class Reply:
    """A message to show: Telegram-flavoured HTML (channels convert it), rows of buttons, maybe a file."""

    html: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    attachment: Attachment | None = None
    # The projects the message is about, by code (a reminder's): an answer to it in the chat app (Telegram's
    # reply) is read as about them (storage.sent_messages keeps which message that was).
    about: tuple[str, ...] = ()
    # The buttons offer an optional next step (报告开工 under a saved report): nothing waits for a choice, and a
    # channel that words its buttons (WeCom's card) says so rather than ask to choose.
    optional: bool = False


@dataclass(frozen=True)
class MenuCommand:
    """A command as shown in a chat's command menu."""

    name: str
    description: str


@dataclass
class Outcome:
    """What handling one Incoming produced: replies, and a new command menu when the user's roles changed."""

    replies: list[Reply] = field(default_factory=list)
    menu: list[MenuCommand] | None = None
    # The replies point to the choices shown before (Context.point_to_choices): they still stand, and a channel
    # answering them by number keeps their numbers.
    choices_stand: bool = False
    # The replies are those kept with a message handled before, sent again for it after the process that handled it
    # died (handlers.answered_again): a channel that recorded how far they went out then sends only the rest.
    again: bool = False
