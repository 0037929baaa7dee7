"""The bot taken out of a bulletin group (removed by a member, or the group banned it), or muted there (a group
admin took its right to send messages): nothing sent there arrives any more, so every active admin is told at once,
with the two ways on (add the bot back or let it speak again, or remove the group), rather than find out when a
bulletin does not come, and once per change: the same change delivered again (the channel redelivers what it
thinks was not received) tells nobody twice. The group is marked as taken out (or muted): the bulletins are no
longer sent there, the notices already queued for it wait (``storage.group_waits``), and the lists of groups say
so. Added back (allowed to speak again), the group receives them again, what waited goes out (a bulletin a newer
one of its kind superseded meanwhile does not), and the admins hear of it once, with what was sent and what not.
A group that receives no bulletins is nobody's business."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.messages import Reply
from bot.render import Renderer
from storage import outbox, people
from storage.audit import Actor
from storage.db import Database
from storage.group_chats import group_of_chat, mark_back, mark_left
from storage.models import BulletinGroup


async def bot_left_group(db: Database, renderer: Renderer, *, channel: str, chat_id: str, title: str | None,
                         at: datetime, actor: Actor, muted: bool = False, found: bool = False) -> bool:
    """Mark the bulletin group of `chat_id` as taken out (`muted`: the bot is in it but may not send messages)
    and tell the admins; False when it is no bulletin group, or was marked so before (the same change told
    again). `at` is now, `actor` the channel that told it (`found`: no one told, a send was refused)."""
    async def change(session: AsyncSession, group: BulletinGroup) -> tuple[str, Reply] | None:
        change = await mark_left(session, group=group, at=at, actor=actor, muted=muted)
        if change is None:
            return None
        reply = Reply(html=renderer.render("group_left", group=group, title=title, muted=muted, found=found))
        return f"{'group-muted' if muted else 'group-left'}:{change}", reply

    return await change_group(db, channel=channel, chat_id=chat_id, at=at, change=change)


async def bot_back_in_group(db: Database, renderer: Renderer, *, channel: str, chat_id: str, title: str | None,
                            at: datetime, actor: Actor) -> bool:
    """The bot added back to the bulletin group of `chat_id` it had been taken out of (or allowed to send there
    again): its bulletins go there again, and the admins are told once (the same change delivered again finds it
    back already). False when it is no bulletin group, or was not taken out."""
    async def change(session: AsyncSession, group: BulletinGroup) -> tuple[str, Reply] | None:
        muted = group.muted
        released = await mark_back(session, group=group, at=at, actor=actor)
        if released is None:
            return None
        reply = Reply(html=renderer.render("group_back", group=group, title=title, muted=muted, released=released))
        return f"group-back:{released.change}", reply

    return await change_group(db, channel=channel, chat_id=chat_id, at=at, change=change)


async def change_group(db: Database, *, channel: str, chat_id: str, at: datetime,
                       change: Callable[[AsyncSession, BulletinGroup], Awaitable[tuple[str, Reply] | None]]) -> bool:
    """Apply ``change`` to the bulletin group of ``chat_id`` and tell every active admin what it says, in one
    transaction: ``change`` marks the group and gives the notice's key (unique to the change: it names the change's
    audit id, so that two changes within a second are both told) and the notice, or None when nothing changed (the
    same change told again). False when it is no bulletin group, or nothing changed."""
    async with db.session() as session:
        group = await group_of_chat(session, channel=channel, chat_id=chat_id)
        told = None if group is None else await change(session, group)
        if group is None or told is None:
            return False
        key, reply = told
        await tell_admins(session, reply, key=f"{key}:{group.id}", at=at)
    return True


async def tell_admins(session: AsyncSession, reply: Reply, *, key: str, at: datetime) -> None:
    """Queue `reply` for every active admin, each under `key` and their id."""
    admins = await people.active_admins(session)
    await outbox.enqueue_for_people(session, [
        outbox.PersonNotice(person_id=admin.id, reply=reply, key=f"{key}:p{admin.id}") for admin in admins], now=at)
