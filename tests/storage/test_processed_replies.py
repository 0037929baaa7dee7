"""The replies kept with a handled message's key (storage.processed): read back as they were answered, taken by one
delivery however many race for them, and none kept for a message answered with nothing."""

from __future__ import annotations

import asyncio

from bot.domain.messages import Attachment, Button, Reply
from storage import processed
from storage.db import Database

from .factories import NOW

REPLIES = [Reply(html="✅ 已记录填报：本期完成投资 850 万元 &lt;桩基&gt;。",
                 buttons=((Button("更正", "cr:1"), Button("打开", "", url="https://example.org/p")),),
                 about=("ZD2026-001",)),
           Reply(html="📎 导出", attachment=Attachment(kind="document", path="exports/a.xlsx", filename="台账.xlsx"))]


async def test_the_replies_kept_with_a_key_read_back_as_answered(db: Database) -> None:
    async with db.session() as session:
        assert await processed.mark_handled(session, channel="telegram", key="1001:7", now=NOW, replies=REPLIES,
                                            by="process-a")
        assert await processed.mark_handled(session, channel="telegram", key="1001:8", now=NOW, by="process-a")
    async with db.session() as session:
        kept = await processed.kept_replies(session, channel="telegram", key="1001:7")
        assert await processed.kept_replies(session, channel="telegram", key="1001:8") is None  # nothing to say
    assert kept is not None
    assert (kept.replies, kept.by, kept.handled_at) == (REPLIES, "process-a", NOW)


async def test_of_deliveries_racing_for_the_kept_replies_one_takes_them(db: Database) -> None:
    async with db.session() as session:
        await processed.mark_handled(session, channel="wecom", key="msg-1", now=NOW, replies=REPLIES[:1], by="a")

    async def take() -> bool:
        async with db.session() as session:
            taken = await processed.take_replies(session, channel="wecom", key="msg-1")
            await asyncio.sleep(0.2)  # holding the row while the other delivery tries
            return taken

    assert sorted(await asyncio.gather(take(), take())) == [False, True]
    async with db.session() as session:
        assert await processed.kept_replies(session, channel="wecom", key="msg-1") is None
        assert not await processed.take_replies(session, channel="wecom", key="msg-1")
