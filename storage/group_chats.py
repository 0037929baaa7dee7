"""A group chat whose id changed: Telegram gives a group upgraded to a supergroup a new chat id. The bulletin
group registered under the old id moves to the new one, and so do the notices still waiting for it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit
from storage.audit import Actor
from storage.models import BulletinGroup, OutboxMessage
from storage.outbox import PENDING


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
