"""A killed leader's claimed notices are taken over as soon as the next leader holds the lock, not when their
lease (10 minutes, as in production) runs out: two real processes, the leader killed with SIGKILL while it
holds a batch of claimed rows. Every claimed row is sent within 30 s of the take-over and none twice; only a
send in flight at the kill is held in doubt."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from bot.clock import SystemClock
from bot.domain.messages import Reply
from storage import outbox
from storage.db import Database
from storage.models import OutboxMessage
from tests.polling import until

from .helpers import REPO
from .leader_worker import CHANNEL
from .test_leader import _lines, _settled, store_url  # noqa: F401 - store_url is a fixture

NOTICES = 200
BATCH = 40
CONCURRENCY = 4
BOUND = 30.0  # seconds after the take-over by which every claimed notice is out (deploy/README.md)
WORKER_ENV = {"LEADER_WORKER_LEASE": "600", "LEADER_WORKER_BATCH": str(BATCH),
              "LEADER_WORKER_CONCURRENCY": str(CONCURRENCY), "LEADER_WORKER_SEND_SECONDS": "0.1",
              "LEADER_WORKER_POLL": "1.0"}


def _spawn(url: str, work: Path, name: str) -> subprocess.Popen[bytes]:
    log = (work / f"{name}.out").open("wb")
    return subprocess.Popen([sys.executable, "-m", "tests.ops.leader_worker", url, str(work)], cwd=REPO,
                            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **WORKER_ENV})


async def _rows(db: Database) -> dict[str, OutboxMessage]:
    async with db.session() as session:
        return {str(row.chat_id): row for row in (await session.scalars(select(OutboxMessage))).all()}


async def test_a_killed_leaders_claims_are_taken_over_at_once(store_url: str, tmp_path: Path) -> None:  # noqa: F811
    work = tmp_path / "work"
    work.mkdir()
    leaders, delivered = work / "leaders.log", work / "delivered.log"
    keys = {f"n{i:03d}" for i in range(NOTICES)}
    db = Database(store_url)
    try:
        async with db.session() as session:
            for key in sorted(keys):
                await outbox.enqueue_for_chat(session, channel=CHANNEL, chat_id=key, reply=Reply(html=key),
                                              key=f"notice-{key}", now=SystemClock().now())
        procs = {p.pid: p for p in (_spawn(store_url, work, "one"), _spawn(store_url, work, "two"))}
        try:
            await until(lambda: sum(line.startswith("started") for line in _lines(leaders)) == 2,
                        "both processes to start", 30, every=0.05)
            await until(lambda: any(line.startswith("leader") for line in _lines(leaders)), "a leader", 10, every=0.05)
            first = int(next(line for line in _lines(leaders) if line.startswith("leader")).split()[1])
            [second] = [pid for pid in procs if pid != first]
            (work / "go").touch()
            await until(lambda: len(_lines(delivered)) >= 20, "the leader to send 20 notices", 30, every=0.05)
            os.kill(first, signal.SIGKILL)
            procs[first].wait(10)
            killed_wall = time.time()
            at_kill = await _rows(db)  # the standby looks for the lock once a second: not taken over yet
            held = {key for key, row in at_kill.items() if row.state == outbox.SENDING}
            assert held, "the leader held no claimed rows when it was killed"
            assert all(row.next_attempt_at.timestamp() > killed_wall + 500 for key, row in at_kill.items()
                       if key in held)  # ten-minute leases

            await until(lambda: f"leader {second}" in _lines(leaders), "the standby to take over", 10, every=0.05)
            takeover_wall = time.time()
            await _settled(db, 60)
            final = await _rows(db)
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in procs.values():
                proc.wait(15)
    finally:
        await db.dispose()

    lines = [line.split() for line in _lines(delivered)]
    counts = Counter(key for key, _pid, _at in lines)
    assert [key for key, n in counts.items() if n > 1] == []  # none twice
    in_doubt = {key for key, row in final.items() if row.state == outbox.IN_DOUBT}
    assert len(in_doubt) <= CONCURRENCY and in_doubt <= held
    assert {key for key, row in final.items() if row.state != outbox.SENT} == in_doubt
    assert set(counts) | in_doubt == keys
    sent_at = {key: float(at) for key, pid, at in lines if int(pid) == second}
    # A COMMIT already on the wire when the leader was killed can land after the snapshot above: such a row
    # read as claimed was in fact sent by the old leader, and must not be counted against the new one.
    sent_by_first = {key for key, pid, _at in lines if int(pid) == first}
    late = {key: sent_at.get(key, float("inf")) - takeover_wall for key in held - in_doubt - sent_by_first}
    assert all(key in sent_at for key in late), "a claimed notice was not sent by the new leader"
    worst = max(late.values(), default=0.0)
    assert worst <= BOUND, f"a claimed notice went out {worst:.1f} s after the take-over"
    print(f"\n[{store_url.split(':')[0]}] held at the kill: {len(held)}, in doubt: {len(in_doubt)}, "
          f"last claimed notice sent {worst:.2f} s after the take-over "
          f"({takeover_wall - killed_wall:.2f} s after the kill)")
