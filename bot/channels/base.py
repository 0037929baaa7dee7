"""The channel-neutral delivery interface: what the outbox sender asks of a channel, and what can go wrong.

A transport sends one message to one chat and reports failures by raising exactly one of the errors
below; the sender decides from the error alone what to do with the notice:

- ``RetryLater``: the channel asked us to slow down (Telegram 429); try again after the given delay.
- ``TransientError``: network trouble, a timeout or a server-side (5xx) error; try again with backoff.
- ``RecipientBlocked``: the user blocked the bot or the chat does not exist; never retry, and
  remember that the chat account is blocked.
- ``PermanentError``: the channel refused this message (bad request); retrying cannot help.
- ``ChannelDown``: the channel refuses every message until its setup is fixed (refused credentials, this
  server's address not trusted): a fault of the channel, not of the message. The sender holds the
  channel's notices and probes until it works again (``bot.services.channel_breaker``).

A reply may go out as several messages (a text over the channel's limit, a file and its text). When one
of them fails, the error says how many reached the chat before it (``parts_sent``, counted from the
reply's first message), and whoever tries again passes that number as ``skip``: a retry sends only the
rest, so the chat never sees part 1 twice, whichever process retries.

How far the replies to one message went out is a ``Progress`` (whole replies, then messages of the next):
a transport given ``on_sent`` tells it after each message that reaches the chat, so that a channel keeping a
journal of the messages it took in (``bot.channels.inbox``) can record it and, after a stop or a crash, send only
the rest.

A file that can never be sent (``AttachmentRefused``: over the channel's limit, gone from disk) does not
cost the reply its text: the transport sends a line saying so in the file's place, as the same message of
the count, so ``skip`` means the same on every try.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bot.domain.give_up_reasons import CONTENT
from bot.domain.messages import Attachment, AttachmentKind, Reply  # noqa: F401 - re-exported


@dataclass(frozen=True)
class Progress:
    """How far the replies to one message went out: its first ``replies`` replies whole, and ``parts`` of the
    messages the next one becomes."""

    replies: int = 0
    parts: int = 0

    @staticmethod
    def of_reply(index: int, sent: int, of: int) -> Progress:
        """After ``sent`` of the ``of`` messages reply number ``index`` becomes reached the chat."""
        return Progress(index + 1, 0) if sent >= of else Progress(index, sent)


# Told, after each message of a reply that reaches the chat, how many of the reply's messages have (counting those
# a ``skip`` left out) and of how many.
OnSent = Callable[[int, int], None]


class DeliveryError(Exception):
    """Base of every error a transport raises when a message did not get through.

    ``parts_sent``: how many of the reply's messages reached the chat before this failure (0 unless the
    transport sends a reply as several messages and says so with ``failed_after``).
    """

    parts_sent: int = 0
    # Why the channel refused it, classified where the channel's answer says (``bot.domain.give_up_reasons``:
    # CONFIG, CONTENT, REFUSED); None: not classified (its words are read when it is given up on).
    cause: str | None = None
    # The chat the channel refused it at, when not the one it was addressed to (a Telegram group that became a
    # supergroup while it was sent: its new id); None: the one addressed.
    refused_at: str | None = None


def caused(error: DeliveryError, cause: str) -> DeliveryError:
    """``error``, classified as ``cause`` (``bot.domain.give_up_reasons``)."""
    error.cause = cause
    return error


def failed_after(error: DeliveryError, parts_sent: int) -> DeliveryError:
    """``error``, saying that ``parts_sent`` of the reply's messages reached the chat before it."""
    error.parts_sent = max(0, parts_sent)
    return error


def parts_sent_of(error: BaseException, at_least: int = 0) -> int:
    """How many of a reply's messages reached the chat before ``error`` (``at_least``: known before)."""
    return max(at_least, getattr(error, "parts_sent", 0) if isinstance(error, DeliveryError) else 0)


class RetryLater(DeliveryError):
    """The channel asked us to wait ``after_seconds`` before sending again (flood control)."""

    def __init__(self, after_seconds: float, message: str = "") -> None:
        self.after_seconds = max(0.0, float(after_seconds))
        super().__init__(message or f"retry after {self.after_seconds:g} s")


class TransientError(DeliveryError):
    """Network trouble, a timeout or a 5xx answer: the same message may well go through later."""


class RecipientBlocked(DeliveryError):
    """The recipient blocked the bot, left or deleted the chat, or the chat was never found."""


class PermanentError(DeliveryError):
    """The channel rejected this very message (malformed, too long…): do not try it again."""


class ChannelDown(DeliveryError):
    """The channel refuses every message until somebody fixes its setup; ``reason`` names the fault in a
    word (``"ip_not_trusted"``, ``"bad_secret"``…) for the admins' notice, the health check and metrics.

    Not a ``PermanentError``: the message itself is fine and must not be given up on.
    """

    def __init__(self, reason: str, message: str = "") -> None:
        self.reason = reason
        super().__init__(message or reason)


class AttachmentRefused(PermanentError):
    """A reply's file cannot be sent, though its text can: ``reason`` is "too_large" (over the channel's
    ``limit`` bytes), "too_small", "unreadable" (gone from disk), "not_allowed" (the bot may not send files to
    that chat) or "refused" (the channel would not take it).
    Transports send a short line saying so in the file's place (``bot.channels.attachment_notes``)."""

    cause = CONTENT

    def __init__(self, reason: str, message: str, *, limit: int | None = None) -> None:
        self.reason = reason
        self.limit = limit
        super().__init__(message)


@dataclass(frozen=True)
class RateLimits:
    """How fast a channel lets a bot send; the defaults are Telegram's published limits.

    ``per_group_per_minute`` applies on top of the per-chat limit to group chats.
    """

    global_per_second: float = 30
    per_chat_per_second: float = 1
    per_group_per_minute: float = 20


class Transport(Protocol):
    """Delivers replies to chats of one channel (``channel`` is the name stored on chat accounts).

    A transport may also declare ``limits: RateLimits`` and ``is_group_chat(chat_id) -> bool``;
    see ``limits_of`` and ``is_group_chat`` below for what is assumed when it does not. A transport whose
    channel can be down as a whole (``ChannelDown``) may offer ``async probe() -> None``, raising
    ``ChannelDown`` while its setup is still wrong, which the sender asks before trying a held notice.
    """

    channel: str

    async def send(self, chat_id: str, reply: Reply, *, attachment: Attachment | None = None) -> Sequence[str] | None:
        """Send one reply; raise a DeliveryError subclass when it did not get through. A transport whose channel
        numbers the messages it sends (Telegram's message ids) returns the ids of those this call sent, so that an
        answer to one of them can be told apart (``Reply.about``); others return None.

        A transport that may send a reply as several messages also takes ``skip: int`` (that many of
        them reached the chat in an earlier try: send the rest) and raises with ``failed_after``. Callers
        pass ``skip`` only when it is above 0, so a transport that always sends one message needs neither.
        A channel's own transport also takes ``on_sent`` (``OnSent``), called right after each message reaches the
        chat, before anything else is awaited; callers pass it only when they record how far a reply went.
        """
        ...


class RightsWatch(Protocol):
    """Told by a transport what its sends to a group chat found of the bot's rights there: ``what`` (``MESSAGES``,
    ``PHOTOS`` or ``DOCUMENTS``, ``bot.domain.chat_rights``) was refused for want of the right, or went through; or the
    group has a new id (``moved``). It must not raise: a send's outcome does not depend on it."""

    async def refused(self, chat_id: str, what: str) -> None: ...

    async def allowed(self, chat_id: str, what: str) -> None: ...

    async def moved(self, chat_id: str, new_chat_id: str) -> None:
        """A send to group ``chat_id`` found it has a new id (Telegram upgraded it to a supergroup)."""


def limits_of(transport: Transport) -> RateLimits:
    """The limits a transport declares in an optional ``limits`` attribute, else Telegram's."""
    limits = getattr(transport, "limits", None)
    return limits if isinstance(limits, RateLimits) else RateLimits()


def is_group_chat(transport: Transport, chat_id: str) -> bool:
    """Whether a chat is a group chat, asking the transport's optional ``is_group_chat(chat_id)``.

    Without it, Telegram's convention holds: group and channel chat ids are negative.
    """
    ask = getattr(transport, "is_group_chat", None)
    if callable(ask):
        return bool(ask(chat_id))
    return chat_id.strip().startswith("-")


def read_attachment(attachment: Attachment, files_root: Path | None) -> bytes:
    """The bytes of an attachment's file (a relative path is taken from ``files_root``); a file that cannot
    be read is `AttachmentRefused`: sending again will not make it readable."""
    path = Path(attachment.path)
    if not path.is_absolute() and files_root is not None:
        path = files_root / path
    try:
        return path.read_bytes()
    except OSError as exc:
        raise AttachmentRefused("unreadable", f"attachment not readable: {attachment.path}") from exc
