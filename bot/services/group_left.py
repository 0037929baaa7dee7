"""The bot taken out of a bulletin group (removed by a member, or the group banned it): nothing sent there arrives
any more, so every active admin is told at once, with the two ways on (add the bot back, or remove the group),
rather than find out when a bulletin does not come, and once per removal: the same change delivered again (the
channel redelivers what it thinks was not received) tells nobody twice. A group that receives no bulletins is
nobody's business."""

from __future__ import annotations

from datetime import datetime

from bot.domain.messages import Reply
from bot.render import Renderer
from storage import outbox, people
from storage.db import Database
from storage.group_chats import group_of_chat


async def bot_left_group(db: Database, renderer: Renderer, *, channel: str, chat_id: str, title: str | None,
                         removal: str, at: datetime) -> bool:
    """Tell the admins the bot is out of the bulletin group of `chat_id`; False when it is no bulletin group.
    `removal` names this removal as the channel tells it (when and how: the same for the same change delivered
    again), `at` is now."""
    async with db.session() as session:
        group = await group_of_chat(session, channel=channel, chat_id=chat_id)
        if group is None:
            return False
        reply = Reply(html=renderer.render("group_left", group=group, title=title))
        admins = await people.active_admins(session)
        await outbox.enqueue_for_people(session, [
            outbox.PersonNotice(person_id=admin.id, reply=reply, key=f"group-left:{group.id}:{removal}:p{admin.id}")
            for admin in admins], now=at)
    return True
