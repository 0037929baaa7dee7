"""End to end over the fake Bot API: a report counts once and a failed message is answered.

- one report per project and day: a second one the same day is stored only after 确认, shown next to the
  first, and replaces it (the first kept, no longer counted);
- the same update delivered twice (a webhook re-delivery, to this process or another one) stores once and
  is answered once;
- a report that cannot be written in time (another connection holds SQLite's write lock past the bound)
  is answered "not saved, try again", with a log line naming the update, and nothing is stored.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import Core
from bot.channels.telegram import webhook_handler
from bot.clock import FrozenClock
from bot.config import Settings
from storage import people
from storage.db import Database
from tests.e2e.harness import TelegramHarness, running
from tests.fakes.bot_api import FakeBotAPI

HAO = 1001
ADMIN = 9009
CODE = "ZD2026-001"
NOT_SAVED = "没有处理成功"
SECRET = "s3cret-token"


@pytest.fixture
async def hao(telegram: TelegramHarness) -> TelegramHarness:
    await telegram.bind(HAO, "郝芳", "liaison")
    return telegram


async def test_a_second_report_the_same_day_replaces_the_first_after_confirmation(hao: TelegramHarness) -> None:
    saved = await hao.send(HAO, f"/report {CODE} 850 桩基完成")
    assert "已记录填报" in saved

    asked = await hao.send(HAO, f"/report {CODE} 900 桩基完成,承台开挖")
    assert "今天（2026-11-20）已有一条填报" in asked
    assert "原填报：本期完成投资 850.0 万元，桩基完成" in asked and "郝芳" in asked
    assert "新填报：本期完成投资 900（未写单位，按万元计）= 900.0 万元，桩基完成,承台开挖" in asked
    assert asked.buttons == ["确认替换", "保留原填报"]
    assert [r.amount for r in await hao.reports()] == [Decimal(850)]  # nothing changed yet

    replaced = await hao.press(HAO, "确认替换")
    assert "已替换今天的填报：本期完成投资 850.0 万元 → 900（未写单位，按万元计）= 900.0 万元" in replaced
    assert "年度累计完成：26,951.0 万元" in replaced  # 26,051 before the year's reports + 900, not + 1,750
    [live] = await hao.reports()
    [old] = await hao.reports(withdrawn=True)
    assert (live.amount, live.replaces_id, old.amount) == (Decimal(900), old.id, Decimal(850))

    await hao.bind(ADMIN, "管理员(区重大项目办)", "admin")
    history = await hao.send(ADMIN, f"/audit {CODE}")
    assert "替换当天填报：850.0 万元 → 900.0 万元" in history and "填报进度：850.0 万元" in history  # both versions

    kept = await hao.send(HAO, f"/report {CODE} 1000 再报一次")
    assert "原填报：本期完成投资 900.0 万元" in kept
    assert "已保留原填报" in await hao.press(HAO, "保留原填报")
    assert [r.amount for r in await hao.reports()] == [Decimal(900)]
    assert len(await hao.reports(withdrawn=None)) == 2


async def test_the_guided_flow_asks_too_before_replacing(hao: TelegramHarness) -> None:
    await hao.send(HAO, f"/report {CODE} 850 桩基完成")
    await hao.send(HAO, "/report")
    await hao.press(HAO, f"{CODE} 城北高速连接线")
    await hao.send(HAO, "120")
    await hao.send(HAO, "承台施工")
    await hao.press(HAO, "完成（不再上传照片）")
    asked = await hao.press(HAO, "确认")
    assert "原填报：本期完成投资 850.0 万元" in asked
    assert "新填报：本期完成投资 120（未写单位，按万元计）= 120.0 万元，承台施工" in asked
    assert "已替换" in await hao.press(HAO, "确认替换")
    assert [r.amount for r in await hao.reports()] == [Decimal(120)]


@pytest.fixture
async def shared_file(ledger_template: Path, tmp_path: Path) -> Path:
    """A SQLite file holding the sample ledger, which several cores share as processes would."""
    path = tmp_path / "shared.sqlite3"
    shutil.copyfile(ledger_template, path)
    return path


@asynccontextmanager
async def file_core(path: Path, settings: Settings, clock: FrozenClock, *, lock_wait: float = 5.0
                    ) -> AsyncIterator[Core]:
    """A core (a process) on the shared SQLite file, its writes waiting at most `lock_wait` for the lock."""
    core = Core.build(settings, clock=clock, db=Database(f"sqlite+aiosqlite:///{path}", lock_wait=lock_wait))
    try:
        yield core
    finally:
        await core.db.dispose()


@asynccontextmanager
async def webhook_client(harness: TelegramHarness) -> AsyncIterator[TestClient]:
    """The harness's application behind the production webhook endpoint."""
    http = web.Application()
    http.router.add_post("/telegram/hook", webhook_handler(harness.application, SECRET))
    async with TestClient(TestServer(http)) as client:
        yield client


async def _deliver(client: TestClient, harness: TelegramHarness, update: dict) -> None:
    """Post the update as Telegram does and wait until the application has handled it."""
    harness.processed.discard(update["update_id"])
    response = await client.post("/telegram/hook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert response.status == 200
    await harness.wait_processed(update["update_id"])


async def _bind(harness: TelegramHarness, user: int, name: str) -> None:
    harness.fake.user(user, first_name=name)
    async with harness.session() as session:
        [person] = await people.find_people_by_name(session, name=name)
        await people.bind_account(session, person=person, channel="telegram", external_id=str(user),
                                  chat_id=str(user), display_name=name, now=harness.clock.now())


async def test_a_redelivered_update_stores_one_report_in_this_process_or_another(
        fake_api: FakeBotAPI, tg_settings: Settings, frozen_clock: FrozenClock, shared_file: Path) -> None:
    async with file_core(shared_file, tg_settings, frozen_clock) as first_core, \
            file_core(shared_file, tg_settings, frozen_clock) as second_core:
        first = TelegramHarness(fake_api, first_core, tg_settings)
        second = TelegramHarness(fake_api, second_core, tg_settings)
        await first.start(polling=False)
        await second.start(polling=False)
        try:
            await _bind(first, HAO, "郝芳")
            update = fake_api.text_update(HAO, f"/report {CODE} 850 桩基完成")
            async with webhook_client(first) as to_first, webhook_client(second) as to_second:
                await _deliver(to_first, first, update)
                answered = len(fake_api.calls_of("sendMessage", chat_id=HAO))
                await _deliver(to_first, first, update)  # Telegram did not hear our 200: the same again
                await _deliver(to_second, second, update)  # ... and to another process
            assert [r.amount for r in await first.reports()] == [Decimal(850)]
            assert answered == 1 and len(fake_api.calls_of("sendMessage", chat_id=HAO)) == 1  # answered once
            # A new message with the same words is another report of the same day: asked, not stored.
            asked = fake_api.text_update(HAO, f"/report {CODE} 850 桩基完成")
            async with webhook_client(second) as to_second:
                await _deliver(to_second, second, asked)
            assert "已有一条填报" in fake_api.calls_of("sendMessage", chat_id=HAO)[-1]["text"]
            assert len(await second.reports(withdrawn=None)) == 1
        finally:
            await first.stop()
            await second.stop()
        assert not first.errors and not second.errors


@pytest.mark.handler_failures
async def test_a_report_meeting_a_held_write_lock_is_answered_not_saved(
        fake_api: FakeBotAPI, tg_settings: Settings, frozen_clock: FrozenClock, shared_file: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    async with file_core(shared_file, tg_settings, frozen_clock, lock_wait=0.3) as core, \
            running(TelegramHarness(fake_api, core, tg_settings)) as harness:
        await _bind(harness, HAO, "郝芳")
        holder = sqlite3.connect(shared_file, isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")  # e.g. a long import in another process, past the bound
            with caplog.at_level(logging.ERROR, logger="handlers.router"):
                failed = await harness.send(HAO, f"/report {CODE} 850 桩基完成")
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert NOT_SAVED in failed.text and "未保存" in failed.text and "重新发送" in failed.text
        assert await harness.reports(withdrawn=None) == []
        [record] = [r for r in caplog.records if r.name == "handlers.router"]
        assert "database is locked" in (record.exc_text or "") or record.exc_info is not None
        assert f"/report {CODE} 850" in record.getMessage() and "key=1001:" in record.getMessage()

        retried = await harness.send(HAO, f"/report {CODE} 850 桩基完成")  # the lock is free again
        assert "已记录填报" in retried
        assert [r.amount for r in await harness.reports()] == [Decimal(850)]
        assert not harness.errors


async def test_a_guided_report_carries_on_after_a_restart_and_what_came_meanwhile_is_answered(
        hao: TelegramHarness, tg_settings: Settings) -> None:
    """The bot restarted between two steps of /report (a deployment, a crash): the flow is kept in the
    database, so the next answer is read as its next step, by the new process."""
    await hao.send(HAO, "/report")
    assert "请输入本期完成投资" in await hao.press(HAO, "ZD2026-001 城北高速连接线")
    await hao.stop()
    sent_while_down = hao.fake.enqueue_text(HAO, "850")  # Telegram keeps it until someone polls again

    async with running(TelegramHarness(hao.fake, hao.core, tg_settings)) as restarted:
        await restarted.wait_processed(sent_while_down["update_id"])
        assert "请输入形象进度" in "\n".join(restarted.fake.texts(HAO)[-1:])
        await restarted.send(HAO, "桩基施工")
        summary = await restarted.press(HAO, "完成（不再上传照片）")
        assert "本期完成投资：850" in summary
        assert "已记录填报" in await restarted.press(HAO, "确认")
        restarted.assert_nothing_failed()
    assert [r.amount for r in await hao.reports()] == [Decimal(850)]
