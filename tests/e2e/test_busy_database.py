"""A SQLite database held busy for 10 seconds under `diaodu run`: another process keeps the write lock (as a long
import's transaction would) while liaisons report and the bot is sending a batch of notices. `diaodu run` runs in a
process of its own against the fake Bot API.

Every report is answered once: saved, or (past the 5 s a write waits) 这条消息没有处理成功，内容未保存，请稍后重新
发送 — never silence, never a traceback — and a report sent again once the lock is gone is saved. The notices
being sent when the lock came go out once each, within seconds of its end: none waits for its claim's ten-minute
lease, none is left 结果未知 for a send that got through."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from bot.clock import FrozenClock
from bot.domain.digest_settings import DIGEST_KEY, DigestSettings
from bot.domain.messages import Reply
from bot.services.ledger_import import import_ledger_files
from storage import outbox, people
from storage.db import Database
from storage.migrate import upgrade
from storage.models import OutboxMessage, Person, PersonRole, Project, Report
from storage.settings import set_setting
from tests.bot_process import said, start_bot
from tests.e2e.harness import REPO, SAMPLE_LEDGER, TEST_ACTOR
from tests.fakes.bot_api import FakeBotAPI
from tests.jobs.test_escalation_job import nov
from tests.outbox_states import outbox_states
from tests.polling import until

HOLD = 10.0  # seconds the other process keeps the write lock
NOTICES = 400  # notices going out when the lock comes (Telegram's 30/s: some 13 s of sending)
FIRST_LIAISON = 7001
SAVED = "已记录填报"
NOT_SAVED = "没有处理成功，内容未保存，请稍后重新发送"


async def _prepare(url: str) -> dict[int, str]:
    """The sample ledger, its liaisons bound on Telegram, and the notices to send: each liaison's chat and one of
    their projects' codes."""
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    try:
        issues = (await import_ledger_files(db, FrozenClock(nov(16, 8)), [SAMPLE_LEDGER], actor=TEST_ACTOR)).issues
        assert not issues, issues
        now = datetime.now(UTC)
        chats: dict[int, str] = {}
        async with db.session() as session:
            quiet = DigestSettings(reminders_enabled=False, weekly_enabled=False, monthly_enabled=False)
            await set_setting(session, key=DIGEST_KEY, value=quiet.to_json(), now=now, by="test")
            liaisons = (await session.scalars(select(Person).join(PersonRole).where(
                PersonRole.role == "liaison").order_by(Person.id))).all()
            for n, person in enumerate(liaisons[:6]):
                code = await session.scalar(select(Project.code).where(Project.liaison_id == person.id)
                                            .order_by(Project.code).limit(1))
                if code is None:
                    continue
                chat = FIRST_LIAISON + n
                await people.bind_account(session, person=person, channel="telegram", external_id=str(chat),
                                          chat_id=str(chat), display_name=person.name, now=now)
                chats[chat] = code
            for n in range(NOTICES):
                await outbox.enqueue_for_chat(session, channel="telegram", chat_id=str(-1003000000000 - n),
                                              reply=Reply(html=f"通知 {n}"), key=f"busy-{n}", now=now)
        return chats
    finally:
        await db.dispose()


def _answers(fake: FakeBotAPI, chat: int) -> list[str]:
    return [text for text in fake.texts(chat) if SAVED in text or NOT_SAVED in text]


async def test_a_database_held_busy_for_ten_seconds_loses_no_report_and_no_notice(
        fake_api: FakeBotAPI, tmp_path: Path) -> None:
    database = tmp_path / "diaodu.sqlite3"
    url = f"sqlite+aiosqlite:///{database}"
    chats = await _prepare(url)
    assert len(chats) >= 4
    env = fake_api.run_environment(url, tmp_path / "data")
    env["PYTHONPATH"] = str(REPO)
    log = tmp_path / "run.log"
    bot = await start_bot(env, tmp_path, log)
    try:
        await fake_api.wait_for("getUpdates", timeout=60)
        await until(lambda: len(fake_api.calls_of("sendMessage", ok=True)) >= 50,
                    lambda: f"the notices going out: {said(log)}", 60)

        holder = sqlite3.connect(database, isolation_level=None, timeout=30)
        try:
            holder.execute("BEGIN IMMEDIATE")
            locked = time.monotonic()
            for chat, code in chats.items():
                fake_api.user(chat)
                fake_api.enqueue_text(chat, f"{code} 120 主体施工")
            await asyncio.sleep(max(0.0, HOLD - (time.monotonic() - locked)))
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        released = time.monotonic()

        await until(lambda: all(_answers(fake_api, chat) for chat in chats),
                    lambda: f"every report answered: {[(c, _answers(fake_api, c)) for c in chats]} {said(log)}", 60)
        for chat, code in chats.items():  # those not saved are sent again, as the answer asks
            if NOT_SAVED in _answers(fake_api, chat)[0]:
                fake_api.enqueue_text(chat, f"{code} 120 主体施工")
        await until(lambda: all(SAVED in _answers(fake_api, chat)[-1] for chat in chats),
                    lambda: f"every report saved: {[(c, _answers(fake_api, c)) for c in chats]}", 60)

        seen: list[Counter[str]] = [Counter()]

        async def all_sent() -> bool:
            assert bot.returncode is None, said(log)
            seen[0] = await outbox_states(url, OutboxMessage.dedupe_key.like("busy-%"))
            return seen[0][outbox.SENT] == NOTICES

        await until(all_sent, lambda: f"every notice sent: {seen[0]} {said(log)}", 90, every=0.5)
        done = time.monotonic() - released
    finally:
        bot.send_signal(signal.SIGTERM)
        await asyncio.wait_for(bot.wait(), 30)

    answers = {chat: _answers(fake_api, chat) for chat in chats}
    for chat, said_to in answers.items():
        assert len(said_to) in (1, 2) and SAVED in said_to[-1], said_to  # one answer a message
        assert all("Traceback" not in text for text in fake_api.texts(chat))
    not_saved = sum(NOT_SAVED in said_to[0] for said_to in answers.values())
    notices = Counter(c.params["chat_id"] for c in fake_api.calls_of("sendMessage", ok=True)
                      if str(c.params["chat_id"]).startswith("-100300"))
    assert len(notices) == NOTICES and set(notices.values()) == {1}
    db = Database(url)
    try:
        async with db.session() as session:
            reports = await session.scalar(select(func.count(Report.id)).where(Report.withdrawn_at.is_(None)))
    finally:
        await db.dispose()
    assert reports == len(chats)
    print(f"\n{len(chats)} reports during a {HOLD:.0f} s lock: {not_saved} answered 未保存 and saved when sent again; "
          f"{NOTICES} notices all sent once, the last {done:.1f} s after the lock ended")
