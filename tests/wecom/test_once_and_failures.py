"""WeCom end to end: the same MsgId delivered to another process (or after a restart, when the channel's
own memory of it is gone) stores one report; a report that cannot be written in time is answered that it
was not saved."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path

import pytest

from bot.app import Core
from bot.clock import FrozenClock
from bot.config import Settings
from storage.db import Database
from tests.e2e.harness import running
from tests.fakes.wecom_api import FakeWeCom
from tests.wecom.harness import WeComHarness

USER = "haofang"
CODE = "ZD2026-001"


@pytest.fixture
def shared_file(ledger_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "shared.sqlite3"
    shutil.copyfile(ledger_template, path)
    return path


@asynccontextmanager
async def process(path: Path, fake: FakeWeCom, settings: Settings, clock: FrozenClock, *,
                  lock_wait: float = 5.0) -> AsyncIterator[WeComHarness]:
    """A WeCom channel and core of their own (a process) on the shared SQLite file."""
    core = Core.build(settings, clock=clock, db=Database(f"sqlite+aiosqlite:///{path}", lock_wait=lock_wait))
    try:
        async with running(WeComHarness(fake, core, settings)) as harness:
            yield harness
    finally:
        await core.db.dispose()


async def test_the_same_msgid_in_another_process_stores_one_report(
        fake_wecom: FakeWeCom, wc_settings: Settings, frozen_clock: FrozenClock, shared_file: Path) -> None:
    message = fake_wecom.text_xml(USER, f"/report {CODE} 850 桩基完成", msg_id="7001")
    async with process(shared_file, fake_wecom, wc_settings, frozen_clock) as first:
        await first.bind(USER, "郝芳")
        assert "已记录填报" in await first.exchange(USER, message)
    async with process(shared_file, fake_wecom, wc_settings, frozen_clock) as second:  # e.g. after a restart
        again = await second.exchange(USER, message)
        assert again.texts == []  # answered the first time; not stored, not answered again
        assert [r.amount for r in await second.reports()] == [Decimal(850)]
        assert second.channel.stats["failed"] == 0


@pytest.mark.handler_failures
async def test_a_report_meeting_a_held_write_lock_is_answered_not_saved(
        fake_wecom: FakeWeCom, wc_settings: Settings, frozen_clock: FrozenClock, shared_file: Path) -> None:
    async with process(shared_file, fake_wecom, wc_settings, frozen_clock, lock_wait=0.3) as wecom:
        await wecom.bind(USER, "郝芳")
        holder = sqlite3.connect(shared_file, isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")
            failed = await wecom.send(USER, f"/report {CODE} 850 桩基完成")
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert "没有处理成功" in failed and "未保存" in failed
        assert await wecom.reports(withdrawn=None) == []
        assert "已记录填报" in await wecom.send(USER, f"/report {CODE} 850 桩基完成")
