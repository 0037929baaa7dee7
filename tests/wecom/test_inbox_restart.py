"""Nothing WeCom was answered for is lost when `diaodu run` is killed before handling it: the callbacks are answered
while another connection holds SQLite's write lock (so that none can be handled), the process is killed
(SIGKILL), and after a restart every message is handled once, each member's in the order it was sent.

The bot runs in a process of its own (``tests.bot_process.start_bot``) against the fake WeCom, on a SQLite file
holding the sample ledger.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path

import aiohttp
from sqlalchemy import select

from bot.channels.wecom.binding import bind_wecom
from bot.channels.wecom.wiring import CALLBACK_PATH, WECOM_INBOX
from bot.clock import SystemClock
from bot.services.ledger_import import import_ledger_files
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Problem, Report
from tests.bot_process import said, start_bot
from tests.e2e.harness import SAMPLE_LEDGER, TEST_ACTOR, without_digests
from tests.fakes.wecom_api import FakeWeCom
from tests.polling import until
from tests.wecom.harness import HAO

WU = "WuJie"  # 武杰, liaison of ZD2026-002
ISSUES = ["/issue ZD2026-001 用地 第一件：还有12户未签约", "/issue ZD2026-001 资金 第二件：配套资金未到位",
          "/issue ZD2026-001 审批手续 第三件：施工许可未批"]
REPORT = "/report ZD2026-002 300 路基施工"
LISTENING = re.compile(r"HTTP server listening on [\d.]+:(\d+)")


async def _sample_district(path: Path) -> str:
    """A SQLite file at the latest migration holding the sample ledger, bulletins off, 郝芳 and 武杰 bound to
    their WeCom accounts."""
    url = f"sqlite+aiosqlite:///{path}"
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    clock = SystemClock()
    try:
        summary = await import_ledger_files(db, clock, [SAMPLE_LEDGER], actor=TEST_ACTOR)
        assert not summary.issues, summary.issues
        async with db.session() as session:
            await without_digests(session, now=clock.now())
        await bind_wecom(db, clock, userid=HAO, person_name="郝芳")
        await bind_wecom(db, clock, userid=WU, person_name="武杰")
    finally:
        await db.dispose()
    return url


async def _served(bot: asyncio.subprocess.Process, log: Path) -> str:
    """The bot's base URL once it listens and leads (/healthz answers 200)."""
    port: list[str] = []

    def listening() -> bool:
        assert bot.returncode is None, "the bot ended; it said:\n" + said(log)
        port[:] = LISTENING.findall(log.read_text(errors="replace"))[-1:]
        return bool(port)

    await until(listening, lambda: "the bot does not listen; it said:\n" + said(log), 60)
    base = f"http://127.0.0.1:{port[0]}"

    async def live() -> bool:
        assert bot.returncode is None, "the bot ended; it said:\n" + said(log)
        async with aiohttp.ClientSession() as client, client.get(base + "/healthz") as answer:
            return answer.status == 200

    await until(live, lambda: "the bot is not live; it said:\n" + said(log), 60, every=0.2)
    return base


async def _stored(url: str) -> tuple[list[str], int]:
    """The problems' texts, in the order they were recorded, and how many reports there are."""
    db = Database(url)
    try:
        async with db.session() as session:
            problems = list((await session.scalars(select(Problem.text).order_by(Problem.id))).all())
            reports = len((await session.scalars(select(Report.id))).all())
    finally:
        await db.dispose()
    return problems, reports


async def test_messages_answered_before_a_kill_are_handled_once_in_order_after_the_restart(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    url = await _sample_district(path)
    data = tmp_path / "data"
    async with FakeWeCom() as fake:
        fake.add_user(HAO, WU)
        env = fake.run_environment(url, data)
        first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
        bot = await start_bot(env, tmp_path, first_log)
        try:
            callback = await _served(bot, first_log) + CALLBACK_PATH
            since = len(fake.calls)
            holder = sqlite3.connect(path, isolation_level=None)  # another writer: no message can be handled
            try:
                holder.execute("BEGIN IMMEDIATE")
                answers = []
                for n, text in enumerate(ISSUES):
                    answers.append(await fake.post_callback(callback, fake.text_xml(HAO, text)))
                    if n == 0:
                        answers.append(await fake.post_callback(callback, fake.text_xml(WU, REPORT)))
                assert answers == [(200, "")] * 4  # answered: WeCom will not post them again
                assert fake.calls_of("message/send", since=since) == []  # and none handled
                bot.kill()
                await bot.wait()
            finally:
                holder.rollback()
                holder.close()
            assert await _stored(url) == ([], 0), "handled before the kill"

            bot = await start_bot(env, tmp_path, second_log)
            await _served(bot, second_log)

            async def all_handled() -> bool:
                problems, reports = await _stored(url)
                return len(problems) >= 3 and reports >= 1 and len(fake.sent_to(WU, since=since)) >= 1

            await until(all_handled, lambda: "not handled after the restart; the bot said:\n" + said(second_log), 60)
            await asyncio.sleep(1.0)  # nothing more comes
            problems, reports = await _stored(url)
            assert problems == [text.split(" ", 3)[3] for text in ISSUES]  # once each, in the order sent
            assert reports == 1
            told = "\n".join(fake.shown(HAO, since=since))
            assert re.findall(r"W000\d", told) == ["W0001", "W0002", "W0003"], told  # each answered once, in order
            confirmed = [m for m in fake.sent_to(WU, since=since) if m["msgtype"] != "template_card"]
            assert len(confirmed) == 1 and "已记录填报" in confirmed[0]["markdown"]["content"], confirmed
            assert "handling them now" in said(second_log)
            bot.terminate()
            assert await asyncio.wait_for(bot.wait(), 30) == 0, said(second_log)
        finally:
            if bot.returncode is None:
                bot.kill()
                await bot.wait()
    assert list((data / WECOM_INBOX).iterdir()) == []  # a clean stop leaves nothing to handle
