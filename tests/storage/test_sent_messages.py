"""storage.sent_messages: which message the bot sent was about which projects, found by its id in its chat (and
channel) until the housekeeping forgets it, once older than KEPT."""

from __future__ import annotations

from datetime import datetime

from bot.clock import SHANGHAI
from storage import sent_messages
from storage.db import Database
from storage.sent_messages import KEPT

NOW = datetime(2026, 11, 20, 16, 0, tzinfo=SHANGHAI)


async def test_a_message_is_found_by_its_id_in_its_chat_until_it_is_too_old(db: Database) -> None:
    async with db.session() as session:
        await sent_messages.remember(session, channel="telegram", chat_id="1001", message_ids=["7", "8"],
                                     about=["ZD2026-001", "ZD2026-002"], now=NOW)
    async with db.session() as session:
        assert await sent_messages.about(session, channel="telegram", chat_id="1001", message_id="8") == (
            "ZD2026-001", "ZD2026-002")
        assert await sent_messages.about(session, channel="telegram", chat_id="1002", message_id="8") == ()
        assert await sent_messages.about(session, channel="wecom", chat_id="1001", message_id="8") == ()
        assert await sent_messages.about(session, channel="telegram", chat_id="1001", message_id="9") == ()
    async with db.session() as session:  # writing more keeps the old ones: they go with the daily housekeeping
        await sent_messages.remember(session, channel="telegram", chat_id="1001", message_ids=["30"],
                                     about=["ZD2026-003"], now=NOW + KEPT + KEPT / 7)
    async with db.session() as session:
        assert await sent_messages.about(session, channel="telegram", chat_id="1001", message_id="7") == (
            "ZD2026-001", "ZD2026-002")
        assert await sent_messages.forget_old(session, now=NOW + KEPT) == 0
        assert await sent_messages.forget_old(session, now=NOW + KEPT + KEPT / 7) == 2
    async with db.session() as session:
        assert await sent_messages.about(session, channel="telegram", chat_id="1001", message_id="7") == ()
        assert await sent_messages.about(session, channel="telegram", chat_id="1001", message_id="30") == (
            "ZD2026-003",)
