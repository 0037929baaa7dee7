"""Leadership: one active sender among several processes; a killed leader is replaced within seconds, and
no notice is sent twice or lost (a send the kill interrupted is held as in_doubt)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from bot.clock import SystemClock
from bot.domain.messages import Reply
from storage import outbox, outbox_views
from storage.db import Database
from storage.leader import (
    AlwaysLeader,
    FileLeadership,
    PostgresLeadership,
    lead,
    leader_lock_path,
    leadership_for,
)
from storage.migrate import upgrade
from storage.models import OutboxMessage
from tests.polling import until

from .helpers import REPO, scratch_postgres
from .leader_worker import BATCH, CHANNEL

NOTICES = 50


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


@pytest.fixture(params=["sqlite", "postgresql"])
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A migrated database: a SQLite file, or a scratch PostgreSQL database (when one is configured)."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
        await asyncio.to_thread(upgrade, url)
        yield url
        return
    async with scratch_postgres() as url:
        yield url


# ---------------------------------------------------------------- two real processes


def _spawn(url: str, work: Path, name: str) -> subprocess.Popen[bytes]:
    log = (work / f"{name}.out").open("wb")
    return subprocess.Popen([sys.executable, "-m", "tests.ops.leader_worker", url, str(work)],
                            cwd=REPO, stdout=log, stderr=subprocess.STDOUT)


async def _settled(db: Database, timeout: float) -> None:
    """Until no row is pending or being sent."""
    left = 0

    async def none_left() -> bool:
        nonlocal left
        async with db.session() as session:
            left = int(await session.scalar(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.state.in_((outbox.PENDING, outbox.SENDING)))) or 0)
        return not left

    await until(none_left, lambda: f"{left} rows left unsent in the outbox", timeout)


async def _rows_by_key(db: Database) -> dict[str, OutboxMessage]:
    async with db.session() as session:
        return {str(row.chat_id): row for row in (await session.scalars(select(OutboxMessage))).all()}


async def test_a_killed_leader_is_replaced_and_no_notice_is_lost_or_sent_twice(
    store_url: str, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    leaders, delivered = work / "leaders.log", work / "delivered.log"
    keys = {f"n{i:02d}" for i in range(NOTICES)}
    db = Database(store_url)
    try:
        async with db.session() as session:
            for key in sorted(keys):
                await outbox.enqueue_for_chat(session, channel=CHANNEL, chat_id=key,
                                              reply=Reply(html=f"通知 {key}"), key=f"notice-{key}",
                                              now=SystemClock().now())

        # Both start together; exactly one leads, the other stands by.
        procs = {p.pid: p for p in (_spawn(store_url, work, "one"), _spawn(store_url, work, "two"))}
        try:
            await until(lambda: sum(line.startswith("started") for line in _lines(leaders)) == 2,
                        "both processes to start", 30, every=0.05)
            await until(lambda: any(line.startswith("leader") for line in _lines(leaders)), "a leader", 10, every=0.05)
            await asyncio.sleep(1.0)  # several polls of the standby
            elected = [line for line in _lines(leaders) if line.startswith("leader")]
            assert len(elected) == 1, _lines(leaders)
            first = int(elected[0].split()[1])
            [second] = [pid for pid in procs if pid != first]

            (work / "go").touch()  # the leader may send now
            await until(lambda: len(_lines(delivered)) >= 10, "the leader to send 10 notices", 30, every=0.05)
            os.kill(first, signal.SIGKILL)
            killed_at, killed_at_utc = time.monotonic(), datetime.now(UTC)
            sent_by_first = len(_lines(delivered))
            procs[first].wait(10)
            assert sent_by_first < NOTICES, "the leader finished before it was killed: nothing to take over"

            await until(lambda: f"leader {second}" in _lines(leaders), "the standby to take over", 10, every=0.05)
            takeover = time.monotonic() - killed_at
            assert takeover < 5, f"take-over took {takeover:.1f} s"

            # The new leader takes over the dead leader's claim at once and sends the rest.
            await _settled(db, 60)
            after_takeover = await _rows_by_key(db)
            in_doubt = sorted(key for key, row in after_takeover.items() if row.state == outbox.IN_DOUBT)
            delivered_then = Counter(line.split()[0] for line in _lines(delivered))

            # An admin asks the recipients of the notices in doubt, and resends those that never arrived.
            async with db.session() as session:
                for key in in_doubt:
                    if not delivered_then[key]:
                        assert await outbox_views.retry_message(session, message_id=after_takeover[key].id,
                                                                now=SystemClock().now())
            await _settled(db, 30)
            final = await _rows_by_key(db)
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in procs.values():
                proc.wait(15)
        assert procs[second].returncode == 0, (work / "two.out").read_text() + (work / "one.out").read_text()
    finally:
        await db.dispose()

    lines = [line.split()[:2] for line in _lines(delivered)]
    senders = [int(pid) for _key, pid in lines]
    # One active sender at a time: everything the first leader sent comes before anything the second sent.
    assert senders == sorted(senders, key=lambda pid: pid != first)
    assert set(senders) <= {first, second}
    counts = Counter(key for key, _pid in lines)
    assert sorted(key for key, n in counts.items() if n > 1) == []  # nothing sent twice
    assert set(after_takeover) == keys
    assert {row.state for row in after_takeover.values()} <= {outbox.SENT, outbox.IN_DOUBT}
    # Only a send in flight at the kill is in doubt: started by the first leader before it died, and not
    # sent again by the second one. It may have reached the chat (once) or not. The worker holds one row at
    # a time (batch 1), so the kill interrupted at most one send.
    assert len(in_doubt) <= BATCH, in_doubt
    for key in in_doubt:
        row = after_takeover[key]
        assert row.send_started_at is not None and row.send_started_at <= killed_at_utc
        assert (row.attempts, row.last_error) == (1, outbox.INTERRUPTED)
        assert delivered_then[key] == 0 or [int(pid) for k, pid in lines if k == key] == [first]
    # Everything else was delivered exactly once by the take-over's end and recorded as sent.
    assert all(delivered_then[key] == 1 and after_takeover[key].state == outbox.SENT
               for key in keys - set(in_doubt))
    # After the admin's resend, every notice has reached its chat exactly once; only a notice in doubt
    # that did arrive stays in doubt (an admin would leave it be).
    assert set(counts) == keys
    assert {key for key, row in final.items() if row.state != outbox.SENT} == {
        key for key in in_doubt if delivered_then[key]}
    print(f"\n[{store_url.split(':')[0]}] take-over after {takeover:.2f} s; "
          f"first leader sent {sent_by_first}; sent twice: none; "
          f"in doubt: {[(key, 'had arrived' if delivered_then[key] else 'resent') for key in in_doubt] or 'none'}")
    assert _lines(leaders)[-1] == f"deposed {second}"


# ---------------------------------------------------------------- in one process


async def test_file_lock_admits_one_leader(tmp_path: Path) -> None:
    path = leader_lock_path(tmp_path / "bot.sqlite3")
    first = FileLeadership(path, poll_interval=0.05)
    second = FileLeadership(path, poll_interval=0.05)
    stop = asyncio.Event()
    assert await first.acquire(stop)
    waiting = asyncio.create_task(second.acquire(stop))
    await asyncio.sleep(0.3)
    assert not waiting.done() and first.is_leader and not second.is_leader
    await first.release()
    assert await asyncio.wait_for(waiting, 2)
    assert second.is_leader and path.read_text().strip() == str(os.getpid())
    await second.release()


async def test_acquire_gives_up_when_stopped(tmp_path: Path) -> None:
    path = leader_lock_path(tmp_path / "bot.sqlite3")
    holder = FileLeadership(path)
    assert await holder.acquire(asyncio.Event())
    stop = asyncio.Event()
    other = FileLeadership(path, poll_interval=0.05)
    waiting = asyncio.create_task(other.acquire(stop))
    await asyncio.sleep(0.1)
    stop.set()
    assert await asyncio.wait_for(waiting, 2) is False
    await holder.release()


async def test_a_replaced_lock_file_makes_the_leader_step_down(tmp_path: Path) -> None:
    path = leader_lock_path(tmp_path / "bot.sqlite3")
    leader = FileLeadership(path, check_interval=0.05)
    assert await leader.acquire(asyncio.Event())
    path.unlink()
    await asyncio.wait_for(leader.lost.wait(), 2)
    assert not leader.is_leader
    await leader.release()


def test_the_leadership_fits_the_database() -> None:
    assert isinstance(leadership_for("sqlite+aiosqlite://"), AlwaysLeader)
    assert isinstance(leadership_for("sqlite+aiosqlite:///:memory:"), AlwaysLeader)
    file_leadership = leadership_for("sqlite+aiosqlite:///data/diaodu.sqlite3")
    assert isinstance(file_leadership, FileLeadership)
    assert file_leadership.path == Path("data/diaodu.sqlite3.leader")
    assert isinstance(leadership_for("postgresql+asyncpg://u@h/db"), PostgresLeadership)


async def test_lead_runs_duties_per_term_and_stands_by_after_a_loss(tmp_path: Path) -> None:
    path = leader_lock_path(tmp_path / "bot.sqlite3")
    leadership = FileLeadership(path, poll_interval=0.05, check_interval=0.05)
    stop = asyncio.Event()
    events: list[str] = []

    async def elected() -> None:
        events.append("elected")

    async def deposed() -> None:
        events.append("deposed")

    running = asyncio.create_task(lead(leadership, stop, on_elected=elected, on_deposed=deposed))
    await until(lambda: events == ["elected"], "the first term", 2, every=0.05)
    path.unlink()  # the watchdog steps down, then the lock is taken again on the new file
    await until(lambda: events == ["elected", "deposed", "elected"], "a second term", 3, every=0.05)
    stop.set()
    await asyncio.wait_for(running, 2)
    assert events == ["elected", "deposed", "elected", "deposed"] and not leadership.is_leader


async def test_postgres_leader_steps_down_when_its_session_dies() -> None:
    async with scratch_postgres(migrate=False) as url:
        stop = asyncio.Event()
        first = PostgresLeadership(url, poll_interval=0.1, check_interval=0.2, check_timeout=2)
        second = PostgresLeadership(url, poll_interval=0.1, check_interval=0.2, check_timeout=2)
        try:
            assert await first.acquire(stop) and await first.holds_lock()
            waiting = asyncio.create_task(second.acquire(stop))
            await asyncio.sleep(0.5)
            assert not waiting.done()

            backend = await first._scalar("SELECT pg_backend_pid()")
            killer = Database(url)
            try:
                async with killer.engine.connect() as conn:
                    await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
            finally:
                await killer.dispose()
            await asyncio.wait_for(first.lost.wait(), 5)
            assert not first.is_leader
            assert await asyncio.wait_for(waiting, 5)
            assert second.is_leader and await second.holds_lock()
        finally:
            stop.set()
            await first.release()
            await second.release()
