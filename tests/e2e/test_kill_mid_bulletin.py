"""A bulletin killed half-way through its sending: `diaodu digest weekly --period 2026-W47 --send` produces the
weekly bulletin for 300 bulletin groups (each gets its text and its charts, some 1,200 messages through the outbox
at Telegram's 30 a second) and is killed with SIGKILL once a hundred texts are out; then `diaodu run` starts, as
systemd would start it, both against the fake Bot API in processes of their own.

Nothing reaches a chat twice, and every message reaches its chat but for the few whose send had begun when the
kill came (at most one per send slot, 16; one of them here, the Bot API taking 4 s to answer it): those may or may
not have arrived, are not sent again, and wait in ``/outbox`` as 结果未知 for an admin (deploy/README.md). The
bulletin is produced once: asked for again, it is refused as sent."""

from __future__ import annotations

import asyncio
import hashlib
import signal
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from bot.clock import FrozenClock
from bot.domain.digest_settings import DIGEST_KEY, DigestSettings
from bot.services.ledger_import import import_ledger_files
from storage import outbox
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Bulletin, BulletinGroup, OutboxMessage
from storage.settings import set_setting
from tests.bot_process import said, start_bot
from tests.e2e.harness import REPO, SAMPLE_LEDGER, TEST_ACTOR
from tests.fakes.bot_api import Call, FakeBotAPI
from tests.jobs.test_escalation_job import nov
from tests.outbox_states import outbox_states
from tests.polling import until

GROUPS = 300
FIRST_GROUP = -1002000000000
KILL_AFTER = 100  # texts delivered before the one in flight at the kill
SEND_SLOTS = 16  # OutboxSender's concurrency: sends in flight at once


def _identity(call: Call) -> tuple[str, int, str]:
    """What a delivered message is: its method, its chat, and its text or the hash of the file it uploaded."""
    content = call.params.get("text") or hashlib.sha256(b"".join(call.files.values())).hexdigest()
    return call.method, int(call.params["chat_id"]), str(content)


def delivered(fake: FakeBotAPI) -> list[Call]:
    return [c for c in fake.calls if c.ok and c.method in ("sendMessage", "sendPhoto", "sendDocument")
            and int(c.params["chat_id"]) <= FIRST_GROUP]


async def _prepare(url: str) -> None:
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    try:
        issues = (await import_ledger_files(db, FrozenClock(nov(16, 8)), [SAMPLE_LEDGER], actor=TEST_ACTOR)).issues
        assert not issues, issues
        async with db.session() as session:
            now = datetime.now(UTC)
            # `diaodu run` produces no bulletin of its own at start-up: only the one asked for is sent
            quiet = DigestSettings(reminders_enabled=False, weekly_enabled=False, monthly_enabled=False)
            await set_setting(session, key=DIGEST_KEY, value=quiet.to_json(), now=now, by="test")
            session.add_all([BulletinGroup(channel="telegram", chat_id=str(FIRST_GROUP - n), name=f"通报群{n}",
                                           created_at=now, created_by="test") for n in range(GROUPS)])
    finally:
        await db.dispose()


async def _rows(url: str) -> list[OutboxMessage]:
    db = Database(url)
    try:
        async with db.session() as session:
            return list((await session.scalars(select(OutboxMessage).where(
                OutboxMessage.channel == "telegram"))).all())
    finally:
        await db.dispose()


async def _bulletins(url: str) -> int:
    db = Database(url)
    try:
        async with db.session() as session:
            return int(await session.scalar(select(func.count(Bulletin.id)).where(
                Bulletin.kind == "weekly", Bulletin.period == "2026-W47")) or 0)
    finally:
        await db.dispose()


async def _digest(env: dict[str, str], cwd: Path, log: Path) -> asyncio.subprocess.Process:
    with log.open("wb") as stderr:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "digest", "weekly", "--period", "2026-W47", "--send", cwd=cwd, env=env,
            stdout=stderr, stderr=stderr)


async def test_a_bulletin_killed_midway_reaches_every_group_once(fake_api: FakeBotAPI, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'diaodu.sqlite3'}"
    await _prepare(url)
    env = fake_api.run_environment(url, tmp_path / "data")
    env["PYTHONPATH"] = str(REPO)

    # The 101st text the Bot API takes 4 s to answer (less than the client's 5 s read timeout): the kill comes while
    # it is in flight, ten texts later. It does arrive.
    fake_api.inject_fault("sendMessage", status=None, delay=4.0, times=1, after=KILL_AFTER)
    first_log = tmp_path / "digest.log"
    sending = await _digest(env, tmp_path, first_log)
    try:
        await until(lambda: len(fake_api.calls_of("sendMessage", ok=True)) >= KILL_AFTER + 10
                    or sending.returncode is not None, lambda: f"{KILL_AFTER} texts out: {said(first_log)}", 180,
                    every=0.02)
        assert sending.returncode is None, said(first_log)
        sending.send_signal(signal.SIGKILL)
    finally:
        await sending.wait()
    at_kill = len(delivered(fake_api))
    queued = sum((await outbox_states(url, OutboxMessage.channel == "telegram")).values())
    assert queued > 3 * GROUPS  # the text and the charts of each group
    assert await _bulletins(url) == 1

    bot_log = tmp_path / "run.log"
    restarted = time.monotonic()
    bot = await start_bot(env, tmp_path, bot_log)
    try:
        async def settled() -> bool:
            assert bot.returncode is None, said(bot_log)
            states = await outbox_states(url, OutboxMessage.channel == "telegram")
            return not (states[outbox.PENDING] or states[outbox.SENDING])

        await until(settled, lambda: f"every notice settled: {said(bot_log)}", 180, every=0.5)
        finished = time.monotonic() - restarted
    finally:
        bot.send_signal(signal.SIGTERM)
        await asyncio.wait_for(bot.wait(), 30)

    again_log = tmp_path / "again.log"
    again = await _digest(env, tmp_path, again_log)
    assert await again.wait() != 0 and "2026-W47" in again_log.read_text()  # refused: sent before
    assert await _bulletins(url) == 1

    calls = delivered(fake_api)
    twice = [what for what, n in Counter(_identity(c) for c in calls).items() if n > 1]
    assert twice == []
    rows = await _rows(url)
    states = Counter(r.state for r in rows)
    in_doubt = [r for r in rows if r.state == outbox.IN_DOUBT]
    assert set(states) <= {outbox.SENT, outbox.IN_DOUBT}, states
    assert 1 <= len(in_doubt) <= SEND_SLOTS  # the slow send at least: it arrived, and was not sent again
    per_chat = Counter(int(c.params["chat_id"]) for c in calls)
    sent_rows = Counter(int(r.chat_id or 0) for r in rows if r.state == outbox.SENT)
    doubt_rows = Counter(int(r.chat_id or 0) for r in in_doubt)
    for chat in {int(r.chat_id or 0) for r in rows}:  # every message sent arrived; of those in doubt, some
        assert sent_rows[chat] <= per_chat[chat] <= sent_rows[chat] + doubt_rows[chat], chat
    arrived_in_doubt = len(calls) - states[outbox.SENT]
    print(f"\n{queued} messages to {GROUPS} groups; {at_kill} delivered when killed; in doubt after the restart "
          f"{len(in_doubt)} (of which arrived {arrived_in_doubt}, not arrived {len(in_doubt) - arrived_in_doubt}); "
          f"the rest delivered {finished:.1f} s after the restart; none twice")
