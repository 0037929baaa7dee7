"""A bulletin group given a new chat id by its channel (Telegram upgrading a group to a supergroup: made public, or
given certain admin settings): the group follows it with its name and marks, the notices waiting for the old id go
to the new one, and every active admin is told once, however many times the channel tells it (the service message
in the old chat and the one in the new, a send to the old id refused naming the new)."""

from __future__ import annotations

from datetime import datetime

from bot.domain.messages import Reply
from bot.render import Renderer
from bot.services.group_left import tell_admins
from storage.audit import Actor
from storage.db import Database
from storage.group_chats import group_of_chat, move_chat


async def group_moved(db: Database, renderer: Renderer, *, channel: str, old: str, new: str, at: datetime,
                      actor: Actor) -> bool:
    """Move the bulletin group of chat ``old`` to ``new`` and tell the admins; False when ``old`` is no bulletin
    group (or was moved before: the same move told again)."""
    async with db.session() as session:
        group = await group_of_chat(session, channel=channel, chat_id=old)
        if group is None or group.chat_id != old:
            await move_chat(session, channel=channel, old=old, new=new, at=at, actor=actor)  # waiting notices only
            return False
        if not await move_chat(session, channel=channel, old=old, new=new, at=at, actor=actor):
            return False
        survivor = await group_of_chat(session, channel=channel, chat_id=new)
        reply = Reply(html=renderer.render("group_moved", group=survivor or group, old=old, new=new))
        await tell_admins(session, reply, key=f"group-moved:{group.id}:{new}", at=at)
    return True
