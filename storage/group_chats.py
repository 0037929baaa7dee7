"""A bulletin group's chat as the channel changes it: a group upgraded to a supergroup gets a new chat id from
Telegram (the bulletin group registered under the old id moves to the new one, and so do the notices still
waiting for it); the bot taken out of a group (or muted there), and added back (``mark_left``, ``mark_back``);
the bot found unable to send photos or documents there, and able again (``mark_files``). While a group is marked
out, its notices wait (``storage.group_waits``).

A chat is one bulletin group, whichever topic of a forum it gets its bulletins in (``group_of_chat``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.chat_ids import TOPIC_MARK, chat_of
from bot.domain.chat_rights import FILE_KINDS
from storage import audit
from storage.audit import Actor
from storage.group_waits import Released, release_waiting
from storage.models import BulletinGroup, OutboxMessage
from storage.outbox import PENDING

TOPICS_CHANNEL = "telegram"  # the channel whose group chats have topics


async def group_of_chat(session: AsyncSession, *, channel: str, chat_id: str) -> BulletinGroup | None:
    """The bulletin group of ``chat_id``: registered under it, or, on Telegram, under any topic of its chat."""
    exact = BulletinGroup.chat_id == chat_id
    if channel == TOPICS_CHANNEL:
        chat = chat_of(chat_id)
        exact = or_(exact, BulletinGroup.chat_id == chat, BulletinGroup.chat_id.startswith(chat + TOPIC_MARK))
    found = list((await session.scalars(select(BulletinGroup).where(BulletinGroup.channel == channel, exact)
                                        .order_by(BulletinGroup.id))).all())
    return next((g for g in found if g.chat_id == chat_id), found[0] if found else None)


async def move_chat(session: AsyncSession, *, channel: str, old: str, new: str, at: datetime, actor: Actor) -> bool:
    """Re-point the bulletin group of chat `old` to `new` (when `new` is registered already, the old entry
    goes, the new one stays) and the outbox's notices waiting for `old` (one being sent follows the move by
    itself). Returns whether a group moved: False when `old` was not a bulletin group, or was moved before
    (Telegram tells both the old and the new chat)."""
    group = await session.scalar(
        select(BulletinGroup).where(BulletinGroup.channel == channel, BulletinGroup.chat_id == old)
    )
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.channel == channel,
            OutboxMessage.chat_id == old,
            OutboxMessage.state == PENDING,
        )
        .values(chat_id=new)
    )
    if group is None:
        return False
    taken = await session.scalar(
        select(BulletinGroup.id).where(BulletinGroup.channel == channel, BulletinGroup.chat_id == new)
    )
    if taken is None:
        group.chat_id = new
    else:
        await session.execute(delete(BulletinGroup).where(BulletinGroup.id == group.id))
    await audit.record(
        session,
        actor=actor,
        at=at,
        action="group.move",
        object_type="group",
        object_key=f"{channel}:{new}",
        detail={"name": group.name, "from": old, "to": new},
    )
    return True


async def mark_left(session: AsyncSession, *, group: BulletinGroup, at: datetime, actor: Actor,
                    muted: bool = False) -> int | None:
    """The bot is out of ``group`` (``muted``: still in it, but it may not send messages there): no bulletin goes
    there until it is back. The change's audit id (a key unique to it, for the notices telling of it); None when it
    was marked so before (the same change told again)."""
    if group.left_at is not None and group.muted == muted:
        return None
    group.left_at, group.muted = at, muted
    return await audit.record_id(session, actor=actor, at=at, action="group.muted" if muted else "group.left",
                                 object_type="group", object_key=f"{group.channel}:{group.chat_id}",
                                 detail={"name": group.name})


async def mark_back(session: AsyncSession, *, group: BulletinGroup, at: datetime, actor: Actor) -> Released | None:
    """The bot is in ``group`` again, and may send there: its bulletins go there, and so do the notices that waited
    for it (but for bulletins a newer one of their kind superseded, ``storage.group_waits``): what they were, with
    the change's audit id (``Released.change``). None when it was not marked out."""
    if group.left_at is None:
        return None
    action = "group.unmuted" if group.muted else "group.back"
    group.left_at, group.muted = None, False
    released = await release_waiting(session, group=group, now=at)
    change = await audit.record_id(session, actor=actor, at=at, action=action, object_type="group",
                                   object_key=f"{group.channel}:{group.chat_id}",
                                   detail={"name": group.name, **({"superseded": [f"{kind}:{period}" for kind, period
                                                                                  in released.superseded]}
                                                                  if released.superseded else {})})
    return replace(released, change=change)


async def marked_files(session: AsyncSession, group: BulletinGroup) -> frozenset[str]:
    """The kinds of file (``bot.domain.chat_rights``: photos, documents) the bot was found unable to send to
    ``group``: none when it is not marked, else those its mark keeps (both, for a mark that keeps none)."""
    if group.files_refused_at is None:
        return frozenset()
    return frozenset((group.files_refused or "").split(",")) & FILE_KINDS or FILE_KINDS


async def files_marks(session: AsyncSession, groups: list[BulletinGroup]) -> dict[int, frozenset[str]]:
    """``marked_files`` of each of ``groups`` marked unable to take some kind of file, by the group's id."""
    return {group.id: await marked_files(session, group) for group in groups if group.files_refused_at is not None}


async def mark_files(session: AsyncSession, *, group: BulletinGroup, refused: frozenset[str], at: datetime,
                     actor: Actor) -> int | None:
    """The bot may send text to ``group`` but not the kinds of file in ``refused`` (none: it may send all): its
    bulletins go there with a line in place of each such file. The mark keeps when it was first found and which
    kinds it is of now (``marked_files``); the audit says each change, whose id is returned. None when it was
    marked so before."""
    before = await marked_files(session, group)
    if refused == before:
        return None
    if refused:
        group.files_refused_at = group.files_refused_at or at
        group.files_refused = ",".join(sorted(refused))
        action, detail = "group.no_files", {"name": group.name, "kinds": sorted(refused)}
    else:
        group.files_refused_at, group.files_refused = None, None
        action, detail = "group.files_back", {"name": group.name, "kinds": sorted(before)}
    return await audit.record_id(session, actor=actor, at=at, action=action, object_type="group",
                                 object_key=f"{group.channel}:{group.chat_id}", detail=detail)
