"""/import's 确认 and the database's locks: every value is ready before the first write (on SQLite the write lock
is held only while the statements execute), and on PostgreSQL a change committed while 确认 checks and writes
cannot slip in between its check and its statements (it is seen, and the file previewed again).

The sample ledger has ZD2026-001 城北高速连接线 with an annual plan of 40,800 万元.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select, text, update

from bot.clock import FrozenClock
from bot.config import load_settings
from storage import audit
from storage.audit import Actor
from storage.db import Database
from storage.models import Project
from storage.types import Wan
from tests.admin.admin_support import ADMIN_NAME, Desk, wire_admin
from tests.admin.test_admin_import import annual_plan, ledger_csv, upload
from tests.databases import fresh_database
from tests.e2e.harness import START, build_core


async def test_confirm_makes_every_amount_ready_before_its_first_write(
        desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    """What SQLAlchemy would convert while the statements run (an amount into whole 元) is converted before the
    transaction's first INSERT, UPDATE or DELETE, so that the lock that write takes is held for the statements
    alone."""
    await desk.send(ADMIN_NAME, "/import", document=upload("台账.csv", ledger_csv("45000")))
    seen: list[str] = []
    convert = Wan.process_bind_param

    def noted(self: Wan, value: Any, dialect: object) -> Any:
        seen.append("amount")
        return convert(self, value, dialect)

    def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if sql.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            seen.append("write")

    monkeypatch.setattr(Wan, "process_bind_param", noted)
    event.listen(desk.core.db.engine.sync_engine, "before_cursor_execute", statement)
    try:
        done = await desk.press(ADMIN_NAME, "确认")
    finally:
        event.remove(desk.core.db.engine.sync_engine, "before_cursor_execute", statement)

    assert "导入完成" in done
    assert await annual_plan(desk) == Decimal(45000)
    assert "amount" in seen and "write" in seen
    assert "amount" not in seen[seen.index("write"):], seen


async def _waiting_for_a_lock(db: Database) -> None:
    """Until some transaction waits for a lock another one holds (PostgreSQL's pg_locks)."""
    for _ in range(200):
        async with db.session() as session:
            if await session.scalar(select(func.count()).select_from(text("pg_locks")).where(
                    text("NOT granted"))):
                return
        await asyncio.sleep(0.02)
    raise AssertionError("nobody waited for a lock")


async def test_a_change_committed_while_confirm_checks_is_seen_on_postgres(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Read committed lets each statement see what was committed when it starts: another admin's rename, written
    but not yet committed when 确认 reads the database again, committed just after, was written over by 确认's
    UPDATE (which waited for that row, then wrote the previewed name). Now 确认 waits for that change first, sees
    it, writes nothing and shows the preview made afresh; 确认 then imports it."""
    async with fresh_database("postgresql") as fresh:
        settings = load_settings(DATABASE_URL=fresh.url, DATA_DIR=str(tmp_path / "data"),
                                 TELEGRAM_BOT_TOKEN="123456:admin-desk", TELEGRAM_BOT_USERNAME="diaodu_bot",
                                 _env_file=None)
        core = await build_core(settings, FrozenClock(START), url=fresh.url)
        wire_admin(core.router, monkeypatch)
        desk = Desk(core)
        other = Database(fresh.url)
        try:
            preview = await desk.send(ADMIN_NAME, "/import", document=upload("台账.csv", ledger_csv("45000")))
            assert "导入预览" in preview and "更新 1" in preview
            async with other.session() as session:  # another admin's rename, committed at the end of the block
                await session.execute(update(Project).where(Project.code == "ZD2026-001").values(name="改名后的项目"))
                await audit.record(session, actor=Actor(label="另一位管理员", channel="console"), at=START,
                                   action="project.update", object_type="project", object_key="ZD2026-001",
                                   detail={"field": "name", "before": "城北高速连接线", "after": "改名后的项目"})
                confirming = asyncio.create_task(desk.press(ADMIN_NAME, "确认"))
                await _waiting_for_a_lock(other)
            stale = await confirming

            assert "未导入：预览之后项目、人员或单位已有变动" in stale, stale
            assert "导入预览（尚未写入）" in stale and "改名后的项目" in stale
            async with other.session() as session:
                assert await session.scalar(select(Project.name).where(Project.code == "ZD2026-001")) == "改名后的项目"
            assert await annual_plan(desk) == Decimal(40800)  # nothing written
            assert "导入完成" in await desk.press(ADMIN_NAME, "确认")
            assert await annual_plan(desk) == Decimal(45000)
        finally:
            await other.dispose()
            await core.db.dispose()
