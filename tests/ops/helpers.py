"""Helpers of the operations tests: scratch PostgreSQL databases, table dumps, chatting through the router."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.app import Core
from bot.channels.console import bind_console
from bot.domain.messages import Incoming
from bot.render import html_to_plain
from storage import people
from tests.databases import database_of_its_own

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "bot" / "demo" / "projects_sample.xlsx"
# A Friday and a working day inside the sample ledger's year.
START = datetime(2026, 11, 20, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@asynccontextmanager
async def scratch_postgres(*, migrate: bool = True) -> AsyncIterator[str]:
    """A fresh PostgreSQL database of its own (dropped afterwards), migrated to head: its URL."""
    from storage.migrate import upgrade

    async with database_of_its_own("diaodu_ops") as url:
        if migrate:
            await asyncio.to_thread(upgrade, url)
        yield url


def dump_tables(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table of a SQLite file, in rowid order."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        return {name: conn.execute(f'SELECT * FROM "{name}" ORDER BY rowid').fetchall() for name in names}
    finally:
        conn.close()


async def console_account(core: Core, name: str) -> str:
    """Bind (once) the console account of a person in the roster; its external id."""
    async with core.db.session() as session:
        [person] = await people.find_people_by_name(session, name=name)
    return await bind_console(core.db, person, now=core.clock.now())


async def say(core: Core, external_id: str, line: str) -> str:
    """One line typed in the console, through the real router: the replies as plain text."""
    msg = Incoming(channel="console", user_id=external_id, chat_id=external_id, text=line)
    outcome = await core.router.handle(msg)
    return "\n".join(html_to_plain(r.html) for r in outcome.replies)
