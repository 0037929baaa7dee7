"""A small `diaodu run` stand-in for the leadership tests, run as its own OS process.

    python -m tests.ops.leader_worker DATABASE_URL WORK_DIR

It writes "started <pid>" to WORK_DIR/leaders.log, waits for leadership, writes "leader <pid>" when it gets
it, and then drains the outbox one row at a time through the real OutboxSender into a transport that
appends "<chat id> <pid> <unix time>" to WORK_DIR/delivered.log (made durable before the send counts as done). The
transport holds every send until the file WORK_DIR/go exists, so the test decides when sending starts.
SIGTERM stops it cleanly.

The environment may change the sender: LEADER_WORKER_LEASE (seconds, 2 by default), LEADER_WORKER_BATCH
(rows held at once, 1), LEADER_WORKER_CONCURRENCY (sends in flight, 16) and LEADER_WORKER_SEND_SECONDS
(how long a send takes, 0.05), LEADER_WORKER_POLL (how often a standby tries for the lock, 0.3 s). A new
leader takes over the rows its predecessor held, as ``diaodu run`` does.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from datetime import timedelta
from pathlib import Path

from bot.channels.base import RateLimits
from bot.clock import SystemClock
from bot.domain.messages import Attachment, Reply
from bot.services.outbox import OutboxSender
from storage.db import Database
from storage.leader import lead, leadership_for

CHANNEL = "testfile"
SEND_SECONDS = float(os.environ.get("LEADER_WORKER_SEND_SECONDS", "0.05"))
BATCH = int(os.environ.get("LEADER_WORKER_BATCH", "1"))  # rows held at once: a kill interrupts at most so many
CONCURRENCY = int(os.environ.get("LEADER_WORKER_CONCURRENCY", "16"))
LEASE = float(os.environ.get("LEADER_WORKER_LEASE", "2"))
POLL = float(os.environ.get("LEADER_WORKER_POLL", "0.3"))  # how often a standby tries for the lock


def append_line(path: Path, line: str) -> None:
    """Append one line atomically (O_APPEND) and durably."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{line}\n".encode())
        os.fsync(fd)
    finally:
        os.close(fd)


class FileTransport:
    """Delivers a notice by appending its chat id (the notice's key), this process id and the time to a file."""

    channel = CHANNEL
    limits = RateLimits(global_per_second=10_000, per_chat_per_second=10_000, per_group_per_minute=1_000_000)

    def __init__(self, path: Path, go: Path) -> None:
        self.path = path
        self.go = go

    def is_group_chat(self, _chat_id: str) -> bool:
        return False

    async def send(self, chat_id: str, reply: Reply, *, attachment: Attachment | None = None) -> None:
        while not self.go.exists():
            await asyncio.sleep(0.02)
        await asyncio.sleep(SEND_SECONDS)
        append_line(self.path, f"{chat_id} {os.getpid()} {time.time():.3f}")


async def run(url: str, work: Path) -> None:
    pid = os.getpid()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    db = Database(url)
    sender = OutboxSender(db, SystemClock(), {CHANNEL: FileTransport(work / "delivered.log", work / "go")},
                          batch=BATCH, concurrency=CONCURRENCY, lease=timedelta(seconds=LEASE))
    leadership = leadership_for(url, poll_interval=POLL, check_interval=0.5)
    term: dict[str, object] = {}

    async def elected() -> None:
        append_line(work / "leaders.log", f"leader {pid}")
        term["stop"] = sending_stop = asyncio.Event()
        term["task"] = asyncio.create_task(sender.run_forever(sending_stop, idle_seconds=0.1,
                                                                   take_over=True))

    async def deposed() -> None:
        append_line(work / "leaders.log", f"deposed {pid}")
        term["stop"].set()  # type: ignore[attr-defined]
        await term["task"]  # type: ignore[misc]

    append_line(work / "leaders.log", f"started {pid}")
    try:
        await lead(leadership, stop, on_elected=elected, on_deposed=deposed)
    finally:
        await db.dispose()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING,
                        format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    asyncio.run(run(sys.argv[1], Path(sys.argv[2])))
