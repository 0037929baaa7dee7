"""WeCom end to end: the same MsgId delivered to another process (or after a restart, when the channel's
own memory of it is gone) stores one report; a report that cannot be written in time is answered that it
was not saved; callbacks are answered while another writer holds the database, and handled, each once and
in order, when it lets go; a full queue is answered at once."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from decimal import Decimal
from pathlib import Path

import pytest

from bot.app import Core
from bot.clock import FrozenClock
from bot.config import Settings
from storage.db import Database
from tests.e2e.harness import running
from tests.fakes.wecom_api import FakeWeCom
from tests.wecom.harness import IDLE_WAIT, WeComHarness

USER = "haofang"
CODE = "ZD2026-001"
# How long a callback may take to be answered in these tests, while the database waits up to LOCK_WAIT for its
# write lock: an answer that waited for the database would come after LOCK_WAIT, and fail.
ANSWER_WITHIN, LOCK_WAIT = 3.0, 30.0


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


@contextmanager
def writes_held(path: Path) -> Iterator[None]:
    """Another writer holding the SQLite file's write lock (as a bulletin's transaction would) until the end."""
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


async def answer(harness: WeComHarness, inner_xml: str) -> tuple[int, str]:
    """WeCom posts a message to the callback: the answer, which must come within ANSWER_WITHIN seconds."""
    return await asyncio.wait_for(harness.fake.post_callback(harness.url, inner_xml), ANSWER_WITHIN)


def texts_handled(*harnesses: WeComHarness) -> list[str]:
    return [i.text or "" for h in harnesses for i in h.spy.handled if not (i.text or "").startswith("/start")]


async def test_callbacks_are_answered_while_the_database_is_held_and_handled_once_after(
        fake_wecom: FakeWeCom, wc_settings: Settings, frozen_clock: FrozenClock, shared_file: Path) -> None:
    report = fake_wecom.text_xml(USER, f"/report {CODE} 850 桩基完成", msg_id="7101")
    async with (process(shared_file, fake_wecom, wc_settings, frozen_clock, lock_wait=LOCK_WAIT) as one,
                process(shared_file, fake_wecom, wc_settings, frozen_clock, lock_wait=LOCK_WAIT) as two):
        await one.bind(USER, "郝芳")
        mark = len(fake_wecom.calls)
        with writes_held(shared_file):
            assert await answer(one, report) == (200, "")
            assert await answer(one, report) == (200, "")  # WeCom's retry: new nonce and signature, same MsgId
            assert await answer(two, report) == (200, "")  # the same message, posted to the other process
            await asyncio.sleep(0.3)
            assert texts_handled(one, two) == [] and fake_wecom.sent_to(USER, since=mark) == []  # waiting
        await one.channel.idle(IDLE_WAIT)
        await two.channel.idle(IDLE_WAIT)

        assert [r.amount for r in await one.reports()] == [Decimal(850)]
        assert texts_handled(one, two) == [f"/report {CODE} 850 桩基完成"]
        assert ["已记录填报" in text for text in fake_wecom.shown(USER, since=mark)] == [True]
        assert one.channel.stats["duplicate"] + two.channel.stats["duplicate"] == 2
        assert one.channel.stats["dedupe_unavailable"] + two.channel.stats["dedupe_unavailable"] == 0
        assert one.channel.stats["failed"] + two.channel.stats["failed"] == 0


async def test_a_users_messages_answered_while_the_database_is_held_are_handled_in_order(
        fake_wecom: FakeWeCom, wc_settings: Settings, frozen_clock: FrozenClock, shared_file: Path) -> None:
    said = ["/help", f"/report {CODE} 850 桩基完成", "/cancel", f"/report {CODE} 900 承台完成"]
    async with process(shared_file, fake_wecom, wc_settings, frozen_clock, lock_wait=LOCK_WAIT) as wecom:
        await wecom.bind(USER, "郝芳")
        with writes_held(shared_file):
            for text in said:
                assert await answer(wecom, fake_wecom.text_xml(USER, text)) == (200, "")
        await wecom.channel.idle(IDLE_WAIT)
        assert texts_handled(wecom) == said
        assert wecom.channel.stats["failed"] == 0


async def test_a_full_queue_is_answered_at_once_and_wecoms_retry_finds_room(
        fake_wecom: FakeWeCom, wc_settings: Settings, frozen_clock: FrozenClock, shared_file: Path) -> None:
    async with process(shared_file, fake_wecom, wc_settings, frozen_clock, lock_wait=LOCK_WAIT) as wecom:
        await wecom.bind(USER, "郝芳")
        wecom.channel.max_pending = 2
        messages = [fake_wecom.text_xml(USER, text, msg_id=f"720{n}")
                    for n, text in enumerate(["/help", "/cancel", f"/report {CODE} 850 桩基完成"])]
        with writes_held(shared_file):
            assert [await answer(wecom, m) for m in messages] == [(200, ""), (200, ""), (503, "")]
            assert await answer(wecom, messages[0]) == (200, "")  # a copy of a queued message: acknowledged
        await wecom.channel.idle(IDLE_WAIT)
        assert texts_handled(wecom) == ["/help", "/cancel"]
        assert (wecom.channel.stats["busy"], wecom.channel.stats["duplicate"]) == (1, 1)

        retried = await wecom.exchange(USER, messages[2])  # the one refused is not remembered as seen
        assert "已记录填报" in retried
        assert [r.amount for r in await wecom.reports()] == [Decimal(850)]
