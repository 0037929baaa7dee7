"""Where the bot stands in a Telegram group (``bot.domain.chat_rights``): read from its ChatMember there and what
the group lets every member send (``membership``), asked of the Bot API (``standing``), or told by Telegram's
my_chat_member update (``membership_changed``: the bulletin group is marked, or its marks go, and the admins are
told)."""

from __future__ import annotations

import logging

from telegram import Bot, ChatMember, ChatMemberRestricted, ChatMemberUpdated, ChatPermissions
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.domain import labels
from bot.domain.chat_ids import split_address
from bot.domain.chat_rights import FILE_KINDS, IN, MUTED, OUT, SENDING, refused_files, standing_of
from bot.services.group_left import bot_back_in_group, bot_left_group
from bot.services.group_rights import files_found
from handlers.context import Deps
from storage.audit import Actor

log = logging.getLogger(__name__)
CHANNEL = "telegram"  # the channel's name, in addresses and records


def membership(member: ChatMember, permissions: ChatPermissions | None = None) -> str:
    """Where the bot stands in a group, from its ChatMember there and what the group lets every member send
    (``permissions``, getChat's; an admin is above them): OUT (removed, banned, or restricted and no member any
    more), MUTED (in the group, without the right to send messages), NO_PHOTOS, NO_DOCUMENTS or NO_FILES (it may send
    messages, not photos, not documents, or neither: Telegram grants them apart) or IN (it may send all)."""
    if member.status in (ChatMember.LEFT, ChatMember.BANNED):
        return OUT
    if member.status in (ChatMember.OWNER, ChatMember.ADMINISTRATOR):
        return IN
    if isinstance(member, ChatMemberRestricted) and not member.is_member:
        return OUT
    granted = [g for g in (member if isinstance(member, ChatMemberRestricted) else None, permissions) if g is not None]
    return standing_of(messages=all(g.can_send_messages is not False for g in granted),
                       photos=all(g.can_send_photos is not False for g in granted),
                       documents=all(g.can_send_documents is not False for g in granted))


async def standing(bot: Bot, chat_id: str) -> str | None:
    """Where the bot stands in group `chat_id` (``membership``), as the Bot API tells of the bot's own membership
    (getChatMember) and of what the group lets its members send (getChat): OUT when the chat is unknown to it; None
    when the Bot API could not be asked, or the bot does not know its own id yet (getMe has not answered since
    start)."""
    target = split_address(chat_id)[0]
    try:
        member = await bot.get_chat_member(target, bot.id)
    except (Forbidden, BadRequest):
        return OUT
    except (TelegramError, RuntimeError):
        log.info("could not ask whether the bot is in group %s", chat_id, exc_info=True)
        return None
    if member.status in (ChatMember.OWNER, ChatMember.ADMINISTRATOR) or membership(member) == OUT:
        return membership(member)
    try:
        permissions = (await bot.get_chat(target)).permissions
    except (Forbidden, BadRequest):
        return OUT
    except TelegramError:
        log.info("could not ask what group %s lets its members send", chat_id, exc_info=True)
        return None
    return membership(member, permissions)


async def _permissions(bot: Bot, chat_id: int) -> ChatPermissions | None:
    """What group ``chat_id`` lets every member send (getChat); None when the Bot API could not tell."""
    try:
        return (await bot.get_chat(chat_id)).permissions
    except TelegramError:
        log.info("could not ask what group %s lets its members send", chat_id, exc_info=True)
        return None


async def membership_changed(deps: Deps, bot: Bot, change: ChatMemberUpdated) -> None:
    """The bot removed from a group (or banned there), or muted there (restricted, without the right to send
    messages): if it was a bulletin group, its bulletins stop and the admins are told. Added back to such a group,
    or allowed to send again: its bulletins go there again, and the admins are told. Allowed to send messages but not
    photos or documents (or allowed them again): the group is marked so (or no longer), and the admins are told; a
    bot that is no admin there is also held to what the group lets every member send, and while getChat cannot tell
    that, the group's marks for files stay as they are."""
    chat_id, title, new = str(change.chat.id), change.chat.title, change.new_chat_member
    actor = Actor(label=labels.label(labels.CHANNELS, "system"), channel=CHANNEL)
    where, known = membership(new), True
    if where in SENDING and new.status not in (ChatMember.OWNER, ChatMember.ADMINISTRATOR):
        permissions = await _permissions(bot, change.chat.id)
        where, known = membership(new, permissions), permissions is not None
    if where in (OUT, MUTED):
        if await bot_left_group(deps.db, deps.renderer, channel=CHANNEL, chat_id=chat_id, title=title,
                                at=deps.clock.now(), actor=actor, muted=where == MUTED):
            log.warning("%s bulletin group %s", "muted in" if where == MUTED else "taken out of", chat_id)
        return
    if await bot_back_in_group(deps.db, deps.renderer, channel=CHANNEL, chat_id=chat_id, title=title,
                               at=deps.clock.now(), actor=actor):
        log.warning("may send to bulletin group %s again", chat_id)
    if known:
        refused = refused_files(where)
        await files_found(deps.db, deps.renderer, channel=CHANNEL, chat_id=chat_id, actor=actor, at=deps.clock.now(),
                          refused=refused, allowed=FILE_KINDS - refused)
