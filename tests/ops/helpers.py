"""Helpers of the operations tests: scratch PostgreSQL databases, table dumps, chatting through the router."""

from __future__ import annotations

import asyncio
import os
import secrets
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from bot.app import Core
from bot.channels.console import bind_console
from bot.messages import Incoming
from bot.render import html_to_plain
from storage import people

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "bot" / "demo" / "projects_sample.xlsx"
# A Friday and a working day inside the sample ledger's year.
START = datetime(2026, 11, 20, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def server_url() -> str | None:
    """The PostgreSQL server to make scratch databases on (TEST_DATABASE_URL), async driver."""
    url = os.environ.get("TEST_DATABASE_URL", "").strip()
    if not url:
        return None
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+asyncpg://" + url[len(plain):]
    return url


def require_server() -> str:
    url = server_url()
    if url is None:
        pytest.skip("TEST_DATABASE_URL is not set")
    return url


def url_for_database(server: str, name: str) -> str:
    return make_url(server).set(database=name).render_as_string(hide_password=False)


@asynccontextmanager
async def scratch_postgres(*, migrate: bool = True) -> AsyncIterator[str]:
    """A fresh PostgreSQL database of its own (dropped afterwards), migrated to head: its URL."""
    from storage.migrate import upgrade

    server = require_server()
    name = f"diaodu_ops_{secrets.token_hex(6)}"
    admin = create_async_engine(server, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = url_for_database(server, name)
        try:
            if migrate:
                await asyncio.to_thread(upgrade, url)
            yield url
        finally:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


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
