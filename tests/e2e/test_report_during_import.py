"""Reports sent while a real ledger import runs, end to end (the real PTB Application and the fake Bot API),
on SQLite (a file, as the bot and `diaodu import` share it) and on PostgreSQL (TEST_DATABASE_URL); the
import runs as `diaodu import` does (another connection pool), or in the chat (an admin's /import).

The district has 3,042 projects (the sample ledger and 3,000 more, most of them followed by four liaisons).
An admin re-imports the ledger with every annual plan changed, through ``bot.services.ledger_import`` on a
connection pool of its own, as the CLI in another process would. Meanwhile the four liaisons keep reporting,
each on projects of their own, until the import is over. Every report is answered and stored exactly once
(a reply saying it was not saved is retried, as the liaison would), some of them while the import was
writing, and the import's result is complete: every project of the file has its new plan.
"""

from __future__ import annotations

import asyncio
import csv
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from bot.app import Core
from bot.clock import SHANGHAI, FrozenClock
from bot.config import Settings
from bot.services.ledger_import import ImportResult, import_ledger_files
from storage.annual_plans import plans_of_year
from storage.audit import Actor
from storage.db import Database
from storage.models import Person, Project, Report
from tests.databases import BACKENDS, fresh_database
from tests.e2e.harness import REPO, TelegramHarness, running
from tests.fakes.bot_api import FakeBotAPI

PROJECTS_CSV = REPO / "bot" / "demo" / "projects_sample.csv"
PEOPLE_CSV = REPO / "bot" / "demo" / "people_sample.csv"
NOW = datetime(2026, 12, 3, 10, 0, tzinfo=SHANGHAI)  # a Thursday
AS_OF = date(2026, 11, 30)
EXTRA = 3_000
LIAISONS = {1001: "郝芳", 1002: "武杰", 1003: "李海涛", 1004: "吴静"}
PLAN, TOTAL, CODE = "年度计划投资(万元)", "总投资(万元)", "项目编号"
ACTOR = Actor(label="管理员(区重大项目办)", channel="cli")
REPLY_WAIT = 60.0  # seconds a report may take to be answered on a busy machine (its write waits at most 5 s)


def write_ledger(folder: Path, *, plan_bump: int) -> Path:
    """The sample projects and EXTRA more (the liaisons' rows copied under new codes), every plan raised by
    `plan_bump` 万元 (and the total investment with it), as a projects CSV (the roster is the sample's)."""
    with PROJECTS_CSV.open(encoding="utf-8-sig", newline="") as source:
        rows = list(csv.DictReader(source))
    fields = list(rows[0])
    liaison_rows = [row for row in rows if row["首办秘书(联络员)"] in LIAISONS.values()]
    assert len(liaison_rows) == len(LIAISONS)
    for number in range(EXTRA):
        row = dict(liaison_rows[number % len(liaison_rows)])
        row.update({CODE: f"ZD2026-{10_000 + number}", "项目名称": f"扩建项目{number}号",
                    PLAN: str(1_000 + number % 500), "截至上月累计完成(万元)": str(number % 300)})
        rows.append(row)
    for row in rows:
        row[PLAN] = str(Decimal(row[PLAN]) + plan_bump)
        row[TOTAL] = str(Decimal(row[TOTAL]) + plan_bump)
    path = folder / f"projects_{plan_bump}.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return path


@asynccontextmanager
async def district_database(backend: str, folder: Path) -> AsyncIterator[str]:
    """The URL of a database of that backend holding the first ledger (a file for SQLite)."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{folder / 'district.sqlite3'}"
        db = Database(url)
        await db.create_all()
        await db.dispose()
        yield url
        return
    async with fresh_database(backend) as db:
        yield db.url


async def _import(url: str, clock: FrozenClock, ledger: Path) -> ImportResult:
    db = Database(url)
    try:
        return await import_ledger_files(db, clock, [ledger, PEOPLE_CSV], actor=ACTOR, as_of=AS_OF)
    finally:
        await db.dispose()


@dataclass
class Sent:
    """One report a liaison sent: its project, amount, when sent and answered, and how often retried."""

    code: str
    amount: int
    sent: float = 0.0
    answered: float = 0.0
    retries: int = 0
    replies: list[str] = field(default_factory=list)


async def _report(tg: TelegramHarness, user: int, report: Sent) -> None:
    """Send the report and wait for its answer; a "not saved" answer is retried, as a liaison would."""
    report.sent = time.monotonic()
    while True:
        mark = len(tg.fake.calls)
        update = tg.fake.enqueue_text(user, f"/report {report.code} {report.amount} 主体施工")
        await tg.wait_processed(update["update_id"], timeout=REPLY_WAIT)
        texts = [c["text"] for c in tg.fake.calls[mark:]
                 if c.method == "sendMessage" and c.ok and c.matches(None, {"chat_id": user})]
        report.replies.extend(texts)
        if any("没有处理成功" in t for t in texts) and report.retries < 3:
            report.retries += 1
            continue
        report.answered = time.monotonic()
        return


async def _liaison(tg: TelegramHarness, user: int, codes: list[str], importing: asyncio.Task[ImportResult],
                   sent: list[Sent]) -> None:
    """Report on one project after another until the import is over (and at least once)."""
    for number, code in enumerate(codes):
        if number and importing.done():
            return
        report = Sent(code=code, amount=100 + number)
        sent.append(report)
        await _report(tg, user, report)
    raise AssertionError("the liaison ran out of projects before the import ended")


@pytest.mark.handler_failures  # a report meeting the import's lock past the bound is answered "not saved"
@pytest.mark.parametrize("backend", BACKENDS)
async def test_reports_during_a_real_import_are_answered_and_stored_once(
        backend: str, fake_api: FakeBotAPI, tg_settings: Settings, tmp_path: Path) -> None:
    clock = FrozenClock(NOW)
    first, second = write_ledger(tmp_path, plan_bump=0), write_ledger(tmp_path, plan_bump=7)
    async with district_database(backend, tmp_path) as url:
        setup = await _import(url, clock, first)
        assert setup.issues == [] and setup.written, [str(i) for i in setup.issues[:5]]

        core = Core.build(tg_settings, clock=clock, db=Database(url))
        writes: list[float] = []
        done_at: list[float] = []  # when the import (committed) was over
        try:
            async with running(TelegramHarness(fake_api, core, tg_settings)) as tg:
                for user, name in LIAISONS.items():
                    await tg.bind(user, name)
                codes = await _codes_by_liaison(core.db)

                importer = Database(url)

                def record_write(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
                    if statement.split()[0].upper() in ("INSERT", "UPDATE", "DELETE"):
                        writes.append(time.monotonic())

                event.listen(importer.engine.sync_engine, "before_cursor_execute", record_write)
                sent: list[Sent] = []
                try:
                    importing = asyncio.create_task(import_ledger_files(
                        importer, clock, [second, PEOPLE_CSV], actor=ACTOR, as_of=AS_OF))
                    importing.add_done_callback(lambda _task: done_at.append(time.monotonic()))
                    await asyncio.gather(*(_liaison(tg, user, codes[name], importing, sent)
                                           for user, name in LIAISONS.items()))
                    result = await importing
                finally:
                    await importer.dispose()
                tg.errors.clear()  # a report refused past the lock bound is logged and answered, not raised

                # The import's result is complete: every project of the file has its new plan.
                assert result.issues == [] and result.written and not result.needs_as_of
                assert result.changed["project"] == EXTRA + 42
                assert writes, "the import wrote nothing"
                await _check_import_complete(core.db)

                overlapping = [r for r in sent if r.sent <= done_at[0] and r.answered >= writes[0]]
                print(f"{backend}: {len(sent)} reports, {sum(r.retries for r in sent)} retried, "
                      f"{len(overlapping)} in flight while the import wrote for {done_at[0] - writes[0]:.2f} s")
                # Every report was answered, and stored exactly once.
                assert len(sent) >= 2 * len(LIAISONS)
                await _check_stored_once(core.db, sent)
                # ... some of them while the import was writing (its write overlapped their handling).
                assert overlapping, "no report was in flight while the import wrote"
                tg.assert_nothing_failed()
        finally:
            await core.db.dispose()


async def _check_import_complete(db: Database) -> None:
    """Every project of the second file is there with its new plan."""
    async with db.session() as session:
        plans = await plans_of_year(session, year=2026)
        by_code = dict((await session.execute(select(Project.code, Project.id))).all())
    assert len(by_code) == EXTRA + 42
    assert plans[by_code["ZD2026-10000"]] == Decimal(1_007)
    assert plans[by_code["ZD2026-12999"]] == Decimal(1_000 + 2_999 % 500 + 7)
    assert plans[by_code["ZD2026-001"]] == Decimal(40_807)
    assert sum(1 for p in plans.values() if p is not None) == EXTRA + 42


async def _check_stored_once(db: Database, sent: list[Sent]) -> None:
    """Every report answered 已记录 and stored exactly once; none taken for a second one of its day."""
    unanswered = [r for r in sent if not any("已记录" in t for t in r.replies)]
    assert not unanswered, [(r.code, r.replies) for r in unanswered]
    assert not any("已有一条填报" in t for r in sent for t in r.replies)
    async with db.session() as session:
        stored = (await session.execute(
            select(Project.code, Report.amount, func.count(Report.id))
            .join(Project, Project.id == Report.project_id)
            .where(Report.withdrawn_at.is_(None))
            .group_by(Project.code, Report.amount))).all()
    assert sorted(stored) == sorted((r.code, Decimal(r.amount), 1) for r in sent)


async def _codes_by_liaison(db: Database) -> dict[str, list[str]]:
    """Each liaison's projects among the 3,000 added, by code."""
    async with db.session() as session:
        rows = (await session.execute(
            select(Person.name, Project.code).join(Person, Person.id == Project.liaison_id)
            .where(Project.code.like("ZD2026-1____")).order_by(Project.code))).all()
    codes: dict[str, list[str]] = {}
    for name, code in rows:
        codes.setdefault(name, []).append(code)
    assert sorted(codes) == sorted(LIAISONS.values())
    return codes


ADMIN = 9001


async def _send_document(tg: TelegramHarness, user: int, name: str, data: bytes) -> list[str]:
    """The admin sends a file (served by the fake's getFile); the texts the bot answered with."""
    update = tg.fake.text_update(user, "")
    message = update["message"]
    del message["text"]
    file_id = tg.fake.add_file(data)
    message["document"] = {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_name": name,
                           "mime_type": "text/csv", "file_size": len(data)}
    mark = len(tg.fake.calls)
    tg.fake.enqueue_update(update)
    await tg.wait_processed(update["update_id"], timeout=REPLY_WAIT)
    return [c["text"] for c in tg.fake.calls[mark:]
            if c.method == "sendMessage" and c.ok and c.matches(None, {"chat_id": user})]


@pytest.mark.handler_failures  # as above: a report past the lock bound would be answered "not saved"
@pytest.mark.parametrize("backend", BACKENDS)
async def test_reports_sent_while_an_admin_imports_in_the_chat_wait_and_are_stored_once(
        backend: str, fake_api: FakeBotAPI, tg_settings: Settings, tmp_path: Path) -> None:
    """The same re-import, sent by the admin in the chat and confirmed there. One process handles its
    Telegram updates one at a time (python-telegram-bot's default): reports sent right after 确认 wait
    until the import is over, then each is answered and stored once."""
    clock = FrozenClock(NOW)
    first, second = write_ledger(tmp_path, plan_bump=0), write_ledger(tmp_path, plan_bump=7)
    async with district_database(backend, tmp_path) as url:
        setup = await _import(url, clock, first)
        assert setup.issues == [] and setup.written
        core = Core.build(tg_settings, clock=clock, db=Database(url))
        try:
            async with running(TelegramHarness(fake_api, core, tg_settings)) as tg:
                await tg.bind(ADMIN, ACTOR.label, "admin")
                for user, name in LIAISONS.items():
                    await tg.bind(user, name)
                codes = await _codes_by_liaison(core.db)
                assert "请发送项目台账文件" in await tg.send(ADMIN, "/import")
                preview = await _send_document(tg, ADMIN, "12月台账.csv", second.read_bytes())
                assert any("导入预览" in t and "更新 3042" in t for t in preview), preview

                mark = len(tg.fake.calls)
                confirmed = tg.fake.enqueue_callback(ADMIN, label="确认")
                sent = [Sent(code=codes[name][n], amount=200 + n) for name in LIAISONS.values() for n in (0, 1)]
                users = [user for user in LIAISONS for _n in (0, 1)]
                updates = []
                for user, report in zip(users, sent, strict=True):
                    report.sent = time.monotonic()
                    updates.append(tg.fake.enqueue_text(user, f"/report {report.code} {report.amount} 主体施工"))
                await tg.wait_processed(confirmed["update_id"], timeout=REPLY_WAIT)
                imported = time.monotonic()
                for report, update in zip(sent, updates, strict=True):
                    await tg.wait_processed(update["update_id"], timeout=REPLY_WAIT)
                    report.answered = time.monotonic()
                calls = [c for c in tg.fake.calls[mark:] if c.method == "sendMessage" and c.ok]
                for user, report in zip(users, sent, strict=True):
                    report.replies = [c["text"] for c in calls if c.matches(None, {"chat_id": user})
                                      and report.code in c["text"]]
                assert any("导入完成" in c["text"] for c in calls if c.matches(None, {"chat_id": ADMIN}))
                print(f"{backend}: the chat import took {imported - sent[0].sent:.2f} s; the reports sent "
                      f"meanwhile were answered {min(r.answered - r.sent for r in sent):.2f}–"
                      f"{max(r.answered - r.sent for r in sent):.2f} s after they were sent")
                await _check_import_complete(core.db)
                await _check_stored_once(core.db, sent)
                tg.assert_nothing_failed()
        finally:
            await core.db.dispose()
