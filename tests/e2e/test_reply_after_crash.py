"""A message handled once is answered once: a delivery of it again stores nothing, and is answered with the replies
kept with it only when the process that handled it is known to have died with it in hand (a journal replay says
so: ``Incoming.first_died``); any other delivery again, after a crash or not, says nothing.

The real channel and PTB against the fake Bot API, on SQLite and PostgreSQL: for a crash, the send hangs, the
handling is killed (its task cancelled, as the process's death would end it), and a new core (a new process) on the
same database is handed the same update again; for two live processes, a second core on the same database is handed
the webhook's double delivery of an update the first one answered.

The re-delivery is the test's: polling tells Telegram an update was received before handling it, so after a real
crash Telegram does not deliver it again (the last test shows it); the process's journal hands it back instead
(tests/e2e/test_telegram_inbox.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal

import pytest
from telegram import Update

from bot.app import Core
from bot.channels.telegram import message_key
from bot.channels.telegram_transport import TelegramTransport
from bot.clock import FrozenClock
from bot.config import Settings
from bot.domain.messages import Incoming
from bot.services.ledger_import import import_ledger_files
from bot.services.outbox import OutboxSender
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


async def killed_after_the_commit(tg: TelegramHarness, fake: FakeBotAPI, update: dict) -> None:
    """The update handled and its report stored, the process killed while the confirmation was on its way."""
    fake.inject_fault("sendMessage", status=502, delay=60)  # the reply's send hangs
    first = handling(tg, update)

    async def stored() -> bool:
        return bool(await tg.reports())
    await until(stored, "the report stored")
    await asyncio.sleep(0.2)  # the confirmation on its way
    first.cancel()  # the process dies
    with contextlib.suppress(asyncio.CancelledError):
        await first
    await tg.stop()
    fake.clear_faults()
    assert confirmations(fake) == []


def restarted(tg: TelegramHarness, fake: FakeBotAPI, settings: Settings) -> TelegramHarness:
    """A new process on the same database."""
    return TelegramHarness(fake, Core.build(settings, clock=tg.clock, db=tg.core.db), settings)


async def delivered_again(tg: TelegramHarness, fake: FakeBotAPI, update: dict) -> None:
    """Telegram, told of no answer, delivers the same update (the same update_id) again."""
    tg.processed.discard(update["update_id"])
    again = fake.enqueue_update(update)
    await tg.wait_processed(again["update_id"])


async def outbox_sends(tg: TelegramHarness) -> None:
    """What the outbox sender of a live process sends now."""
    await OutboxSender(tg.core.db, tg.clock, {"telegram": TelegramTransport(tg.application.bot)}).drain(30)


LATER = 600  # seconds: long after any send of the first process would have ended


async def test_a_redelivery_after_a_crash_stores_nothing_and_says_nothing_without_a_journal(
        hao: TelegramHarness, fake_api: FakeBotAPI, tg_settings: Settings) -> None:
    """Nothing says the first process died (Telegram's channel keeps no journal): it may be alive and sending."""
    update = fake_api.text_update(HAO, REPORT)
    await killed_after_the_commit(hao, fake_api, update)

    async with running(restarted(hao, fake_api, tg_settings)) as after:
        await delivered_again(after, fake_api, update)
        after.clock.advance(seconds=LATER)
        await delivered_again(after, fake_api, update)
        await outbox_sends(after)
        assert confirmations(fake_api) == []
        assert [r.amount for r in await after.reports(withdrawn=None)] == [Decimal(850)]  # not stored again
        after.assert_nothing_failed()


async def test_a_message_handed_back_by_a_dead_process_journal_is_answered_with_its_kept_replies_once(
        hao: TelegramHarness, fake_api: FakeBotAPI, tg_settings: Settings) -> None:
    """The one entry point a journal replay calls: the router, with ``Incoming.first_died``."""
    update = fake_api.text_update(HAO, REPORT)
    await killed_after_the_commit(hao, fake_api, update)
    msg = Incoming(channel="telegram", user_id=str(HAO), chat_id=str(HAO), text=REPORT,
                   key=message_key(HAO, update["message"]["message_id"]))

    async with running(restarted(hao, fake_api, tg_settings)) as after:
        assert (await after.core.router.handle(msg)).replies == []  # not known dead: nothing
        [reply] = (await after.core.router.handle(replace(msg, first_died=True))).replies
        assert CONFIRMED in reply.html and "850" in reply.html
        assert (await after.core.router.handle(replace(msg, first_died=True))).replies == []  # taken: once
        assert len(await after.reports(withdrawn=None)) == 1


async def test_a_redelivery_to_another_live_process_is_not_answered_again(
        hao: TelegramHarness, fake_api: FakeBotAPI, tg_settings: Settings) -> None:
    """Two processes behind a webhook: A stores and confirms a report, B gets Telegram's copy of the update."""
    update = fake_api.enqueue_update(fake_api.text_update(HAO, REPORT))
    await hao.wait_processed(update["update_id"])
    assert len(confirmations(fake_api)) == 1

    async with running(restarted(hao, fake_api, tg_settings)) as other:  # A still running
        await handling(other, update)
        await outbox_sends(other)
        other.clock.advance(seconds=LATER)
        await handling(other, update)
        await outbox_sends(other)
        assert len(confirmations(fake_api)) == 1
        assert len(await other.reports(withdrawn=None)) == 1
        other.assert_nothing_failed()


async def test_a_redelivery_of_a_message_answered_is_not_answered_again(
        hao: TelegramHarness, fake_api: FakeBotAPI) -> None:
    update = fake_api.enqueue_update(fake_api.text_update(HAO, REPORT))
    await hao.wait_processed(update["update_id"])
    assert len(confirmations(fake_api)) == 1

    await delivered_again(hao, fake_api, update)
    hao.clock.advance(seconds=LATER)
    await outbox_sends(hao)
    assert len(confirmations(fake_api)) == 1
    assert len(await hao.reports(withdrawn=None)) == 1


async def test_a_double_delivery_while_the_first_is_answered_is_answered_once(
        hao: TelegramHarness, fake_api: FakeBotAPI) -> None:
    update = fake_api.text_update(HAO, REPORT)
    fake_api.inject_fault("sendMessage", status=None, delay=1.0, times=1)  # a slow send, which gets through
    first = handling(hao, update)

    async def stored() -> bool:
        return bool(await hao.reports())
    await until(stored, "the report stored")
    await handling(hao, update)  # delivered again meanwhile: stores nothing, says nothing
    assert confirmations(fake_api) == []
    await first
    assert len(confirmations(fake_api)) == 1
    hao.clock.advance(seconds=LATER)
    await outbox_sends(hao)
    assert len(confirmations(fake_api)) == 1
    assert len(await hao.reports(withdrawn=None)) == 1


async def test_telegram_is_told_an_update_was_received_before_its_changes_are_committed(
        hao: TelegramHarness, fake_api: FakeBotAPI) -> None:
    """Why the updates fetched are journaled (README): polling confirms an update (the next getUpdates' offset)
    before it is handled, so after a crash Telegram has no update left to deliver again."""
    fake_api.inject_fault("sendMessage", status=None, delay=1.0, times=1)  # the reply still on its way
    update = fake_api.enqueue_update(fake_api.text_update(HAO, REPORT))

    async def stored() -> bool:
        return bool(await hao.reports())
    await until(stored, "the report stored")
    assert update["update_id"] not in [u["update_id"] for u in fake_api.updates]  # confirmed already
    assert confirmations(fake_api) == []
    await hao.wait_processed(update["update_id"])
    assert len(confirmations(fake_api)) == 1
