"""The journal of the Telegram updates fetched (``bot.channels.inbox``) at the edges of `diaodu run`, through serve()
as it runs, the fake Bot API over HTTP and a SQLite file shared with another "process" (the test, holding the
leadership and a journal of its own, as a second `diaodu run` on the same database and ``DATA_DIR`` would):

- the leader dies with updates it fetched (Telegram confirmed them) and did not handle: the process standing by,
  elected in its place, handles them, rather than leaving them to whichever process starts next;
- a webhook process standing by dies with an update it answered 200 and did not handle while the leader lives: the
  leader takes its journal over within ``JOURNAL_TAKE_OVER_SECONDS`` and handles the update once;
- in webhook mode, an update posted the moment the restarted bot listens is handled after those recovered from
  the journal, which were fetched before it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import ClientSession

from bot.channels.inbox import Inbox
from bot.channels.telegram_serving import TelegramService
from bot.config import Settings
from storage.leader import leadership_for
from tests.e2e.harness import e2e_settings, serving
from tests.e2e.test_serve_leader import HAO, bind_hao
from tests.e2e.test_telegram_flow import migrated_settings, unfrozen_heap  # noqa: F401 - fixtures
from tests.fakes.bot_api import FakeBotAPI
from tests.polling import until

CONFIRMED = "已记录填报"
REPORT = "/report ZD2026-001 850万 桩基完成"
SECRET = "s3cret"


def settings_for(fake: FakeBotAPI, migrated: Settings, data: Path, **overrides: object) -> Settings:
    return e2e_settings(
        fake, DATABASE_URL=migrated.database_url, HTTP_HOST="127.0.0.1", HTTP_PORT=0, DATA_DIR=str(data), **overrides
    )


def journal_of_a_process(settings: Settings, updates: list[dict[str, object]]) -> Inbox:
    """The journal of another process, holding ``updates`` fetched (and confirmed to Telegram) not handled."""
    inbox = Inbox.open(settings.data_dir / "telegram-inbox", name="Telegram inbox")
    for update in updates:
        inbox.add(
            str(update["update_id"]), str(HAO), {"update": json.dumps(update, ensure_ascii=False)}, at=time.time()
        )
    return inbox


def texts_to_hao(fake: FakeBotAPI) -> list[str]:
    return [c["text"] for c in fake.calls_of("sendMessage", ok=True) if c.get("chat_id") == HAO]


async def test_the_process_elected_when_the_leader_died_handles_what_the_leader_had_fetched(
    fake_api: FakeBotAPI,
    migrated_settings: Settings,  # noqa: F811
    tmp_path: Path,
    unfrozen_heap: None,  # noqa: F811
) -> None:
    settings = settings_for(fake_api, migrated_settings, tmp_path / "data")
    await bind_hao(settings, fake_api)
    leadership = leadership_for(settings.database_url)
    assert await leadership.acquire(asyncio.Event())  # the leader: another process, polling
    leaders_journal = journal_of_a_process(settings, [fake_api.text_update(HAO, REPORT)])
    task, stop, port = await serving(settings)  # stands by
    try:
        async with ClientSession() as client, client.get(f"http://127.0.0.1:{port}/healthz") as response:
            assert (await response.json())["leader"] is False
        assert texts_to_hao(fake_api) == []
        await leaders_journal.close()  # the leader is killed: its locks go with it, its journal stays
        await leadership.release()
        assert len(list((settings.data_dir / "telegram-inbox").glob("*.jsonl"))) == 2

        await until(
            lambda: any(CONFIRMED in text for text in texts_to_hao(fake_api)),
            "the report the dead leader fetched handled",
            30,
        )
        assert len(list((settings.data_dir / "telegram-inbox").glob("*.jsonl"))) == 1  # the dead leader's taken over
        await asyncio.sleep(0.5)
        assert len([text for text in texts_to_hao(fake_api) if CONFIRMED in text]) == 1
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    assert list((settings.data_dir / "telegram-inbox").glob("*.jsonl")) == []  # every update handled


async def test_the_leader_takes_over_the_journal_of_a_webhook_process_that_dies_while_it_leads(
    fake_api: FakeBotAPI,
    migrated_settings: Settings,  # noqa: F811
    tmp_path: Path,
    unfrozen_heap: None,  # noqa: F811
) -> None:
    settings = settings_for(fake_api, migrated_settings, tmp_path / "data", JOURNAL_TAKE_OVER_SECONDS=0.5)
    await bind_hao(settings, fake_api)
    task, stop, port = await serving(settings)  # the leader: no other process leads
    try:
        await until(lambda: healthz_says_leader(port), "leading", 30)
        # another process, a webhook one standing by, answered Telegram 200 for a report, then was killed
        await journal_of_a_process(settings, [fake_api.text_update(HAO, REPORT)]).close()
        assert len(list((settings.data_dir / "telegram-inbox").glob("*.jsonl"))) == 2

        await until(
            lambda: any(CONFIRMED in text for text in texts_to_hao(fake_api)),
            "the report the dead process answered handled by the leader",
            15,
        )
        assert len(list((settings.data_dir / "telegram-inbox").glob("*.jsonl"))) == 1  # taken over, deleted
        await asyncio.sleep(1.5)  # the leader looked again, twice: nothing more to take over
        assert len([text for text in texts_to_hao(fake_api) if CONFIRMED in text]) == 1
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    assert list((settings.data_dir / "telegram-inbox").glob("*.jsonl")) == []


async def healthz_says_leader(port: int) -> bool:
    async with ClientSession() as client, client.get(f"http://127.0.0.1:{port}/healthz") as response:
        return bool((await response.json())["leader"])


async def test_a_webhook_update_taken_at_a_restart_is_handled_after_those_recovered(
    fake_api: FakeBotAPI,
    migrated_settings: Settings,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    unfrozen_heap: None,  # noqa: F811
) -> None:
    """The report fetched before the restart comes first, though the Bot API answers the restarted bot only after
    Telegram has posted it a /help (Telegram reached late: its task held until the /help is taken)."""
    settings = settings_for(
        fake_api,
        migrated_settings,
        tmp_path / "data",
        TELEGRAM_WEBHOOK_URL="https://bot.example.org/telegram/hook",
        TELEGRAM_WEBHOOK_SECRET=SECRET,
    )
    await bind_hao(settings, fake_api)
    await journal_of_a_process(settings, [fake_api.text_update(HAO, REPORT)]).close()  # the process stopped
    posted = asyncio.Event()
    run = TelegramService.run

    async def held(service: TelegramService, closing: asyncio.Event, on_reached: Callable[[], Awaitable[None]]) -> None:
        await posted.wait()
        await run(service, closing, on_reached)

    monkeypatch.setattr(TelegramService, "run", held)
    task, stop, port = await serving(settings)
    try:
        async with ClientSession() as client:
            answer = await client.post(
                f"http://127.0.0.1:{port}/telegram/hook",
                json=fake_api.text_update(HAO, "/help"),
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
            )
            assert answer.status == 200
        posted.set()
        await until(lambda: len(texts_to_hao(fake_api)) >= 2, "both updates answered", 30)
        first, second = texts_to_hao(fake_api)[:2]
        assert CONFIRMED in first and CONFIRMED not in second  # the report, fetched first, answered first
    finally:
        posted.set()
        stop.set()
        await asyncio.wait_for(task, 30)
