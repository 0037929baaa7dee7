"""The ledger import and other writers of the same database at once, on a SQLite file and on PostgreSQL: a change
committed by another connection after the import read the database, even in the instant between 确认's check and
its first write, makes the import write nothing and say so (the chat's 确认 and `diaodu import` alike); 确认
after a restart reads the database once; and an undated import meeting a report in progress on one of its
projects does not deadlock with it.

Another admin's rename is committed from a connection pool of its own (in a thread of its own when it must happen
inside one of the import's statements' events). The sample ledger has ZD2026-001 城北高速连接线 with an annual plan
of 40,800 万元; the file raises it to 45,000, so the import updates that project's row.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from bot.__main__ import main
from bot.app import Core
from bot.clock import FrozenClock
from bot.config import load_settings
from bot.services import ledger_import
from bot.services.import_previews import PreviewedImports
from bot.services.ledger_import import import_ledger_files
from storage import audit
from storage.audit import Actor
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Project
from storage.reports import add_report
from tests.admin.admin_support import ADMIN_NAME, Desk, wire_admin
from tests.admin.test_admin_import import annual_plan, ledger_csv, upload
from tests.admin.test_import_confirm_writes import _waiting_for_a_lock
from tests.databases import BACKENDS, fresh_database
from tests.e2e.harness import SAMPLE_LEDGER, START, TEST_ACTOR
from tests.storage.factories import SAMPLE_PEOPLE_CSV, SAMPLE_PROJECTS_CSV

OTHER = Actor(label="另一位管理员", channel="console")
RENAMED = "改名后的项目"
STALE = "未导入：预览之后项目、人员或单位已有变动"


@asynccontextmanager
async def database_url(backend: str, tmp_path: Path, template: Path) -> AsyncIterator[str]:
    """A database holding the sample ledger that several connection pools can share: a SQLite file (a copy of the
    template), or the PostgreSQL test database."""
    if backend == "sqlite":
        shutil.copy(template, tmp_path / "district.sqlite3")
        yield f"sqlite+aiosqlite:///{tmp_path / 'district.sqlite3'}"
        return
    async with fresh_database("postgresql") as fresh:
        summary = await import_ledger_files(fresh, FrozenClock(START), [SAMPLE_LEDGER], actor=TEST_ACTOR)
        assert summary.written, summary.issues
        yield fresh.url


@asynccontextmanager
async def desk_on(backend: str, tmp_path: Path, template: Path, monkeypatch: pytest.MonkeyPatch
                  ) -> AsyncIterator[tuple[Desk, str]]:
    """A Desk (the admin commands wired in) on such a database, and its URL."""
    async with database_url(backend, tmp_path, template) as url:
        settings = load_settings(DATABASE_URL=url, DATA_DIR=str(tmp_path / "data"),
                                 TELEGRAM_BOT_TOKEN="123456:admin-desk", TELEGRAM_BOT_USERNAME="diaodu_bot",
                                 _env_file=None)
        core = Core.build(settings, clock=FrozenClock(START), db=Database(url))
        wire_admin(core.router, monkeypatch)
        try:
            yield Desk(core), url
        finally:
            await core.db.dispose()


async def rename(url: str, code: str = "ZD2026-001", name: str = RENAMED) -> None:
    """Another admin renames a project, as /project_set writes it (the row and its audit entry), in a connection
    pool of its own."""
    other = Database(url)
    try:
        async with other.session() as session:
            await session.execute(update(Project).where(Project.code == code).values(name=name))
            await audit.record(session, actor=OTHER, at=START, action="project.update", object_type="project",
                               object_key=code, detail={"field": "name", "after": name})
    finally:
        await other.dispose()


@contextmanager
def renamed_at_first_write(target: Any) -> Iterator[list[threading.Thread]]:
    """Before the first INSERT, UPDATE or DELETE on `target` (an engine, or the Engine class for every engine),
    another admin's rename is committed in a thread of its own (waited for at most a few seconds: a writer that
    waits for the import's lock goes on after it)."""
    started: list[threading.Thread] = []

    def before(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if started or statement.lstrip().split(" ", 1)[0].upper() not in ("INSERT", "UPDATE", "DELETE"):
            return
        url = conn.engine.url.render_as_string(hide_password=False)
        thread = threading.Thread(target=asyncio.run, args=(rename(url),))
        started.append(thread)
        thread.start()
        thread.join(timeout=3)

    event.listen(target, "before_cursor_execute", before)
    try:
        yield started
    finally:
        event.remove(target, "before_cursor_execute", before)
        for thread in started:
            thread.join()


async def project_name(url: str, code: str = "ZD2026-001") -> str | None:
    db = Database(url)
    try:
        async with db.session() as session:
            return await session.scalar(select(Project.name).where(Project.code == code))
    finally:
        await db.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_rename_committed_between_confirms_check_and_its_write_is_not_written_over(
        backend: str, tmp_path: Path, ledger_template: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """确认 finds the database as the preview read it; in the instant before its first write another admin's
    rename of the project it updates commits. 确认 writes nothing (it would have written the old name back
    unseen) and previews again, listing the rename; 确认 then imports."""
    async with desk_on(backend, tmp_path, ledger_template, monkeypatch) as (desk, url):
        preview = await desk.send(ADMIN_NAME, "/import", document=upload("台账.csv", ledger_csv("45000")))
        assert "更新 1" in preview

        with renamed_at_first_write(desk.core.db.engine.sync_engine) as renames:
            stale = await desk.press(ADMIN_NAME, "确认")

        assert renames, "确认 wrote nothing"
        assert STALE in stale and RENAMED in stale, stale
        assert await project_name(url) == RENAMED
        assert await annual_plan(desk) == Decimal(40800)  # nothing written
        assert await desk.chat_imports() == []
        done = await desk.press(ADMIN_NAME, "确认")
        assert "导入完成" in done
        assert await annual_plan(desk) == Decimal(45000)  # and the name the file has, as the new preview said


@pytest.mark.parametrize("backend", BACKENDS)
async def test_confirm_refused_lets_other_writers_go_before_it_previews_again(
        backend: str, tmp_path: Path, ledger_template: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """确认 finds a mark moved only once it has taken it (a rename committed in that instant): on SQLite that took
    the one write lock. It refuses and gives its transaction back before it reads and compares the file again, so
    another admin's write meanwhile goes through at once instead of waiting for the whole preview (a large
    district's: tens of seconds) and failing after its lock wait."""
    async with desk_on(backend, tmp_path, ledger_template, monkeypatch) as (desk, url):
        await desk.send(ADMIN_NAME, "/import", document=upload("台账.csv", ledger_csv("45000")))
        writes: list[tuple[str, float]] = []
        load_state = ledger_import.load_state

        async def read_while_another_writes(session: Any, **options: Any) -> Any:
            if renames and not writes:  # the preview made again, after the refusal
                other = Database(url, lock_wait=1.0)
                started = time.perf_counter()
                try:
                    async with other.session() as other_session:
                        await other_session.execute(update(Project).where(Project.code == "ZD2026-002")
                                                    .values(name="另一位管理员改的名"))
                    writes.append(("written", time.perf_counter() - started))
                except OperationalError as error:
                    writes.append((str(error.orig), time.perf_counter() - started))
                finally:
                    await other.dispose()
            return await load_state(session, **options)

        monkeypatch.setattr(ledger_import, "load_state", read_while_another_writes)
        with renamed_at_first_write(desk.core.db.engine.sync_engine) as renames:
            stale = await desk.press(ADMIN_NAME, "确认")

        assert [what for what, _seconds in writes] == ["written"], writes
        assert writes[0][1] < 0.5, writes  # not held for the lock wait
        assert STALE in stale and RENAMED in stale and "另一位管理员改的名" in stale, stale
        assert await annual_plan(desk) == Decimal(40800)  # nothing imported
        done = await desk.press(ADMIN_NAME, "确认")
        assert "导入完成" in done


@pytest.mark.parametrize("backend", BACKENDS)
async def test_confirm_after_a_restart_reads_the_database_once(
        backend: str, tmp_path: Path, ledger_template: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the plan kept (the bot restarted after the preview), 确认 imports the file again: it reads what the
    database holds once, compares it with the preview, and writes."""
    async with desk_on(backend, tmp_path, ledger_template, monkeypatch) as (desk, _url):
        await desk.send(ADMIN_NAME, "/import", document=upload("台账.csv", ledger_csv("45000")))
        desk.core.deps.previews = PreviewedImports()
        reads: list[str] = []

        def read(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if "FROM project_supporting_units" in statement:  # one of the state's queries (storage.ledger_state)
                reads.append(statement)

        engine = desk.core.db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", read)
        try:
            done = await desk.press(ADMIN_NAME, "确认")
        finally:
            event.remove(engine, "before_cursor_execute", read)

        assert "导入完成" in done
        assert await annual_plan(desk) == Decimal(45000)
        assert len(reads) == 1, reads


@pytest.mark.parametrize("backend", BACKENDS)
async def test_the_services_import_writes_nothing_over_a_change_committed_after_its_read(
        backend: str, tmp_path: Path, ledger_template: Path) -> None:
    """The import `diaodu import` runs, on its own connection pool: a rename committed by the running bot after
    the import read the database (before its first write) is kept, and nothing is written."""
    async with database_url(backend, tmp_path, ledger_template) as url:
        (tmp_path / "台账.csv").write_bytes(ledger_csv("45000"))
        importer = Database(url)
        try:
            with renamed_at_first_write(importer.engine.sync_engine) as renames:
                result = await import_ledger_files(importer, FrozenClock(START), [tmp_path / "台账.csv"],
                                                   actor=Actor(label="cli", channel="cli"))
        finally:
            await importer.dispose()

        assert renames, "the import wrote nothing"
        assert result.stale and not result.written
        assert await project_name(url) == RENAMED
        db = Database(url)
        try:
            async with db.session() as session:
                assert await session.scalar(select(Project.annual_plan).where(Project.code == "ZD2026-001")) \
                    == Decimal(40800)
        finally:
            await db.dispose()


def test_diaodu_import_says_it_imported_nothing_when_the_bot_wrote_meanwhile(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """`diaodu import` on the SQLite file the running bot shares: the rename the bot commits after the command read
    the database is kept, and the command says that it imported nothing (exit status 1)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'diaodu.sqlite3'}"
    upgrade(url)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    assert main(["import", str(SAMPLE_PROJECTS_CSV), str(SAMPLE_PEOPLE_CSV), "--as-of", "2026-11-30"]) == 0
    (tmp_path / "台账.csv").write_bytes(ledger_csv("45000"))
    capsys.readouterr()

    with renamed_at_first_write(Engine) as renames:
        status = main(["import", "台账.csv", "--as-of", "2026-11-30"])

    said = capsys.readouterr()
    assert renames
    assert status == 1, said
    assert "系统中的项目、人员或单位又有变动" in said.err and "未导入任何数据" in said.err
    assert asyncio.run(project_name(url)) == RENAMED
    with sqlite3.connect(tmp_path / "diaodu.sqlite3") as connection:
        assert connection.execute("SELECT annual_plan FROM projects WHERE code = 'ZD2026-001'").fetchone() \
            == (408000000,)  # 40,800 万元 in 元: nothing written


async def test_an_undated_import_and_a_report_in_progress_do_not_deadlock_on_postgres(
        tmp_path: Path, ledger_template: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A report locks its project's row, then writes the report (storage.reports). An undated ledger's import
    compares the year's reports too; 确认 used to lock the reports' table before its writes, and waiting for that
    project's row while the report waited for the table, one of them was killed as a deadlock. Now the report is
    stored, and 确认, seeing it, writes nothing and previews again."""
    async with desk_on("postgresql", tmp_path, ledger_template, monkeypatch) as (desk, url):
        preview = await desk.send(ADMIN_NAME, "/import", document=upload("台账.csv", ledger_csv("45000")))
        assert "台账未注明" in preview and "更新 1" in preview
        other = Database(url)
        try:
            async with other.session() as session:
                project = await session.scalar(select(Project).where(Project.code == "ZD2026-001"))
                assert project is not None and project.liaison_id is not None
                await session.execute(select(Project.id).where(Project.id == project.id).with_for_update())
                confirming = asyncio.create_task(desk.press(ADMIN_NAME, "确认"))
                await _waiting_for_a_lock(other)  # 确认 waits for the project's row
                await add_report(session, project_id=project.id, person_id=project.liaison_id,
                                 local_day=START.date(), amount=Decimal(100), progress_text="路基施工", photos=[],
                                 channel="console", now=START, actor=Actor(label="郝芳", channel="console"),
                                 project_code="ZD2026-001")
            stale = await confirming
        finally:
            await other.dispose()

        assert STALE in stale, stale
        assert await annual_plan(desk) == Decimal(40800)
        assert "导入完成" in await desk.press(ADMIN_NAME, "确认")
        assert await annual_plan(desk) == Decimal(45000)
