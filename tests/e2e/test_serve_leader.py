"""What `diaodu run` does once elected leader, through serve() as it runs, the fake Bot API over HTTP and a
SQLite file: it is live (/healthz) from that moment, however long taking up its duties takes, and the albums
still waiting for their caption when it last stopped have their notice put off before anything is sent or
polled, so a caption Telegram still holds takes its album and the notice never goes out."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import ClientSession
from sqlalchemy import select

from bot.clock import FrozenClock
from bot.config import Settings
from bot.services import album_waits
from bot.services.ledger_import import import_ledger_files
from storage import album_waits as waits
from storage import people
from storage.db import Database
from storage.models import AlbumWait, OutboxMessage
from tests.e2e.harness import SAMPLE_LEDGER, TEST_ACTOR, serving, started, without_digests
from tests.e2e.test_albums import HAO, LINE, UNEXPLAINED, part_update
from tests.e2e.test_telegram_flow import migrated_settings, unfrozen_heap  # noqa: F401 - fixtures
from tests.fakes.bot_api import FakeBotAPI
from tests.polling import until

LEADER_POLLS = 3  # /healthz answers the first test sees from the leader while it still takes up its duties
DEADLINE = 60.0  # seconds the first test waits for them at most, however loaded the machine


async def test_healthz_never_answers_503_while_the_leader_takes_up_its_duties(
        migrated_settings: Settings, monkeypatch: pytest.MonkeyPatch, unfrozen_heap: None) -> None:  # noqa: F811
    """/healthz polled from the moment serve() listens, while the leader's start takes a while (the albums'
    notices put off slowly, as with a large backlog): it is live all along, as its scheduler and sender run.
    The start is held until LEADER_POLLS answers from the leader have come (not for a fixed time, which a loaded
    machine may fill with fewer polls)."""
    put_off = album_waits.resume
    polled, done = asyncio.Event(), asyncio.Event()

    async def slowly(*args: Any) -> album_waits.Resumed:
        try:
            await asyncio.wait_for(polled.wait(), DEADLINE)
            return await put_off(*args)
        finally:
            done.set()

    monkeypatch.setattr(album_waits, "resume", slowly)
    task, stop, port = await started(migrated_settings)
    answers: list[tuple[int, dict[str, Any]]] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE
    try:
        async with ClientSession() as client:
            while not done.is_set() and loop.time() < deadline:
                async with client.get(f"http://127.0.0.1:{port}/healthz") as response:
                    answers.append((response.status, await response.json()))
                if sum(report["leader"] for _, report in answers) >= LEADER_POLLS:
                    polled.set()  # the leader's start may go on
                await asyncio.sleep(0.02)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    assert done.is_set(), f"the leader's start did not end within {DEADLINE:g} s"
    assert sum(report["leader"] for _, report in answers) >= LEADER_POLLS  # polled along the leader's start
    assert [report for status, report in answers if status != 200] == []
    assert {report["scheduler"] for _, report in answers if report["leader"]} == {"running"}


async def bind_hao(settings: Settings, fake: FakeBotAPI) -> None:
    """The sample ledger imported, and 郝芳 (liaison of ZD2026-001) bound as Telegram user 1001. The bulletins and
    the reminders are switched off: on a Monday morning the ledger's first week's bulletin would be due at once,
    and the test would wait for it at each stop."""
    db = Database(settings.database_url)
    try:
        now = datetime.now(UTC)
        summary = await import_ledger_files(db, FrozenClock(now), [SAMPLE_LEDGER], actor=TEST_ACTOR)
        assert not summary.issues, summary.issues
        async with db.session() as session:
            await without_digests(session, now=now)
            [hao] = await people.find_people_by_name(session, name="郝芳")
            await people.bind_account(session, person=hao, channel="telegram", external_id=str(HAO),
                                      chat_id=str(HAO), display_name=None, now=now)
    finally:
        await db.dispose()
    fake.user(HAO, first_name="郝芳")


async def album_wait(settings: Settings, album: str) -> waits.Wait | None:
    """What is stored of 郝芳's album `album` waiting for its caption."""
    db = Database(settings.database_url)
    try:
        async with db.session() as session:
            return await waits.get_wait(session, channel="telegram", chat_id=str(HAO), user_id=str(HAO),
                                        album=album)
    finally:
        await db.dispose()


async def pending_notices(settings: Settings) -> list[datetime]:
    """When the notices still waiting to go out to 郝芳 are due."""
    db = Database(settings.database_url)
    try:
        async with db.session() as session:
            query = select(OutboxMessage.next_attempt_at).where(OutboxMessage.chat_id == str(HAO),
                                                                OutboxMessage.state == "pending")
            return list((await session.scalars(query)).all())
    finally:
        await db.dispose()


async def stopped_ago(settings: Settings, ago: timedelta) -> None:
    """The bot starts again `ago` after it stopped: what it stored of the albums and of the notices waiting to go
    out is made that much older."""
    db = Database(settings.database_url)
    try:
        async with db.session() as session:
            for wait in (await session.scalars(select(AlbumWait))).all():
                wait.seen_at, wait.notice_due = wait.seen_at - ago, wait.notice_due - ago
                wait.sent_at = None if wait.sent_at is None else wait.sent_at - ago
            for notice in (await session.scalars(select(OutboxMessage).where(OutboxMessage.state == "pending"))).all():
                notice.created_at, notice.next_attempt_at = notice.created_at - ago, notice.next_attempt_at - ago
    finally:
        await db.dispose()


async def test_an_album_waiting_for_its_caption_at_a_restart_waits_for_it_again(
        fake_api: FakeBotAPI, migrated_settings: Settings, unfrozen_heap: None) -> None:  # noqa: F811
    """Two photos of an album came without their caption, then the bot stopped, and it starts again a minute
    later, the album's notice long due. Before its sender sends anything and before it polls, the leader puts
    the notice off (15 seconds, and as long again as it is behind the photos); the caption, sent with the photos
    and still held by Telegram, then takes the album, and the notice never goes out."""
    await bind_hao(migrated_settings, fake_api)
    photos = [part_update(fake_api, "530") for _ in range(2)]
    task, stop, _port = await serving(migrated_settings)
    try:
        for photo in photos:
            fake_api.enqueue_update(photo)

        async def held() -> bool:
            wait = await album_wait(migrated_settings, "530")
            return wait is not None and wait.parts == 2

        await until(held, "both photos held for the caption")
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    down = timedelta(minutes=1)
    await stopped_ago(migrated_settings, down)
    [due] = await pending_notices(migrated_settings)
    assert due < datetime.now(UTC)  # the notice fell due while the bot was down

    mark = len(fake_api.calls)
    task, stop, _port = await serving(migrated_settings)
    try:
        await fake_api.wait_for("getUpdates", since=mark, timeout=30)  # it polls: the notice was put off before
        [due] = await pending_notices(migrated_settings)
        assert due > datetime.now(UTC) + down  # 15 s, and the minute it is behind the photos
        await asyncio.sleep(1.0)  # the sender runs meanwhile
        assert fake_api.texts(HAO, since=mark) == []

        caption = part_update(fake_api, "530", LINE)
        caption["message"]["date"] = photos[-1]["message"]["date"] - int(down.total_seconds())
        fake_api.enqueue_update(caption)
        [reply] = await fake_api.wait_for("sendMessage", chat_id=HAO, since=mark, timeout=30)
        assert "照片 3 张" in reply["text"]
        assert await pending_notices(migrated_settings) == []  # the notice taken back
        wait = await album_wait(migrated_settings, "530")
        assert wait is not None and wait.state == waits.JOINED
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    assert not any(UNEXPLAINED in text for text in fake_api.texts(HAO, since=mark))
