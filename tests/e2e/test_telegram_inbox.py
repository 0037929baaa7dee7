"""A Telegram update fetched is not lost by a crash: the process polling the fake Bot API journals each batch
(``bot.channels.telegram_polling``) before the next getUpdates confirms it, so that the updates a process killed
had fetched and not handled (Telegram will not deliver them again) are handled by the next start, first and once.

The kill is simulated as in the other crash tests: the application stops handling (as the process's death ends
it) while polling goes on confirming what it fetched, then the journal is let go without the updates marked done
(its file and lines are what a ``kill -9`` leaves), and a new core (a new process) starts on the same database and
``DATA_DIR``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from telegram import Update

from bot.app import Core
from bot.channels.base import Progress
from bot.channels.inbox import Answered, Inbox, journal_lines, outstanding
from bot.channels.telegram import webhook_handler
from bot.channels.telegram_polling import JournaledPolling, UpdateJournal
from bot.clock import SHANGHAI, FrozenClock
from bot.config import Settings
from bot.services.ledger_import import import_ledger_files
from tests.databases import BACKENDS, fresh_database
from tests.e2e.harness import SAMPLE_LEDGER, TEST_ACTOR, TelegramHarness, running
from tests.fakes.bot_api import FakeBotAPI
from tests.polling import until

HAO = 1001
CONFIRMED = "已记录填报"
REPORT = "/report ZD2026-001 850万 桩基完成"
SECRET = "s3cret-token"


@pytest.fixture(params=BACKENDS)
async def core(request: pytest.FixtureRequest, tg_settings: Settings,
               frozen_clock: FrozenClock) -> AsyncIterator[Core]:
    async with fresh_database(request.param) as db:
        summary = await import_ledger_files(db, frozen_clock, [SAMPLE_LEDGER], actor=TEST_ACTOR)
        assert not summary.issues, summary.issues
        yield Core.build(tg_settings, clock=frozen_clock, db=db)


def to_hao(fake: FakeBotAPI, fragment: str) -> list[str]:
    return [c["text"] for c in fake.calls_of("sendMessage", ok=True) if c.get("chat_id") == HAO
            and fragment in c["text"]]


def journals(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.jsonl"))


async def killed_after_fetching(fake: FakeBotAPI, core: Core, settings: Settings, folder: Path) -> list[int]:
    """A process bound 郝芳, then fetched her report and a /help, had Telegram confirm them, and died before
    handling them; their update ids."""
    first = TelegramHarness(fake, core, settings, journal=folder)
    await first.start()
    await first.bind(HAO, "郝芳", "liaison")
    await first.application.stop()  # handles nothing from now on, as a process killed
    updates = [fake.enqueue_update(fake.text_update(HAO, REPORT)), fake.enqueue_update(fake.text_update(HAO, "/help"))]

    async def confirmed() -> bool:  # the next getUpdates' offset told Telegram: it will not deliver them again
        return not fake.updates and first.poller.offset == updates[-1]["update_id"] + 1
    await until(confirmed, "the updates fetched and confirmed")
    await first.poller.stop()
    assert first.channel.journal is not None
    await first.channel.journal.close()  # the lock goes with the process; what it wrote stays
    await first.application.shutdown()
    assert len(journals(folder)) == 1
    assert await first.reports() == [] and to_hao(fake, CONFIRMED) == []
    return [u["update_id"] for u in updates]


async def killed_while_answering(first: TelegramHarness, update: dict[str, Any],
                                 until_then: Callable[[], Awaitable[bool] | bool]) -> None:
    """``first``'s process fetched ``update`` (journaled, as polling does), handled it, and was killed with a send
    of the answer hanging (the test's fault) once ``until_then``; the faults are cleared afterwards."""
    await first.poller.stop()
    journal = first.channel.journal
    assert journal is not None
    fetched = Update.de_json(update, first.application.bot)
    journal.add([fetched])  # fetched, as polling journals it
    handling = asyncio.create_task(first.application.process_update(fetched))
    await until(until_then, "the answer under way")
    await asyncio.sleep(0.2)  # what follows on its way
    handling.cancel()  # the process dies
    with contextlib.suppress(asyncio.CancelledError):
        await handling
    await journal.close()  # the lock goes with the process; what it wrote stays
    await first.application.stop()
    await first.application.shutdown()
    first.fake.clear_faults()


def video_report(fake: FakeBotAPI) -> dict[str, Any]:
    """An update of 郝芳's: a site video captioned with a report, answered twice (the report confirmed, the video
    said not kept)."""
    update = fake.text_update(HAO, "")
    message = update["message"]
    del message["text"]
    message.update(video={"file_id": "v1", "file_unique_id": "v1", "width": 640, "height": 360, "duration": 9},
                   caption="ZD2026-001 850万 桩基完成")
    return update


def restarted(first: TelegramHarness, settings: Settings, folder: Path) -> TelegramHarness:
    """A new process on the same database and DATA_DIR."""
    return TelegramHarness(first.fake, Core.build(settings, clock=first.clock, db=first.core.db), settings,
                           journal=folder)


async def test_updates_fetched_by_a_process_killed_are_handled_once_after_the_restart(
        fake_api: FakeBotAPI, core: Core, tg_settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "telegram-inbox"
    update_ids = await killed_after_fetching(fake_api, core, tg_settings, folder)
    helps = len(to_hao(fake_api, "/report"))

    second = TelegramHarness(fake_api, Core.build(tg_settings, clock=core.clock, db=core.db), tg_settings,
                             journal=folder)
    await second.start()
    try:
        for update_id in update_ids:
            await second.wait_processed(update_id)
        assert len(await second.reports()) == 1
        assert len(to_hao(fake_api, CONFIRMED)) == 1
        assert len(to_hao(fake_api, "/report")) > helps  # the /help answered too
        replies = [c["text"] for c in fake_api.calls_of("sendMessage", ok=True) if c.get("chat_id") == HAO]
        assert CONFIRMED in replies[-2]  # in the order they were sent: the report first
    finally:
        await second.stop()
    assert journals(folder) == []  # each marked done, the journal deleted at the clean stop

    third = TelegramHarness(fake_api, Core.build(tg_settings, clock=core.clock, db=core.db), tg_settings,
                            journal=folder)
    await third.start()  # nothing left to handle again
    try:
        assert third.channel.journal is not None and third.channel.journal.inbox.recovered == []
    finally:
        await third.stop()
    assert len(await third.reports()) == 1 and len(to_hao(fake_api, CONFIRMED)) == 1


async def test_updates_handled_as_they_come_leave_the_journal_empty(
        fake_api: FakeBotAPI, core: Core, tg_settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "telegram-inbox"
    harness = TelegramHarness(fake_api, core, tg_settings, journal=folder)
    await harness.start()
    try:
        await harness.bind(HAO, "郝芳", "liaison")
        replies = await harness.send(HAO, REPORT)
        assert CONFIRMED in replies
        [journal] = journals(folder)
        assert journal.stat().st_size == 0  # emptied once nothing was left to handle
    finally:
        await harness.stop()
    assert journals(folder) == []
    assert len(await harness.reports()) == 1 and len(to_hao(fake_api, CONFIRMED)) == 1


async def test_a_report_fetched_before_midnight_and_handled_after_counts_for_its_day(
        fake_api: FakeBotAPI, core: Core, tg_settings: Settings, tmp_path: Path,
        frozen_clock: FrozenClock) -> None:
    folder = tmp_path / "telegram-inbox"
    frozen_clock.set(datetime(2026, 11, 20, 23, 50, tzinfo=SHANGHAI))
    update_ids = await killed_after_fetching(fake_api, core, tg_settings, folder)
    frozen_clock.advance(minutes=20)  # restarted on Saturday

    second = TelegramHarness(fake_api, Core.build(tg_settings, clock=frozen_clock, db=core.db), tg_settings,
                             journal=folder)
    await second.start()
    try:
        await second.wait_processed(update_ids[0])
        [report] = await second.reports()
        assert report.local_day == date(2026, 11, 20)  # Friday's, as fetched
    finally:
        await second.stop()


async def test_an_update_the_webhook_answered_is_handled_after_a_crash(
        fake_api: FakeBotAPI, core: Core, tg_settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "telegram-inbox"
    first = TelegramHarness(fake_api, core, tg_settings, journal=folder)
    await first.start()
    await first.bind(HAO, "郝芳", "liaison")
    await first.poller.stop()  # from now on updates come to the webhook
    await first.application.stop()  # handles nothing from now on, as a process killed
    http = web.Application()
    http.router.add_post("/telegram/hook", webhook_handler(first.application, SECRET, first.channel.journal))
    update = fake_api.text_update(HAO, REPORT)
    async with TestClient(TestServer(http)) as client:
        answer = await client.post("/telegram/hook", json=update,
                                   headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
        assert answer.status == 200  # Telegram will not post it again
    assert first.channel.journal is not None
    await first.channel.journal.close()
    await first.application.shutdown()
    assert await first.reports() == [] and to_hao(fake_api, CONFIRMED) == []

    second = TelegramHarness(fake_api, Core.build(tg_settings, clock=core.clock, db=core.db), tg_settings,
                             journal=folder)
    await second.start(polling=False)
    try:
        await second.wait_processed(update["update_id"])
        assert len(await second.reports()) == 1 and len(to_hao(fake_api, CONFIRMED)) == 1
    finally:
        await second.stop()
    assert journals(folder) == []


async def test_a_report_stored_before_the_crash_is_answered_once_with_its_kept_replies(
        fake_api: FakeBotAPI, core: Core, tg_settings: Settings, tmp_path: Path) -> None:
    """The process fetched the report, stored it and died while its confirmation was on its way: the restart
    finds the update in the journal and the report stored, stores nothing again, and sends the confirmation kept
    with it at once (the process that stored it is known to be dead), once."""
    folder = tmp_path / "telegram-inbox"
    first = TelegramHarness(fake_api, core, tg_settings, journal=folder)
    await first.start()
    await first.bind(HAO, "郝芳", "liaison")
    update = fake_api.text_update(HAO, REPORT)
    fake_api.inject_fault("sendMessage", status=502, delay=60)  # the confirmation's send hangs

    async def stored() -> bool:
        return bool(await first.reports())
    await killed_while_answering(first, update, until_then=stored)
    assert to_hao(fake_api, CONFIRMED) == []

    second = TelegramHarness(fake_api, Core.build(tg_settings, clock=core.clock, db=core.db), tg_settings,
                             journal=folder)
    await second.start()
    try:
        await second.wait_processed(update["update_id"])
        await until(lambda: len(to_hao(fake_api, CONFIRMED)) == 1, "the kept confirmation sent")
        await asyncio.sleep(0.5)
        assert len(to_hao(fake_api, CONFIRMED)) == 1 and len(await second.reports()) == 1
    finally:
        await second.stop()
    assert journals(folder) == []


async def test_an_answer_cut_off_by_a_kill_sends_only_its_replies_not_sent_after_the_restart(
        fake_api: FakeBotAPI, core: Core, tg_settings: Settings, tmp_path: Path) -> None:
    """A site video captioned with a report is answered twice (the report confirmed, the video said not kept); the
    process died while the second was on its way: the restart sends the second, not the confirmation again."""
    folder = tmp_path / "telegram-inbox"
    first = TelegramHarness(fake_api, core, tg_settings, journal=folder)
    await first.start()
    await first.bind(HAO, "郝芳", "liaison")
    mark = len(fake_api.calls)
    update = video_report(fake_api)
    fake_api.inject_fault("sendMessage", status=502, delay=60, after=1)  # the second reply hangs
    await killed_while_answering(first, update, until_then=lambda: len(to_hao(fake_api, CONFIRMED)) == 1)
    assert len(fake_api.texts(HAO, since=mark)) == 1

    second = restarted(first, tg_settings, folder)
    await second.start()
    try:
        await second.wait_processed(update["update_id"])
        await until(lambda: bool(to_hao(fake_api, "收到的视频未保存")), "the second reply sent")
        await asyncio.sleep(0.5)
        texts = fake_api.texts(HAO, since=mark)  # each once: the confirmation not again
        assert len(texts) == 2 and CONFIRMED in texts[0] and "收到的视频未保存" in texts[1], texts
        assert len(await second.reports()) == 1
    finally:
        await second.stop()
    assert journals(folder) == []


async def test_a_process_killed_right_after_its_answer_went_out_does_not_answer_again(
        fake_api: FakeBotAPI, core: Core, tg_settings: Settings, tmp_path: Path) -> None:
    """A new liaison's /start bound her, its answer went out, and the process was killed while it set her command
    menu: the restart does not welcome her twice."""
    folder = tmp_path / "telegram-inbox"
    first = TelegramHarness(fake_api, core, tg_settings, journal=folder)
    await first.start()
    code = await first.invite("郝芳", "liaison")
    fake_api.inject_fault("setMyCommands", status=502, delay=60)  # her menu's update hangs
    update = fake_api.text_update(HAO, f"/start {code}")
    await killed_while_answering(first, update, until_then=lambda: bool(to_hao(fake_api, "已绑定")))

    second = restarted(first, tg_settings, folder)
    await second.start()
    try:
        await second.wait_processed(fake_api.enqueue_text(HAO, "/help")["update_id"])  # (after any update recovered)
        assert len(to_hao(fake_api, "已绑定")) == 1
    finally:
        await second.stop()
    assert journals(folder) == []


async def test_the_webhook_refuses_updates_once_the_journal_is_closed_and_telegram_delivers_them_again(
        fake_api: FakeBotAPI, core: Core, tg_settings: Settings, tmp_path: Path) -> None:
    """The process stopping: its journal closed, the HTTP server not yet. An update answered 200 then would live
    in memory only and be lost; refused, Telegram delivers it again, to the next process."""
    folder = tmp_path / "telegram-inbox"
    first = TelegramHarness(fake_api, core, tg_settings, journal=folder)
    await first.start()
    await first.bind(HAO, "郝芳", "liaison")
    await first.poller.stop()
    await first.application.stop()
    assert first.channel.journal is not None
    await first.channel.journal.close()
    update = fake_api.text_update(HAO, REPORT)
    http = web.Application()
    http.router.add_post("/telegram/hook", webhook_handler(first.application, SECRET, first.channel.journal))
    async with TestClient(TestServer(http)) as client:
        answer = await client.post("/telegram/hook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
        assert answer.status == 503  # Telegram delivers it again later
    await first.application.shutdown()
    assert journals(folder) == [] and await first.reports() == []

    second = restarted(first, tg_settings, folder)
    await second.start(polling=False)
    assert second.channel.journal is not None
    http = web.Application()
    http.router.add_post("/telegram/hook", webhook_handler(second.application, SECRET, second.channel.journal))
    try:
        async with TestClient(TestServer(http)) as client:  # Telegram's next try
            answer = await client.post("/telegram/hook", json=update,
                                       headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
            assert answer.status == 200
            await second.wait_processed(update["update_id"])
        assert len(await second.reports()) == 1 and len(to_hao(fake_api, CONFIRMED)) == 1
    finally:
        await second.stop()


async def test_a_batch_journaled_and_not_confirmed_before_a_crash_is_answered_once(
        fake_api: FakeBotAPI, core: Core, tg_settings: Settings, tmp_path: Path) -> None:
    """The process fetched a /help and journaled it, and was killed before the next getUpdates confirmed it:
    Telegram delivers it again to the next start, whose journal hands it back too. It is answered once (a /help
    changes nothing: no record of it would stop a second answer)."""
    folder = tmp_path / "telegram-inbox"
    first = TelegramHarness(fake_api, core, tg_settings, journal=folder)
    await first.start()
    await first.bind(HAO, "郝芳", "liaison")
    await first.poller.stop()
    await first.application.stop()
    update = fake_api.enqueue_update(fake_api.text_update(HAO, "/help"))  # fetched, not yet confirmed
    assert first.channel.journal is not None
    first.channel.journal.add([Update.de_json(update, first.application.bot)])  # as polling journals a batch
    await first.channel.journal.close()  # killed before the next getUpdates
    await first.application.shutdown()
    helps = len(to_hao(fake_api, "/report"))

    second = restarted(first, tg_settings, folder)
    await second.start()
    try:
        await second.wait_processed(update["update_id"])
        await until(lambda: not fake_api.updates, "the update confirmed")
        mark = len(fake_api.calls)
        await fake_api.wait_for("getUpdates", count=2, since=mark, timeout=10)  # anything fetched since is handled
        assert len(to_hao(fake_api, "/report")) == helps + 1
    finally:
        await second.stop()
    assert journals(folder) == []


async def test_polling_starts_past_only_the_updates_a_process_that_died_fetched_lately(
        fake_api: FakeBotAPI, core: Core, tg_settings: Settings, tmp_path: Path, frozen_clock: FrozenClock) -> None:
    """Telegram keeps an update not confirmed for a day, and after a week without updates numbers the next ones
    afresh: updates put back by `diaodu restore`, or fetched over a day ago, say nothing of those to come."""
    now = frozen_clock.now().timestamp()
    cases = {"lately": (now - 60, False, 8), "restored": (now - 60, True, None),
             "long ago": (now - 86_401, False, None)}
    for case, (at, restored, offset) in cases.items():
        folder = tmp_path / case.replace(" ", "-")
        update = {"update_id": 7, "message": fake_api.text_update(HAO, "/help")["message"]}
        folder.mkdir()
        (folder / "0-0.jsonl").write_bytes(journal_lines([Answered("7", str(HAO), at, {"update": json.dumps(update)})],
                                                         restored=restored))
        harness = TelegramHarness(fake_api, Core.build(tg_settings, clock=core.clock, db=core.db), tg_settings,
                                  journal=folder)
        assert harness.channel.journal is not None
        assert await harness.channel.journal.resume() == 1
        assert harness.channel.journal.next_offset == offset, case
        await harness.channel.journal.close()


async def test_an_update_whose_body_arrives_after_the_journal_closed_is_refused_not_lost(
        fake_api: FakeBotAPI, core: Core, tg_settings: Settings, tmp_path: Path) -> None:
    """The journal closes while an update's body is still on its way (the headers came first): answered 200 then,
    the update would be in memory only, lost with the process; refused, Telegram delivers it again."""
    folder = tmp_path / "telegram-inbox"
    first = TelegramHarness(fake_api, core, tg_settings, journal=folder)
    await first.start()
    await first.bind(HAO, "郝芳", "liaison")
    await first.poller.stop()
    await first.application.stop()  # handles nothing from now on: what is taken lives in the journal only
    journal = first.channel.journal
    assert journal is not None
    http = web.Application()
    http.router.add_post("/telegram/hook", webhook_handler(first.application, SECRET, journal))
    body = json.dumps(fake_api.text_update(HAO, REPORT)).encode()
    async with TestServer(http) as server:
        reader, writer = await asyncio.open_connection(server.host, server.port)
        writer.write(b"POST /telegram/hook HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n"
                     b"X-Telegram-Bot-Api-Secret-Token: " + SECRET.encode() + b"\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body[:10])
        await writer.drain()
        await asyncio.sleep(0.3)  # the handler is reading the body
        await journal.close()  # the process stopping
        writer.write(body[10:])
        await writer.drain()
        status = await reader.readline()
        writer.close()
    await first.application.shutdown()
    kept = [a.key for path in journals(folder) for a in outstanding(path.read_bytes())]
    assert status.startswith(b"HTTP/1.1 503") or kept, (status, kept)


async def test_an_update_handled_anew_after_a_kill_is_not_resumed_where_the_handling_before_stopped(
        fake_api: FakeBotAPI, core: Core, tg_settings: Settings, tmp_path: Path) -> None:
    """The first process sent the first of the two replies to an update, storing nothing, and was killed; the second
    handled the update anew, stored the report (its replies kept) and was killed before any of them went out: the
    third sends both, not the second only."""
    folder = tmp_path / "telegram-inbox"
    async with running(TelegramHarness(fake_api, core, tg_settings)) as before:
        await before.bind(HAO, "郝芳", "liaison")
    update = video_report(fake_api)
    folder.mkdir()
    first = Answered(str(update["update_id"]), str(HAO), core.clock.now().timestamp(),
                     {"update": json.dumps(update, ensure_ascii=False)}, sent=Progress(1, 0))
    (folder / "0-0.jsonl").write_bytes(journal_lines([first]))  # the journal the first process left
    mark = len(fake_api.calls)

    second = restarted(before, tg_settings, folder)
    journal = second.channel.journal
    assert journal is not None
    await second.application.initialize()
    assert await journal.resume() == 1
    recovered = await second.application.update_queue.get()
    fake_api.inject_fault("sendMessage", status=502, delay=60)  # nothing goes out
    handling = asyncio.create_task(second.application.process_update(recovered))

    async def stored() -> bool:
        return bool(await second.reports())
    await until(stored, "the report stored")
    await asyncio.sleep(0.2)  # the first reply on its way
    handling.cancel()  # the process dies
    with contextlib.suppress(asyncio.CancelledError):
        await handling
    await journal.close()
    await second.application.shutdown()
    fake_api.clear_faults()
    assert fake_api.texts(HAO, since=mark) == []

    third = restarted(before, tg_settings, folder)
    await third.start()
    try:
        await third.wait_processed(update["update_id"])
        await until(lambda: len(fake_api.texts(HAO, since=mark)) == 2, "both replies sent")
        await asyncio.sleep(0.5)
        texts = fake_api.texts(HAO, since=mark)
        assert len(texts) == 2 and CONFIRMED in texts[0] and "收到的视频未保存" in texts[1], texts
        assert len(await third.reports()) == 1
    finally:
        await third.stop()
    assert journals(folder) == []


async def test_the_webhook_refuses_an_update_its_journal_cannot_write_and_telegram_delivers_it_again(
        fake_api: FakeBotAPI, core: Core, tg_settings: Settings, tmp_path: Path) -> None:
    """The disk full: answered 200, the update would live in memory only (Telegram does not deliver it again) and a
    crash would lose it. It is answered 503 with a Retry-After, and handled once Telegram's next try finds room."""
    folder = tmp_path / "telegram-inbox"
    first = TelegramHarness(fake_api, core, tg_settings)
    await first.start()
    await first.bind(HAO, "郝芳", "liaison")
    await first.poller.stop()  # Telegram posts to the webhook from now on
    folder.mkdir()
    full = Inbox(folder, os.open("/dev/full", os.O_WRONLY | os.O_APPEND), folder / "0-full.jsonl", [],
                 name="Telegram inbox")  # every write fails (ENOSPC), as on a full disk
    journal = UpdateJournal(first.application, full, core.clock)
    update = fake_api.text_update(HAO, REPORT)
    http = web.Application()
    http.router.add_post("/telegram/hook", webhook_handler(first.application, SECRET, journal))
    try:
        async with TestClient(TestServer(http)) as client:
            answer = await client.post("/telegram/hook", json=update,
                                       headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
            assert answer.status == 503 and answer.headers["Retry-After"] == "10"
        await asyncio.sleep(0.3)
        assert await first.reports() == [] and to_hao(fake_api, CONFIRMED) == []
    finally:
        await journal.close()
        await first.stop()

    second = restarted(first, tg_settings, folder)
    await second.start(polling=False)
    assert second.channel.journal is not None
    http = web.Application()
    http.router.add_post("/telegram/hook", webhook_handler(second.application, SECRET, second.channel.journal))
    try:
        async with TestClient(TestServer(http)) as client:  # Telegram's next try
            answer = await client.post("/telegram/hook", json=update,
                                       headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
            assert answer.status == 200
            await second.wait_processed(update["update_id"])
        assert len(await second.reports()) == 1 and len(to_hao(fake_api, CONFIRMED)) == 1
    finally:
        await second.stop()


async def test_polling_neither_handles_nor_confirms_a_batch_its_journal_cannot_write(
        fake_api: FakeBotAPI, core: Core, tg_settings: Settings, tmp_path: Path) -> None:
    """The disk full: handled from memory and confirmed by the next getUpdates, the update would be lost by a crash.
    It is left with Telegram, asked for again, and handled once the journal can write it."""
    folder = tmp_path / "telegram-inbox"
    first = TelegramHarness(fake_api, core, tg_settings)
    await first.start()
    await first.bind(HAO, "郝芳", "liaison")
    await first.poller.stop()
    folder.mkdir()
    full = Inbox(folder, os.open("/dev/full", os.O_WRONLY | os.O_APPEND), folder / "0-full.jsonl", [],
                 name="Telegram inbox")  # every write fails (ENOSPC), as on a full disk
    journal = UpdateJournal(first.application, full, core.clock)
    poller = JournaledPolling(first.application, journal, first.channel.polls, timeout=1)
    update = fake_api.enqueue_update(fake_api.text_update(HAO, REPORT))
    mark = len(fake_api.calls)
    await poller.start()
    try:
        await fake_api.wait_for("getUpdates", count=2, since=mark, timeout=10)  # fetched, asked for again
        await asyncio.sleep(0.3)
        assert poller.offset is None and [u["update_id"] for u in fake_api.updates] == [update["update_id"]]
        assert await first.reports() == [] and to_hao(fake_api, CONFIRMED) == []
    finally:
        await poller.stop()
        await journal.close()
        await first.stop()

    second = restarted(first, tg_settings, folder)
    await second.start()  # room again
    try:
        await second.wait_processed(update["update_id"])
        assert len(await second.reports()) == 1 and len(to_hao(fake_api, CONFIRMED)) == 1
    finally:
        await second.stop()
    assert journals(folder) == []
