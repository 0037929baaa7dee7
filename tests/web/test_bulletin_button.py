"""A bulletin carries the 驾驶舱 button under its last part when the web pages are configured: a link to the
pages in a Telegram group, a button asking for one's own sign-in link in a person's private chat."""

from __future__ import annotations

from pathlib import Path

from jobs import digests
from storage.db import Database
from tests.digest.test_digest_jobs import GROUP, MONDAY_23, RENDERER, W47, local, outbox_rows, seed


async def test_the_last_part_of_a_bulletin_offers_the_pages(tmp_path: Path) -> None:
    db = Database("sqlite+aiosqlite://")
    await db.create_all()
    try:
        await seed(db)
        await digests.produce(db, RENDERER, period=W47, now=local(MONDAY_23), files_root=tmp_path,
                              web_url="https://dd.example.gov.cn")
        rows = [r for r in await outbox_rows(db) if r.payload["html"]]
    finally:
        await db.dispose()
    by_chat = {r.chat_id: r.payload["buttons"] for r in rows}
    assert by_chat[GROUP] == [[{"label": "打开驾驶舱", "data": "", "url": "https://dd.example.gov.cn/web/"}]]
    assert by_chat["4001"] == [[{"label": "在驾驶舱中查看", "data": "web:/web/"}]]  # 刘文华's digest
    assert by_chat["5001"] == [[{"label": "在驾驶舱中查看", "data": "web:/web/"}]]  # 王立军's summary


async def test_no_button_without_the_pages(tmp_path: Path) -> None:
    db = Database("sqlite+aiosqlite://")
    await db.create_all()
    try:
        await seed(db)
        await digests.produce(db, RENDERER, period=W47, now=local(MONDAY_23), files_root=tmp_path)
        assert all(not r.payload["buttons"] for r in await outbox_rows(db))
    finally:
        await db.dispose()
