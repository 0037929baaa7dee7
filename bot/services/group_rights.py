"""What the bot's sends to a bulletin group find of its rights there, when the chat app tells it nothing: a group
whose admin set "members may not send messages" refuses the bot's texts (the group is marked muted, as when the bot
itself was muted, ``bot.services.group_left``), a group where it may not send photos, or documents, refuses each
chart, or each workbook (its text goes, a line in place of each file). Telegram grants photos and documents apart,
so the mark says which kinds are refused, and goes only when those get through again (or the bot's standing, asked
by ``/groups add`` or told by the chat app, says they are allowed). Each change tells every active admin once.
``GroupRights`` is the channel's ``RightsWatch``."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.domain import labels
from bot.domain.chat_rights import FILE_KINDS, MESSAGES, OUT, SENDING, refused_files
from bot.domain.messages import Reply
from bot.render import Renderer
from bot.services.group_left import bot_back_in_group, bot_left_group, change_group
from bot.services.group_moves import group_moved
from storage.audit import Actor
from storage.db import Database
from storage.group_chats import group_of_chat, mark_files, marked_files
from storage.models import BulletinGroup

log = logging.getLogger(__name__)

Standing = Callable[[str], Awaitable[str | None]]  # where the bot stands in a group, as its channel asks


async def files_found(db: Database, renderer: Renderer, *, channel: str, chat_id: str, actor: Actor, at: datetime,
                      refused: frozenset[str] = frozenset(), allowed: frozenset[str] = frozenset()) -> bool:
    """The bot found unable to send the kinds of file in ``refused`` to the bulletin group of ``chat_id``, and able
    to send those in ``allowed`` (``bot.domain.chat_rights``: photos, documents): its mark says so, and the admins
    are told of the change. False when it is no bulletin group, or its mark said so before."""
    async def change(session: AsyncSession, group: BulletinGroup) -> tuple[str, Reply] | None:
        before = await marked_files(session, group)
        now = (before - allowed) | refused
        change = await mark_files(session, group=group, refused=now, at=at, actor=actor)
        if change is None:
            return None
        log.warning("the bot may not send %s to bulletin group %s", "/".join(sorted(now)) or "no file", chat_id)
        reply = Reply(html=renderer.render("group_files", group=group, refused=now, before=before))
        return f"group-files-{'-'.join(sorted(now)) or 'back'}:{change}", reply

    return await change_group(db, channel=channel, chat_id=chat_id, at=at, change=change)


class GroupRights:
    """A channel's ``RightsWatch`` (``bot.channels.base``): marks and clears its bulletin groups as its sends find
    them. ``standing`` (the channel's, if it can ask) tells, when a kind of file is first refused (or a refused kind
    gets through while another is marked), what the other kind's right is, so the admins hear of both in one
    notice."""

    def __init__(self, db: Database, renderer: Renderer, clock: Clock, *, channel: str,
                 standing: Standing | None = None) -> None:
        self.db, self.renderer, self.clock, self.channel = db, renderer, clock, channel
        self.standing = standing
        self.actor = Actor(label=labels.label(labels.CHANNELS, "system"), channel=channel)

    async def refused(self, chat_id: str, what: str) -> None:
        """A text (``MESSAGES``) or a file (``PHOTOS``, ``DOCUMENTS``) refused there for want of the right, or the bot
        found no member there (``OUT``): the group is marked muted, or taken out (no bulletin goes there any more, and
        what was queued waits), or unable to take that kind of file."""
        if what in (MESSAGES, OUT):
            if await bot_left_group(self.db, self.renderer, channel=self.channel, chat_id=chat_id, title=None,
                                    at=self.clock.now(), actor=self.actor, muted=what == MESSAGES, found=True):
                log.warning("bulletin group %s refuses the bot's messages (%s)", chat_id, what)
            return
        refused = frozenset({what})
        if self.standing is not None and not refused <= await self._marked(chat_id):
            asked = await self.standing(chat_id)
            refused |= refused_files(asked) if asked in SENDING else frozenset()
        await files_found(self.db, self.renderer, channel=self.channel, chat_id=chat_id, actor=self.actor,
                          at=self.clock.now(), refused=refused)

    async def allowed(self, chat_id: str, what: str) -> None:
        """A text (``MESSAGES``) or a file of a kind got through there: a mark saying it could not goes."""
        if what == MESSAGES:
            if await bot_back_in_group(self.db, self.renderer, channel=self.channel, chat_id=chat_id, title=None,
                                       at=self.clock.now(), actor=self.actor):
                log.warning("may send to bulletin group %s again", chat_id)
            return
        allowed = frozenset({what})
        if self.standing is not None and allowed <= (marked := await self._marked(chat_id)) and marked - allowed:
            asked = await self.standing(chat_id)
            allowed |= FILE_KINDS - refused_files(asked) if asked in SENDING else frozenset()
        await files_found(self.db, self.renderer, channel=self.channel, chat_id=chat_id, actor=self.actor,
                          at=self.clock.now(), allowed=allowed)

    async def moved(self, chat_id: str, new_chat_id: str) -> None:
        """A send found the group upgraded to a supergroup under a new id (the channel's word of it lost, or not
        handled yet): the bulletin group follows it there, and the admins are told once."""
        if await group_moved(self.db, self.renderer, channel=self.channel, old=chat_id, new=new_chat_id,
                             at=self.clock.now(), actor=self.actor):
            log.warning("bulletin group %s found moved to %s by a send", chat_id, new_chat_id)

    async def _marked(self, chat_id: str) -> frozenset[str]:
        """The kinds of file the bulletin group of ``chat_id`` is marked as refusing (none for no bulletin group)."""
        async with self.db.session() as session:
            group = await group_of_chat(session, channel=self.channel, chat_id=chat_id)
            return frozenset() if group is None else await marked_files(session, group)
