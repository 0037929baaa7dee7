"""What `diaodu run` does once elected leader, through serve() as it runs, the fake Bot API over HTTP and a
SQLite file: it is live (/healthz) from that moment, however long taking up its duties takes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import ClientSession

from bot.config import Settings
from bot.services import album_waits
from tests.e2e.harness import started
from tests.e2e.test_telegram_flow import migrated_settings, unfrozen_heap  # noqa: F401 - fixtures

SLOW = 1.5  # seconds the leader takes to put off the albums' notices


async def test_healthz_never_answers_503_while_the_leader_takes_up_its_duties(
        migrated_settings: Settings, monkeypatch: pytest.MonkeyPatch, unfrozen_heap: None) -> None:  # noqa: F811
    """/healthz polled from the moment serve() listens, while the leader's start takes a while (the albums'
    notices put off slowly, as with a large backlog): it is live all along, as its scheduler and sender run."""
    put_off = album_waits.resume
    done = asyncio.Event()

    async def slowly(*args: Any) -> album_waits.Resumed:
        await asyncio.sleep(SLOW)
        try:
            return await put_off(*args)
        finally:
            done.set()

    monkeypatch.setattr(album_waits, "resume", slowly)
    task, stop, port = await started(migrated_settings)
    answers: list[tuple[int, dict[str, Any]]] = []
    try:
        async with ClientSession() as client:
            while not done.is_set():
                async with client.get(f"http://127.0.0.1:{port}/healthz") as response:
                    answers.append((response.status, await response.json()))
                await asyncio.sleep(0.02)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    assert sum(report["leader"] for _, report in answers) >= 3  # polled along the leader's start
    assert [report for status, report in answers if status != 200] == []
    assert {report["scheduler"] for _, report in answers if report["leader"]} == {"running"}
