"""Where the bot stands in a Telegram group (``membership``): from its own ChatMember there and what the group lets
every member send; an admin is above the group's permissions."""

from __future__ import annotations

from typing import Any

import pytest
from telegram import ChatMember, ChatPermissions

from bot.channels.telegram_standing import membership
from bot.domain.chat_rights import IN, MUTED, NO_DOCUMENTS, NO_FILES, NO_PHOTOS, OUT

BOT = {"id": 42, "first_name": "调度", "is_bot": True}
SENDS = ("can_send_messages", "can_send_audios", "can_send_documents", "can_send_photos", "can_send_videos",
         "can_send_video_notes", "can_send_voice_notes", "can_send_polls", "can_send_other_messages",
         "can_add_web_page_previews")
SILENT = ChatPermissions.no_permissions()
TEXT_ONLY = ChatPermissions(can_send_messages=True, can_send_photos=False, can_send_documents=False)
ALL = ChatPermissions.all_permissions()


def member(status: str, **fields: Any) -> ChatMember:
    """The bot's ChatMember as the Bot API sends it."""
    data: dict[str, Any] = {"user": BOT, "status": status}
    if status == "restricted":
        data.update(dict.fromkeys(SENDS, True))
        data.update({"is_member": True, "can_change_info": False, "can_invite_users": False,
                     "can_pin_messages": False, "can_manage_topics": False, "can_edit_tag": False,
                     "can_react_to_messages": True, "until_date": 0})
    elif status == "administrator":
        data.update(dict.fromkeys((
            "can_be_edited", "is_anonymous", "can_delete_messages", "can_manage_video_chats", "can_restrict_members",
            "can_promote_members", "can_change_info", "can_post_stories", "can_edit_stories",
            "can_delete_stories"), False))
        data.update({"can_manage_chat": True, "can_invite_users": True})
    elif status == "kicked":
        data["until_date"] = 0
    data.update(fields)
    found = ChatMember.de_json(data, None)
    assert found is not None
    return found


@pytest.mark.parametrize(("bot", "permissions", "where"), [
    (member("member"), None, IN),
    (member("member"), ALL, IN),
    (member("member"), SILENT, MUTED),  # "members may not send messages"
    (member("member"), TEXT_ONLY, NO_FILES),
    (member("administrator"), SILENT, IN),  # an admin is above the group's permissions
    (member("restricted", can_send_messages=False), None, MUTED),
    (member("restricted", can_send_photos=False), None, NO_PHOTOS),  # Telegram grants photos and documents apart
    (member("restricted", can_send_documents=False), ALL, NO_DOCUMENTS),
    (member("member"), ChatPermissions(can_send_messages=True, can_send_photos=False), NO_PHOTOS),
    (member("restricted", can_send_photos=False), ChatPermissions(can_send_documents=False), NO_FILES),
    (member("restricted"), TEXT_ONLY, NO_FILES),
    (member("restricted"), ALL, IN),
    (member("restricted", is_member=False), None, OUT),
    (member("kicked"), None, OUT),
    (member("left"), ALL, OUT),
])
def test_where_the_bot_stands(bot: ChatMember, permissions: ChatPermissions | None, where: str) -> None:
    assert membership(bot, permissions) == where
