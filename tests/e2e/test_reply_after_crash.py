"""A reply is not lost to a crash: the process dies after a report was stored and before its confirmation went
out (kill -9, a power cut), and the confirmation still arrives, once.

The real channel and PTB against the fake Bot API, on SQLite and PostgreSQL: the send hangs, the handling is
killed (its task cancelled, as the process's death would end it), and a new channel on the same database is
handed the same update again, as Telegram re-delivers it. The re-delivery stores nothing and says nothing at
once (the first process might still be sending); the copy of the reply kept with the report goes out through
the outbox once ``storage.kept_replies.GUARD`` has passed. Without a crash, the copy is taken back: nothing is
answered twice, not even by a double delivery racing the first one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from sqlalchemy import select
from telegram import Update

from bot.app import Core
from bot.channels.telegram_transport import TelegramTransport
from bot.clock import FrozenClock
from bot.config import Settings
from bot.services.ledger_import import import_ledger_files
from bot.services.outbox import OutboxSender
from storage.kept_replies import GUARD
from storage.models import OutboxMessage
from tests.databases import BACKENDS, fresh_database
from tests.e2e.harness import SAMPLE_LEDGER, TEST_ACTOR, TelegramHarness, running
from tests.fakes.bot_api import FakeBotAPI
from tests.polling import until

HAO = 1001
CONFIRMED = "已记录填报"
REPORT = "/report ZD2026-001 850万 桩基完成"


@pytest.fixture(params=BACKENDS)
async def core(request: pytest.FixtureRequest, tg_settings: Settings,
               frozen_clock: FrozenClock) -> AsyncIterator[Core]:
    async with fresh_database(request.param) as db:
        summary = await import_ledger_files(db, frozen_clock, [SAMPLE_LEDGER], actor=TEST_ACTOR)
        assert not summary.issues, summary.issues
        yield Core.build(tg_settings, clock=frozen_clock, db=db)


@pytest.fixture
async def hao(fake_api: FakeBotAPI, core: Core, tg_settings: Settings) -> AsyncIterator[TelegramHarness]:
    async with running(TelegramHarness(fake_api, core, tg_settings)) as harness:
        await harness.bind(HAO, "郝芳", "liaison")
        yield harness


def confirmations(fake: FakeBotAPI) -> list[str]:
    return [c["text"] for c in fake.calls_of("sendMessage", ok=True)
            if c.get("chat_id") == HAO and CONFIRMED in c["text"]]


def handling(tg: TelegramHarness, update: dict) -> asyncio.Task[None]:
    """The channel handling the update (as the webhook hands it over), in a task of its own."""
    return asyncio.create_task(tg.application.process_update(Update.de_json(update, tg.application.bot)))


async def stored(tg: TelegramHarness) -> None:
    async def check() -> bool:
        return bool(await tg.reports())
    await until(check, "the report stored")


async def outbox_after_guard(tg: TelegramHarness) -> None:
    """The outbox sender once the guard has passed (a process alive after the crash runs one); meanwhile the
    live channel has taken back the copies of the replies it sent."""
    await tg.channel.direct.releases.settled()
    tg.clock.advance(seconds=GUARD.total_seconds() + 1)
    await OutboxSender(tg.core.db, tg.clock, {"telegram": TelegramTransport(tg.application.bot)}).drain(30)


async def test_a_confirmation_killed_before_it_went_out_arrives_after_the_restart_once(
        hao: TelegramHarness, fake_api: FakeBotAPI, tg_settings: Settings) -> None:
    update = fake_api.text_update(HAO, REPORT)
    fake_api.inject_fault("sendMessage", status=502, delay=60)  # the reply's send hangs
    first = handling(hao, update)
    await stored(hao)  # committed: the report and its key
    await asyncio.sleep(0.2)  # the confirmation on its way
    first.cancel()  # the process dies
    with contextlib.suppress(asyncio.CancelledError):
        await first
    await hao.stop()
    fake_api.clear_faults()
    assert confirmations(fake_api) == []

    async with running(TelegramHarness(fake_api, hao.core, tg_settings)) as restarted:
        again = fake_api.enqueue_update(update)  # Telegram had no answer: the same update again
        await restarted.wait_processed(again["update_id"])
        assert confirmations(fake_api) == []  # not stored again, not answered at once
        assert [r.amount for r in await restarted.reports(withdrawn=None)] == [Decimal(850)]

        await outbox_after_guard(restarted)
        [text] = confirmations(fake_api)
        assert "850" in text
        await outbox_after_guard(restarted)  # and never again
        assert len(confirmations(fake_api)) == 1
        restarted.assert_nothing_failed()


async def test_a_confirmation_sent_is_not_sent_again_by_the_outbox(hao: TelegramHarness, fake_api: FakeBotAPI) -> None:
    assert CONFIRMED in await hao.send(HAO, REPORT)
    async with hao.core.db.session() as session:
        assert (await session.scalars(select(OutboxMessage))).all() == []  # the kept copy was taken back
    await outbox_after_guard(hao)
    assert len(confirmations(fake_api)) == 1


async def test_a_double_delivery_while_the_first_is_answered_is_answered_once(
        hao: TelegramHarness, fake_api: FakeBotAPI) -> None:
    update = fake_api.text_update(HAO, REPORT)
    fake_api.inject_fault("sendMessage", status=None, delay=1.0, times=1)  # a slow send, which gets through
    first = handling(hao, update)
    await stored(hao)
    await handling(hao, update)  # delivered again meanwhile: stores nothing, says nothing
    assert confirmations(fake_api) == []
    await first
    assert len(confirmations(fake_api)) == 1
    await outbox_after_guard(hao)
    assert len(confirmations(fake_api)) == 1
    assert len(await hao.reports(withdrawn=None)) == 1
