"""What the bot's sends to a bulletin group find of its rights there, when the chat app tells it nothing: a group
whose admin set "members may not send messages" refuses the bot's texts (the group is marked muted, as when the bot
itself was muted, ``bot.services.group_left``), a group where it may not send photos or files refuses each chart and
workbook (its text goes, a line in place of each file). Either mark tells every active admin once, and goes when a
send gets through again (or the bot's standing, asked by ``/groups add`` or told by the chat app, says the right is
back). ``GroupRights`` is the channel's ``RightsWatch``."""

from __future__ import annotations

import logging

from bot.clock import Clock
from bot.domain import labels
from bot.domain.chat_rights import MESSAGES
from bot.domain.messages import Reply
from bot.render import Renderer
from bot.services.group_left import bot_back_in_group, bot_left_group, tell_admins
from storage.audit import Actor
from storage.db import Database
from storage.group_chats import group_of_chat, mark_files_back, mark_no_files

log = logging.getLogger(__name__)


async def files_refused(db: Database, renderer: Renderer, *, channel: str, chat_id: str, actor: Actor,
                        clock: Clock) -> bool:
    """Mark the bulletin group of ``chat_id`` as one the bot may not send files to, and tell the admins; False
    when it is no bulletin group, or was marked so before."""
    at = clock.now()
    async with db.session() as session:
        group = await group_of_chat(session, channel=channel, chat_id=chat_id)
        if group is None or not await mark_no_files(session, group=group, at=at, actor=actor):
            return False
        reply = Reply(html=renderer.render("group_files", group=group, back=False))
        await tell_admins(session, reply, key=f"group-no-files:{group.id}:{int(at.timestamp())}", at=at)
    log.warning("the bot may not send files to bulletin group %s", chat_id)
    return True


async def files_allowed(db: Database, renderer: Renderer, *, channel: str, chat_id: str, actor: Actor,
                        clock: Clock) -> bool:
    """The bot may send files to the bulletin group of ``chat_id`` again: the mark goes, and the admins are told
    once. False when it is no bulletin group, or was not marked."""
    at = clock.now()
    async with db.session() as session:
        group = await group_of_chat(session, channel=channel, chat_id=chat_id)
        if group is None or group.files_refused_at is None:
            return False
        await mark_files_back(session, group=group, at=at, actor=actor)
        reply = Reply(html=renderer.render("group_files", group=group, back=True))
        await tell_admins(session, reply, key=f"group-files-back:{group.id}:{int(at.timestamp())}", at=at)
    log.warning("may send files to bulletin group %s again", chat_id)
    return True


class GroupRights:
    """A channel's ``RightsWatch`` (``bot.channels.base``): marks and clears its bulletin groups as its sends find
    them."""

    def __init__(self, db: Database, renderer: Renderer, clock: Clock, *, channel: str) -> None:
        self.db, self.renderer, self.clock, self.channel = db, renderer, clock, channel
        self.actor = Actor(label=labels.label(labels.CHANNELS, "system"), channel=channel)

    async def refused(self, chat_id: str, what: str) -> None:
        """A text (``MESSAGES``) or a file refused there for want of the right: the group is marked muted (no
        bulletin goes there any more), or unable to take files."""
        if what == MESSAGES:
            if await bot_left_group(self.db, self.renderer, channel=self.channel, chat_id=chat_id, title=None,
                                    at=self.clock.now(), actor=self.actor, muted=True, found=True):
                log.warning("bulletin group %s refuses the bot's messages", chat_id)
        else:
            await files_refused(self.db, self.renderer, channel=self.channel, chat_id=chat_id, actor=self.actor,
                                clock=self.clock)

    async def allowed(self, chat_id: str, what: str) -> None:
        """A text (``MESSAGES``) or a file got through there: a mark saying it could not goes."""
        if what == MESSAGES:
            if await bot_back_in_group(self.db, self.renderer, channel=self.channel, chat_id=chat_id, title=None,
                                       at=self.clock.now(), actor=self.actor):
                log.warning("may send to bulletin group %s again", chat_id)
        else:
            await files_allowed(self.db, self.renderer, channel=self.channel, chat_id=chat_id, actor=self.actor,
                                clock=self.clock)
