"""Killed in the middle of the 18:00 jobs, started again at 18:07: nothing lost, nothing twice.

The 18:00 reminder run and an escalation tick run as `diaodu job remind|escalate --at …` in processes of their
own, each killed with SIGKILL while it waits to write (another connection holds SQLite's write lock, as a busy
moment would): what they were doing is rolled back whole. The restart is what a process elected leader runs at
once (``jobs.wiring.build_jobs``'s start-up run) and the escalation tick that follows within five minutes, at 18:07,
then the outbox sent through the fake Bot API. The scheduler of a process started after 18:00 fires the 18:00
reminders only the next day: the start-up run is what brings them, and the 连续未填报 alert with them.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import select

from bot.app import Core, deliver_outbox
from bot.clock import FrozenClock
from bot.domain.digest_settings import DIGEST_KEY, DigestSettings
from jobs.scheduler import ESCALATION_JOB
from jobs.wiring import build_jobs
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Problem, ProblemEvent
from storage.settings import set_setting
from tests.e2e.harness import REPO, e2e_settings
from tests.fakes.bot_api import FakeBotAPI
from tests.jobs.test_escalation_job import build_district, nov, raise_problems
from tests.polling import until

LIAISON, HANDLER, LEAD, TOP = 1001, 3003, 4001, 5001
REMINDER = "未填报进度"
ALERT = "连续未填报"
ESCALATED = "W0001"


@contextmanager
def write_lock(path: Path) -> Iterator[None]:
    """Another connection holding SQLite's write lock on the file (BEGIN IMMEDIATE) until the block ends."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def _has_open(pid: int, path: Path) -> bool:
    """Whether the process has the file open (it reached the database)."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except FileNotFoundError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == str(path):
                return True
        except OSError:
            continue
    return False


async def _killed_while_waiting(env: dict[str, str], database: Path, tmp_path: Path, *args: str) -> None:
    """`diaodu <args>` in a process of its own, killed with SIGKILL once it has opened the database and waits
    for the write lock held meanwhile."""
    with write_lock(database), (tmp_path / f"{args[1]}.log").open("wb") as log:
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", *args, cwd=tmp_path, env=env,
                                                    stdout=asyncio.subprocess.DEVNULL, stderr=log)
        try:
            await until(lambda: _has_open(proc.pid, database) or proc.returncode is not None,
                        f"diaodu {' '.join(args)} to open the database", 60)
            await asyncio.sleep(0.5)  # reading done, at its first write
            assert proc.returncode is None, (tmp_path / f"{args[1]}.log").read_text()
            proc.send_signal(signal.SIGKILL)
        finally:
            await proc.wait()
    assert proc.returncode == -signal.SIGKILL


async def _restart_at(core: Core) -> None:
    """What the leader does on its election, and the escalation tick after it, then the outbox sent."""
    scheduler, start_up = build_jobs(core, DigestSettings().reminder_times)
    await start_up()
    escalation = scheduler.get_job(ESCALATION_JOB)
    assert escalation is not None
    await escalation.func()
    stats = await deliver_outbox(core, timeout=60)
    assert stats is not None and not stats.failed, stats


def _count(fake: FakeBotAPI, chat: int, words: str) -> int:
    return sum(words in text for text in fake.texts(chat))


async def test_the_1800_jobs_killed_midway_run_once_after_a_restart_at_1807(fake_api: FakeBotAPI,
                                                                             tmp_path: Path) -> None:
    database = tmp_path / "diaodu.sqlite3"
    url = f"sqlite+aiosqlite:///{database}"
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    try:
        district = await build_district(db, nov(16, 8), bound=True)
        await raise_problems(db, district, at=nov(16, 10), count=1)  # its response is due on the 17th, 17:30
        async with db.session() as session:  # no bulletin to draw at the restart, reminders as by default
            quiet = DigestSettings(weekly_enabled=False, monthly_enabled=False)
            await set_setting(session, key=DIGEST_KEY, value=quiet.to_json(), now=nov(16, 8), by="test")
    finally:
        await db.dispose()
    env = fake_api.run_environment(url, tmp_path / "data")
    env["PYTHONPATH"] = str(REPO)

    # Wednesday the 18th, 18:00: the third working day without a report, and the problem overdue since 17:30.
    await _killed_while_waiting(env, database, tmp_path, "job", "remind", "--at", "2026-11-18T18:00+08:00")
    await _killed_while_waiting(env, database, tmp_path, "job", "escalate", "--at", "2026-11-18T18:00+08:00")
    assert fake_api.calls_of("sendMessage") == []

    settings = e2e_settings(fake_api, DATABASE_URL=url, DATA_DIR=str(tmp_path / "data"))
    core = Core.build(settings, clock=FrozenClock(nov(18, 18, 7)))
    try:
        await _restart_at(core)
        sent = len(fake_api.calls_of("sendMessage"))
        assert _count(fake_api, LIAISON, REMINDER) == 1, fake_api.texts(LIAISON)
        assert _count(fake_api, HANDLER, ALERT) == 1, fake_api.texts(HANDLER)
        assert _count(fake_api, LEAD, ALERT) == 1, fake_api.texts(LEAD)
        assert _count(fake_api, LEAD, ESCALATED) == 1, fake_api.texts(LEAD)  # 上报至包抓领导, once
        async with core.db.session() as session:
            problem = await session.get(Problem, 1)
            assert problem is not None and problem.level == 1
            events = (await session.scalars(select(ProblemEvent.kind).order_by(ProblemEvent.id))).all()
            assert events == ["raised", "escalated"]

        # Another restart two minutes later (a crash loop, a second process elected): nothing goes out again.
        core.clock.set(nov(18, 18, 9))  # type: ignore[attr-defined]
        await _restart_at(core)
        assert len(fake_api.calls_of("sendMessage")) == sent
    finally:
        core.workers.close()
        await core.db.dispose()
