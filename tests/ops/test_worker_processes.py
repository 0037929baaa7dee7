"""No process `diaodu run` started outlives it: neither the bulletins' worker process nor multiprocessing's
resource tracker, whether the bot is stopped (SIGTERM) or killed outright (SIGKILL, as the out-of-memory
killer does) while a worker renders a bulletin. The bot runs in a process of its own against the fake Bot API,
with a bulletin due at start-up (the weekly one of the real last week: the data is dated on the real clock);
its processes are followed through /proc."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from bot.clock import SHANGHAI
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Report
from tests.bot_process import said, start_bot
from tests.fakes.bot_api import FakeBotAPI
from tests.polling import until
from tests.storage.factories import build_world

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="processes are read from /proc")

PROC = Path("/proc")
HISTORY = 60  # days of data before today: some bulletin of the past is due, whatever today is
WORKER = b"spawn_main"  # in a worker process's command line (multiprocessing's spawn)


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent's pid, start time) of a process, None once it is gone."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2:].split()  # after the command's name, which may hold spaces
    return fields[0], int(fields[1]), int(fields[19])


def _descendants(pid: int) -> dict[int, int]:
    """The processes started by ``pid`` and by them, each with its start time (which a reused pid does not have)."""
    stats = {int(entry.name): _stat(int(entry.name)) for entry in PROC.iterdir() if entry.name.isdigit()}
    found: dict[int, int] = {}
    parents = [pid]
    while parents:
        children = [(child, stat[2]) for child, stat in stats.items() if stat is not None and stat[1] in parents]
        found.update(children)
        parents = [child for child, _start in children]
    return found


def _alive(pid: int, started: int) -> bool:
    """Whether that process still runs (a zombie has ended: it only waits to be reaped by whoever adopted it)."""
    stat = _stat(pid)
    return stat is not None and stat[2] == started and stat[0] not in ("Z", "X")


def _is_worker(pid: int) -> bool:
    try:
        return WORKER in (PROC / str(pid) / "cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return False


async def _a_bulletin_due(url: str) -> None:
    """A small district imported HISTORY days ago, reported on every day since."""
    since = datetime.now(SHANGHAI) - timedelta(days=HISTORY)
    db = Database(url)
    try:
        world = await build_world(db, since)
        async with db.session() as session:
            for n in range(HISTORY):
                at = since + timedelta(days=n)
                session.add(Report(project_id=world.p1, person_id=world.liaison, local_day=at.date(),
                                   amount=Decimal(10), progress_text="", channel="telegram", created_at=at))
    finally:
        await db.dispose()


async def _until_a_worker(bot: asyncio.subprocess.Process, log: Path, timeout: float = 60) -> None:
    """Until the bot has a worker process (started with the first bulletin)."""

    def a_worker() -> bool:
        assert bot.returncode is None, "no worker process; the bot said:\n" + said(log)
        return any(_is_worker(pid) for pid in _descendants(bot.pid))

    await until(a_worker, lambda: "no worker process; the bot said:\n" + said(log), timeout, every=0.02)


async def _survivors(family: dict[int, int], timeout: float) -> list[int]:
    """Those of ``family`` still running after ``timeout`` seconds (fewer as soon as all have ended)."""
    deadline = time.monotonic() + timeout
    while (left := [pid for pid, started in family.items() if _alive(pid, started)]) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return left


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM], ids=["killed", "stopped"])
async def test_no_process_of_the_bot_outlives_it(stop: signal.Signals, fake_api: FakeBotAPI, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
    await asyncio.to_thread(upgrade, url)
    await _a_bulletin_due(url)
    log = tmp_path / "bot.log"
    bot = await start_bot(fake_api.run_environment(url, tmp_path / "data"), tmp_path, log)
    family: dict[int, int] = {}
    try:
        await _until_a_worker(bot, log)  # rendering the bulletin due
        family = _descendants(bot.pid)
        bot.send_signal(stop)
        await asyncio.wait_for(bot.wait(), 60)  # a stop waits for the bulletin under way
        ended_at = time.monotonic()
        left = await _survivors(family, timeout=5)
        took = time.monotonic() - ended_at
    finally:
        if bot.returncode is None:
            bot.kill()
            await bot.wait()
        for pid, started in family.items():  # none left behind by a failure either
            if _alive(pid, started):
                os.kill(pid, signal.SIGKILL)
    assert len(family) >= 2, family  # the worker and the resource tracker at least
    assert left == [], f"still running {took:.1f} s after the bot ended: {left}; the bot said:\n{said(log)}"
    assert took < 3
    if stop == signal.SIGTERM:
        assert bot.returncode == 0, said(log)
    print(f"\n[{stop.name}] {len(family)} processes of the bot, all ended {took:.2f} s after it")
