"""Telegram delivery for the outbox: sends replies with PTB and translates its errors into delivery errors."""

from __future__ import annotations

import datetime as dtm
import functools
import logging
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path

from telegram import Bot, InlineKeyboardMarkup, InputFile, LinkPreviewOptions, Message
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.channels.attachment_notes import log_refused, note_html
from bot.channels.base import (
    Attachment,
    AttachmentRefused,
    ChannelDown,
    DeliveryError,
    OnSent,
    PermanentError,
    RateLimits,
    RecipientBlocked,
    RetryLater,
    RightsWatch,
    TransientError,
    caused,
    failed_after,
    read_attachment,
)
from bot.channels.telegram import CHANNEL, keyboard
from bot.domain.chat_ids import split_address
from bot.domain.chat_rights import DOCUMENTS, MESSAGES, OUT, PHOTOS
from bot.domain.give_up_reasons import CONFIG, of_telegram
from bot.domain.messages import Reply
from bot.html_split import TELEGRAM_LIMIT, split_html, utf16_len

log = logging.getLogger(__name__)

TEXT_MAX = TELEGRAM_LIMIT  # characters (UTF-16 code units) of a message's text
CAPTION_MAX = 1024  # … and of a photo's or document's caption
PHOTO_MAX = 10 * 1024 * 1024  # a bigger photo goes as a document
DOCUMENT_MAX = 50 * 1024 * 1024  # what a bot may upload
# What Telegram answers about a file it will not take (a document over its limit gets HTTP 413).
FILE_REFUSED = {"request entity too large": "too_large", "file is too big": "too_large"}
BAD_TOKEN = "bad_token"  # ChannelDown.reason of a refused token
# Bad requests that mean the chat is gone for us rather than that the message is wrong.
# A forum topic deleted or closed since (a bot that may not manage topics cannot write in a closed one).
TOPIC_GONE = ("message thread not found", "topic_deleted", "topic_closed")
# A group where the bot may send text but not photos or files (its own rights, or every member's): the file is
# refused, its text goes. Where it may not send text, the chat is unreachable for it (below) until the right is back.
FILES_NOT_ALLOWED = ("not enough rights to send photos", "not enough rights to send documents")
TEXT_NOT_ALLOWED = ("not enough rights to send text messages", "have no rights to send a message")
NOT_IN_GROUP = ("bot was kicked from the", "bot is not a member of the")  # a group (or supergroup) chat
UNREACHABLE = ("chat not found", "user not found", "peer_id_invalid", "bot was kicked", "user is deactivated",
               "have no rights to send a message", "not enough rights to send")
# A message of a send, called with the chat id, the forum topic and the chat's address now (TelegramTransport._parts).
Part = Callable[[int, int | None, str], Awaitable[object]]


def retry_after_seconds(exc: RetryAfter) -> float:
    """The wait Telegram asked for, whether this PTB gives it as seconds or as a timedelta."""
    with warnings.catch_warnings():  # PTB 22 warns that the int form is going away
        warnings.simplefilter("ignore")
        value = exc.retry_after
    if isinstance(value, dtm.timedelta):
        return value.total_seconds()
    return float(value)


def delivery_error(exc: TelegramError) -> DeliveryError:
    """The channel-neutral meaning of a PTB error.

    Order matters: BadRequest and TimedOut are subclasses of NetworkError.
    """
    text = str(exc)
    refused = next((reason for marker, reason in FILE_REFUSED.items() if marker in text.lower()), None)
    if refused is not None and not isinstance(exc, RetryAfter):
        return AttachmentRefused(refused, text, limit=DOCUMENT_MAX if refused == "too_large" else None)
    if isinstance(exc, BadRequest) and any(marker in text.lower() for marker in FILES_NOT_ALLOWED):
        return AttachmentRefused("not_allowed", text)
    if isinstance(exc, RetryAfter):
        return RetryLater(retry_after_seconds(exc), text)
    if isinstance(exc, Forbidden):
        return RecipientBlocked(text)
    if isinstance(exc, BadRequest):
        lowered = text.lower()
        if any(marker in lowered for marker in UNREACHABLE):
            return RecipientBlocked(text)
        return caused(PermanentError(text), of_telegram(text))
    if isinstance(exc, TimedOut):
        return TransientError(f"timed out: {text}")
    if isinstance(exc, NetworkError):  # connection trouble and every 5xx answer
        return TransientError(text)
    if isinstance(exc, InvalidToken):  # 401: the token was revoked or replaced; every message fails alike
        return token_refused(exc)
    return TransientError(text)


def token_refused(exc: InvalidToken) -> ChannelDown:
    """Telegram refusing the bot's token (401 Unauthorized, PTB's ``InvalidToken``): the channel is down until
    the token in the settings is right. Its words never carry the token (PTB's own message may)."""
    words = str(exc)
    if "`" in words:  # PTB's start-up words quote the token
        words = "the bot token was rejected by the server"
    return ChannelDown(BAD_TOKEN, f"invalid bot token: {words}")


def _refused_at(error: DeliveryError, chat_id: str, at: str) -> DeliveryError:
    """``error``, saying it was refused at ``at`` when that is not ``chat_id``, the chat it was addressed to."""
    if at != chat_id:
        error.refused_at = at
    return error


class TelegramTransport:
    """Sends replies through a PTB Bot: HTML, an inline keyboard, and optionally a photo or document. Direct
    replies and outbox notices alike go through ``send``, the one place a text is made to fit Telegram's
    limits: a text over 4,096 characters goes out as several messages cut between lines (never inside a tag,
    ``bot.html_split``), the buttons under the last one; a caption over 1,024 characters is sent after the
    file as such messages instead. A file that cannot be sent (over 50 MB, gone from disk) becomes a message
    in its place: the caption, if the text was one, and a line saying the file did not go out and why. A
    photo over 10 MB goes as a document. A send that fails part-way says how many messages got through, and
    the retry (``skip``) sends only the rest.

    In a group chat, what a send finds of the bot's rights there is told to ``rights`` (``RightsWatch``): a text
    refused for want of the right to send messages (the chat is unreachable then: ``RecipientBlocked``, never
    retried), the bot found no member of the group (``OUT``: taken out, Telegram's update saying so lost), a photo or
    a document refused for want of the right to send that kind (its line goes in its place;
    Telegram grants the two apart), or any of them going through.

    The bot's request object should allow as many connections as the sender sends concurrently (an
    ``HTTPXRequest(connection_pool_size=…)``); otherwise sends wait for a free connection and may time out.
    Relative attachment paths are taken from ``files_root``.
    """

    channel = CHANNEL
    limits = RateLimits(global_per_second=30, per_chat_per_second=1, per_group_per_minute=20)

    def __init__(self, bot: Bot, *, files_root: Path | None = None, rights: RightsWatch | None = None) -> None:
        self.bot = bot
        self.files_root = files_root
        self.rights = rights

    async def _tell(self, chat_id: str, what: str, *, allowed: bool) -> None:
        """Tell ``rights`` what a send to group ``chat_id`` found (nothing for a private chat)."""
        if self.rights is None or not self.is_group_chat(chat_id):
            return
        try:
            await (self.rights.allowed if allowed else self.rights.refused)(chat_id, what)
        except Exception:  # the send's outcome does not depend on it
            log.exception("could not record what a send to %s found of the bot's rights", chat_id)

    async def _moved(self, chat_id: str, new_chat_id: str) -> None:
        """Tell ``rights`` that group ``chat_id`` is ``new_chat_id`` now."""
        if self.rights is None:
            return
        try:
            await self.rights.moved(chat_id, new_chat_id)
        except Exception:  # the send's outcome does not depend on it
            log.exception("could not record that Telegram chat %s moved to %s", chat_id, new_chat_id)

    def is_group_chat(self, chat_id: str) -> bool:
        """Groups, supergroups and channels have negative ids in Telegram."""
        return chat_id.strip().startswith("-")

    async def probe(self) -> None:
        """Raise ``ChannelDown`` while Telegram still refuses the token (``getMe``; the outbox asks before it
        sends a held notice again). Other errors (the network) say nothing either way and are raised as is."""
        try:
            await self.bot.get_me()
        except InvalidToken as exc:
            raise token_refused(exc) from exc

    async def send(self, chat_id: str, reply: Reply, *, attachment: Attachment | None = None,
                   skip: int = 0, on_sent: OnSent | None = None) -> list[str]:
        """Send a reply with its file (``attachment``, else the reply's own), leaving out the first ``skip``
        of the messages it becomes (they reached the chat in an earlier try), telling ``on_sent`` after each that
        reached the chat; the ids Telegram gave the messages sent. Raises a DeliveryError that says how many of
        them have reached the chat (``failed_after``)."""
        attachment = attachment or reply.attachment
        try:
            target, topic = split_address(chat_id)
        except ValueError as exc:
            raise caused(PermanentError(f"not a Telegram chat id: {chat_id!r}"), CONFIG) from exc
        notes: list[Callable[[], Awaitable[None]]] = []  # what a part found of the rights, told once it is recorded
        parts = self._parts(reply, attachment, notes=notes)
        done, migrated, texted = max(0, skip), False, False
        at = chat_id  # the group's id now: after an upgrade to a supergroup, its new one
        sent: list[str] = []
        while done < len(parts):
            try:
                message = await parts[done](target, topic, at)
            except ChatMigrated as exc:
                if migrated:
                    raise failed_after(delivery_error(exc), done) from exc
                # The group became a supergroup: deliver the rest there. The bulletin group follows it now (and
                # again, finding it moved, when Telegram's service message arrives: TelegramChannel.on_migrate).
                log.warning("Telegram chat %s moved to %s; sending there", chat_id, exc.new_chat_id)
                target, topic, migrated, at = int(exc.new_chat_id), None, True, str(exc.new_chat_id)
                await self._moved(chat_id, at)
                continue
            except BadRequest as exc:
                if topic is None or not any(marker in str(exc).lower() for marker in TOPIC_GONE):
                    if any(marker in str(exc).lower() for marker in TEXT_NOT_ALLOWED):
                        await self._tell(at, MESSAGES, allowed=False)
                    raise _refused_at(failed_after(delivery_error(exc), done), chat_id, at) from exc
                # The forum topic was deleted or closed: the rest goes to the group's General topic.
                log.warning("topic %s of Telegram chat %s is gone; sending to its General topic", topic, target)
                topic = None
                continue
            except TelegramError as exc:
                if isinstance(exc, Forbidden) and any(marker in str(exc).lower() for marker in NOT_IN_GROUP):
                    await self._tell(at, OUT, allowed=False)  # taken out, and the update saying so lost
                raise _refused_at(failed_after(delivery_error(exc), done), chat_id, at) from exc
            except DeliveryError as exc:  # the file could not be read
                failed_after(exc, done)
                raise
            if isinstance(message, Message):
                sent.append(str(message.message_id))
                texted = texted or message.text is not None  # a text, or a file's note (not a file)
            done += 1
            if on_sent is not None:
                on_sent(done, len(parts))
            while notes:  # (after on_sent: a stop meanwhile does not send the part again)
                await notes.pop(0)()
        if texted:  # the bot may send messages there
            await self._tell(at, MESSAGES, allowed=True)
        return sent

    def _parts(self, reply: Reply, attachment: Attachment | None, *,
               notes: list[Callable[[], Awaitable[None]]]) -> list[Part]:
        """The messages a reply becomes, in order, each a call sending it to a chat id and forum topic, given
        the chat's address now (what ``rights`` is told of: after an upgrade to a supergroup, its new id): the
        file (with the text as its caption when that fits), then the text in as many messages as it needs,
        the buttons under the last one."""
        markup = keyboard(reply)
        parts: list[Part] = []
        if attachment is not None:
            fits = utf16_len(reply.html) <= CAPTION_MAX
            parts.append(functools.partial(self._send_file_or_note, attachment=attachment,
                                           caption=reply.html if fits else None, markup=markup if fits else None,
                                           notes=notes))
            if fits:
                return parts
        texts = split_html(reply.html, TEXT_MAX)
        for index, text in enumerate(texts):
            parts.append(functools.partial(self._send_text_part, text=text,
                                           markup=markup if index == len(texts) - 1 else None))
        return parts

    async def _send_text_part(self, chat_id: int, topic: int | None, _address: str, *, text: str,
                              markup: InlineKeyboardMarkup | None) -> Message:
        """A part of the text (its rights are told once the whole send is through)."""
        return await self._send_text(chat_id, topic, text=text, markup=markup)

    async def _send_text(self, chat_id: int, topic: int | None, *, text: str,
                         markup: InlineKeyboardMarkup | None) -> Message:
        return await self.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup,
                                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                                    message_thread_id=topic)

    async def _send_file_or_note(self, chat_id: int, topic: int | None, address: str, *, attachment: Attachment,
                                 caption: str | None, markup: InlineKeyboardMarkup | None,
                                 notes: list[Callable[[], Awaitable[None]]]) -> Message:
        """The file with its caption; when the file cannot be sent, a message in its place: the caption (the
        reply's text, when it fitted there) and a line saying which file did not go out and why. ``address``: the
        chat's now, as the send was given it or, the group upgraded to a supergroup, its new id (what ``rights``
        is told of, by the call added to ``notes``: the send awaits it once the message is recorded sent)."""
        try:
            message = await self._send_file(chat_id, topic, attachment=attachment, caption=caption, markup=markup)
        except TelegramError as exc:
            refused = delivery_error(exc)
            if not isinstance(refused, AttachmentRefused):
                raise
        except AttachmentRefused as exc:
            refused = exc
        else:
            notes.append(functools.partial(self._tell, address, PHOTOS if message.photo else DOCUMENTS, allowed=True))
            return message
        log_refused(self.channel, str(chat_id), attachment, refused)
        note = note_html(attachment, refused)
        message = await self._send_text(chat_id, topic, text=f"{caption}\n\n{note}" if caption else note,
                                        markup=markup)
        if refused.reason == "not_allowed":  # a chat taking the bot's text and not this kind of file (a group's
            # member may be refused both: then its texts tell that)
            notes.append(functools.partial(self._tell, address, PHOTOS if "photos" in str(refused).lower()
                                           else DOCUMENTS, allowed=False))
        return message

    async def _send_file(self, chat_id: int, topic: int | None, *, attachment: Attachment, caption: str | None,
                         markup: InlineKeyboardMarkup | None) -> Message:
        data = read_attachment(attachment, self.files_root)
        if len(data) > DOCUMENT_MAX:
            raise AttachmentRefused("too_large", f"attachment over {DOCUMENT_MAX} bytes: {attachment.path}",
                                    limit=DOCUMENT_MAX)
        upload = InputFile(data, filename=attachment.filename or Path(attachment.path).name)
        parse_mode = ParseMode.HTML if caption else None
        if attachment.kind == "photo" and len(data) <= PHOTO_MAX:
            return await self.bot.send_photo(chat_id, upload, caption=caption, parse_mode=parse_mode,
                                             reply_markup=markup, message_thread_id=topic)
        return await self.bot.send_document(chat_id, upload, caption=caption, parse_mode=parse_mode,
                                            reply_markup=markup, message_thread_id=topic)
