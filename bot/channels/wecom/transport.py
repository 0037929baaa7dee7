"""Sending replies to WeCom members through the app's API (:class:`WeComTransport`, also the outbox
transport of channel "wecom").

- Each reply goes out as the messages ``bot.channels.wecom.render`` makes of it, in order; a send that
  fails part-way says how many got through (``failed_after``), and the retry (``skip``: a direct reply's,
  or the outbox row's on any process) sends only the rest.
- Photos and documents (the outbox row's attachment, or ``Reply.attachment``) are uploaded with
  ``media/upload`` and sent as image / file messages after the text (relative paths are taken from
  ``files_root``, DATA_DIR by default).
- At most 30 messages per member per minute and 1,000 per hour (WeCom drops the excess silently, with
  errcode 0): counted per message
  actually sent, over direct replies and outbox notices alike, and, given a ``SharedMemory`` (as the
  running bot and every command that sends do), over every process of the database (``SharedWindow``):
  direct replies go out from whichever process WeCom posted the message to, and the outbox from the
  leader, so no single process sees every message to a member.
- It remembers the buttons it showed: the numbered lists a user may answer with a number (until the
  next reply that has buttons or the next user message answered without any), and each card's button
  labels, so a pressed card's buttons can be replaced by "已选择:…". Given a ``SharedMemory`` (as the
  running bot does), these live in the database: a list shown by one process is answered on another, and
  a restart keeps it; without one (tests of the transport alone), in this process's memory. A card's labels are
  saved before it is sent, the numbered list (or the forgetting of the one before) before a reply's last message:
  its ``on_sent`` may mark the answer done, and a kill after that must not find the list unremembered.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from bot.channels.attachment_notes import log_refused, note_html
from bot.channels.base import (
    Attachment,
    AttachmentRefused,
    DeliveryError,
    OnSent,
    PermanentError,
    RateLimits,
    caused,
    failed_after,
    read_attachment,
)
from bot.channels.wecom import CHANNEL
from bot.channels.wecom.api import WeComApi, image_type
from bot.channels.wecom.markdown import utf8_len
from bot.channels.wecom.render import Part, new_task_id, reply_parts, shorten, text_parts
from bot.channels.wecom.windows import SlidingWindow, TtlCache
from bot.domain.give_up_reasons import CONFIG
from bot.domain.messages import Button, Reply
from bot.render import shared_renderer
from bot.services.shared_memory import SharedMemory, SharedWindow

log = logging.getLogger(__name__)

REPLACE_NAME_MAX = 20
NUMBERED_TTL = 86_400.0  # a numbered list can be answered for a day
CARD_TTL = 72 * 3600.0  # a card's buttons can be pressed for three days (WeCom keeps its ResponseCode)
MEMBER_PER_MINUTE = 30
MEMBER_WINDOW = 62.0  # a little over a minute: WeCom counts on its side, after network delays
MEMBER_PER_HOUR = 1000
MEMBER_HOUR_WINDOW = 3602.0
IMAGE_MAX = 10 * 1024 * 1024
FILE_MAX = 20 * 1024 * 1024
MEDIA_MIN = 6  # WeCom refuses files of 5 bytes or fewer
# When sending, any userid of 1-64 bytes without "|" (a list separator), spaces or control characters
# is accepted.
_SENDABLE_USERID = re.compile(r"^[^|\s\x00-\x1f]{1,64}$")


def _window(memory: SharedMemory | None, name: str, limit: int, period: float) -> SlidingWindow | SharedWindow:
    """A per-member window counted over every process given the database's memory, else in this one."""
    if memory is None:
        return SlidingWindow(limit, period)
    return SharedWindow(memory, name, limit, period, fallback=SlidingWindow(limit, period))


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
                 window: SlidingWindow | SharedWindow | None = None,
                 hour_window: SlidingWindow | SharedWindow | None = None, memory: SharedMemory | None = None) -> None:
        self.api = api
        self.memory = memory
        self.files_root = files_root
        self.max_wait = max_wait
        self.window = window or _window(memory, "wecom-member", MEMBER_PER_MINUTE, MEMBER_WINDOW)
        self.hour_window = hour_window or _window(memory, "wecom-member-hour", MEMBER_PER_HOUR, MEMBER_HOUR_WINDOW)
        self.numbered: TtlCache[str, tuple[Button, ...]] = TtlCache(ttl=NUMBERED_TTL, max_items=50_000)
        self.cards: TtlCache[str, dict[str, str]] = TtlCache(ttl=CARD_TTL, max_items=50_000)

    def __repr__(self) -> str:
        return f"WeComTransport({self.api!r})"

    def is_group_chat(self, chat_id: str) -> bool:
        return False

    async def close(self) -> None:
        await self.api.close()

    async def probe(self) -> None:
        """Raise ``ChannelDown`` while WeCom still refuses the app's credentials (the outbox asks before it
        sends a held notice again)."""
        await self.api.probe()

    async def send(self, chat_id: str, reply: Reply, *, attachment: Attachment | None = None,
                   skip: int = 0, on_sent: OnSent | None = None) -> None:
        await self.deliver(chat_id, reply, attachment=attachment, max_wait=self.max_wait, skip=skip,
                           on_sent=on_sent)

    async def deliver(self, userid: str, reply: Reply, *, attachment: Attachment | None = None,
                      max_wait: float, skip: int = 0, on_sent: OnSent | None = None) -> None:
        """Send one reply (and its file: ``attachment``, else the reply's own) to a member, leaving out the
        first ``skip`` of the messages it becomes (they got through in an earlier try), telling ``on_sent``
        after each that got through; raises a DeliveryError that says how many of them have got through
        (``failed_after``)."""
        if not _SENDABLE_USERID.match(userid) or utf8_len(userid) > 64:
            raise caused(PermanentError(f"not a WeCom userid: {userid!r}"), CONFIG)
        if attachment is None:
            attachment = reply.attachment
        parts, numbered = reply_parts(reply)
        done = max(0, skip)
        remembered = False  # what the reply's buttons need: saved before its last message goes out (whose on_sent
        # may mark the whole answer done), so that a kill between the two does not leave a list without its numbers
        try:
            total = len(parts) + (1 if attachment is not None else 0)
            if done < total:
                media_part: Part | None = None
                if attachment is not None:
                    # before any message: the likeliest to fail (but a file that cannot be sent at all
                    # becomes a line saying so, and the text goes out)
                    media_part = await self._media_or_note(userid, attachment)
                # The hour's count first, not waited out here (a full hour is the outbox's to wait for).
                await self.hour_window.acquire(userid, total - done, max_wait=0.0)
                await self.window.acquire(userid, total - done, max_wait=max_wait)
                everything = [*parts, *([media_part] if media_part else [])]
                while done < total:
                    part = everything[done]
                    content = self._content(part)
                    if part.buttons:  # (a card that never goes out: its entry just expires)
                        await self._remember_card(content, part)
                    if done == total - 1:
                        await self._remember_buttons(userid, reply, numbered)
                        remembered = True
                    await self.api.send_message(userid, part.msgtype, content)
                    done += 1
                    if on_sent is not None:  # before anything else is awaited
                        on_sent(done, total)
        except DeliveryError as error:
            failed_after(error, done)
            raise
        if not remembered:  # every message went out in an earlier try
            await self._remember_buttons(userid, reply, numbered)

    async def _remember_buttons(self, userid: str, reply: Reply, numbered: bool) -> None:
        """Remember the numbered list a reply shows, or forget the one shown before a reply with a card."""
        if numbered:
            await self._remember_numbers(userid, tuple(b for row in reply.buttons for b in row))
        elif reply.buttons:
            await self.forget_numbers(userid)

    @staticmethod
    def _content(part: Part) -> dict[str, Any]:
        """What a message says (a card with a task id of its own)."""
        if part.msgtype == "template_card":
            return {**part.content, "task_id": new_task_id()}
        return part.content

    async def _remember_card(self, content: dict[str, Any], part: Part) -> None:
        """The labels of a card's buttons, for the "已选择:…" update once one is pressed."""
        labels = {b.data: b.label for b in part.buttons}
        if self.memory is not None:
            try:
                await self.memory.put(f"wecom-card:{content['task_id']}", labels, ttl=CARD_TTL)
            except Exception:  # the card went out; only its "已选择" label will be plainer
                log.warning("could not remember the buttons of card %s", content["task_id"], exc_info=True)
        else:
            self.cards.set(content["task_id"], labels)

    async def _media_or_note(self, userid: str, attachment: Attachment) -> Part:
        """The uploaded file as a message, or, when the file cannot be sent, a line saying so."""
        try:
            return await self._upload(attachment)
        except AttachmentRefused as refused:
            log_refused(CHANNEL, userid, attachment, refused)
            return text_parts(note_html(attachment, refused))[0]

    async def _upload(self, attachment: Attachment) -> Part:
        data = read_attachment(attachment, self.files_root)
        if len(data) < MEDIA_MIN:
            raise AttachmentRefused("too_small", f"attachment too small for WeCom: {attachment.path}")
        filename = attachment.filename or Path(attachment.path).name
        mime = image_type(data) if attachment.kind == "photo" else None
        kind, content_type = ("image", mime) if mime is not None and len(data) <= IMAGE_MAX else \
            ("file", "application/octet-stream")
        if len(data) > FILE_MAX:
            raise AttachmentRefused("too_large", f"attachment over {FILE_MAX} bytes: {attachment.path}",
                                    limit=FILE_MAX)
        try:
            media_id = await self.api.upload_media(kind, data, filename, content_type)
        except PermanentError as exc:  # WeCom would not take this file (its size or type)
            raise AttachmentRefused("refused", f"WeCom refused {attachment.path}: {exc}") from exc
        return Part(kind, {"media_id": media_id})

    # -- button memories (keyed by the userid in lower case: WeCom's userids are case-insensitive, and a
    # notice may go to the spelling an admin typed while the member's answer arrives in WeCom's)

    async def _remember_numbers(self, userid: str, buttons: tuple[Button, ...]) -> None:
        if self.memory is None:
            self.numbered.set(userid.lower(), buttons)
            return
        try:
            await self.memory.put(f"wecom-numbers:{userid.lower()}", [[b.label, b.data] for b in buttons],
                                  ttl=NUMBERED_TTL)
        except Exception:  # the reply went out; only answering it by number will not work
            log.warning("could not remember the numbered list shown to %s", userid, exc_info=True)

    async def numbered_choices(self, userid: str) -> tuple[Button, ...]:
        """The numbered list last shown to this user (by any process), empty if none."""
        if self.memory is None:
            return self.numbered.get(userid.lower()) or ()
        stored = await self.memory.get(f"wecom-numbers:{userid.lower()}") or []
        return tuple(Button(label=str(label), data=str(data)) for label, data in stored)

    async def forget_numbers(self, userid: str) -> None:
        if self.memory is None:
            self.numbered.pop(userid.lower())
            return
        try:
            await self.memory.forget(f"wecom-numbers:{userid.lower()}")
        except Exception:
            log.warning("could not forget the numbered list shown to %s", userid, exc_info=True)

    async def mark_pressed(self, userid: str, task_id: str, response_code: str, key: str) -> None:
        """Replace a pressed card's buttons by "已选择:<label>".

        A ResponseCode works once; failures are only logged.
        """
        if self.memory is not None:
            labels = await self.memory.get(f"wecom-card:{task_id}") or {}
        else:
            labels = self.cards.get(task_id) or {}
        label = labels.get(key)
        words = shared_renderer()
        name = (shorten(words.phrase("channel_words", "chosen", label), REPLACE_NAME_MAX) if label
                else words.phrase("channel_words", "handled"))
        try:
            await self.api.update_card_button(userid, response_code, name)
        except DeliveryError as exc:
            log.info("could not update the pressed card %s: %s", task_id, exc)
