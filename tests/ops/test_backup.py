"""Online SQLite backups taken while the bot writes, restored into new files: identical, row by row."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.app import Core
from bot.clock import FrozenClock
from bot.config import load_settings
from bot.ops.backup import (
    BackupError,
    backup_sqlite,
    default_backup_path,
    inspect_database,
    postgres_advice,
    restore_sqlite,
    sqlite_file,
)
from bot.services.ledger_import import import_ledger_files
from storage.audit import Actor
from storage.leader import FileLeadership, leader_lock_path
from storage.migrate import head_revision, upgrade
from tests.polling import until

from .helpers import SAMPLE, START, console_account, dump_tables, say

# Changed by the writer below (reports are added with their audit entries); the rest must not move.
APPENDED = ("reports", "audit_log", "outbox")
CHECKED = ("projects", "reports", "problems", "problem_events", "audit_log", "outbox")


async def _live_core(path: Path) -> Core:
    url = f"sqlite+aiosqlite:///{path}"
    await asyncio.to_thread(upgrade, url)
    clock = FrozenClock(START)
    core = Core.build(load_settings(DATABASE_URL=url, _env_file=None), clock=clock)
    summary = await import_ledger_files(core.db, clock, [SAMPLE], actor=Actor(label="test", channel="cli"))
    assert not summary.issues
    return core


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Core]:
    """A migrated SQLite file with the sample ledger, a few reports and a problem accepted by its unit."""
    core = await _live_core(tmp_path / "live.sqlite3")
    try:
        liaison = await console_account(core, "郝芳")
        unit = await console_account(core, "赵芳")
        assert "已记录填报" in await say(core, liaison, "/report ZD2026-001 850万 桩基完成")
        core.clock.advance(days=1)  # type: ignore[attr-defined]  # one report a project a day
        assert "已记录填报" in await say(core, liaison, "/report ZD2026-001 120万 承台施工")
        assert "W0001" in await say(core, liaison, "/issue ZD2026-001 用地 还有12户未签约")
        assert "受理" in await say(core, unit, "/accept W0001")
        yield core
    finally:
        await core.db.dispose()


async def _make_sample_backup(directory: Path) -> Path:
    core = await _live_core(directory / "live.sqlite3")
    try:
        liaison = await console_account(core, "郝芳")
        assert "已记录填报" in await say(core, liaison, "/report ZD2026-001 850万 桩基完成")
        assert "W0001" in await say(core, liaison, "/issue ZD2026-001 用地 还有12户未签约")
        return (await backup_sqlite(core.db.url, directory / "sample-backup.sqlite3")).path
    finally:
        await core.db.dispose()


@pytest.fixture(scope="module")
def sample_backup(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A backup of the sample ledger with a report and a problem, made once for this module's tests."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _make_sample_backup(tmp_path_factory.mktemp("sample"))).result()


async def _write_reports(core: Core, liaison: str, stop: asyncio.Event, written: list[int]) -> None:
    """Keep filing reports (each its own transaction, each on a day of its own: one report counts per
    project and day) until told to stop."""
    n = 0
    while not stop.is_set():
        n += 1
        core.clock.advance(days=1)  # type: ignore[attr-defined]
        reply = await say(core, liaison, f"/report ZD2026-001 1万 第{n}次进展")
        assert "已记录填报" in reply, reply
        written.append(n)
        await asyncio.sleep(0)


def _count(path: Path, sql: str) -> int:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


async def test_backup_while_writing_then_restore_is_identical(live: Core, tmp_path: Path) -> None:
    source = sqlite_file(live.db.url)
    liaison = await console_account(live, "郝芳")
    stop, written = asyncio.Event(), []
    writer = asyncio.create_task(_write_reports(live, liaison, stop, written))
    backups = []
    try:
        await until(lambda: len(written) >= 5, "five reports written", 10, every=0.01)
        for i in range(3):  # several snapshots, each taken while the writer keeps going
            before = len(written)
            backups.append(await backup_sqlite(live.db.url, tmp_path / f"backup-{i}.sqlite3"))
            await until(lambda before=before: len(written) >= before + 3, "three more reports written", 10,
                        every=0.01)
    finally:
        stop.set()
        await writer
    assert not writer.exception()

    for backup in backups:
        info = inspect_database(backup.path)
        assert info.revision == head_revision()
        # A snapshot of whole transactions: every report in it has the audit entry written with it, and
        # the running sums are those of its reports.
        assert _count(backup.path, "SELECT count(*) FROM reports") == _count(
            backup.path, "SELECT count(*) FROM audit_log WHERE action = 'report.create'")
        assert _count(backup.path, "SELECT sum(amount) FROM report_sums") == _count(
            backup.path, "SELECT sum(amount) FROM reports WHERE withdrawn_at IS NULL")
        # One self-contained file: no write-ahead log left beside it.
        assert not Path(f"{backup.path}-wal").exists()
        conn = sqlite3.connect(f"{backup.path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        finally:
            conn.close()

    # Restore the first snapshot into a new file: identical to the snapshot, row by row, every table.
    first = backups[0]
    restored = await restore_sqlite(first.path, f"sqlite+aiosqlite:///{tmp_path / 'restored.sqlite3'}")
    snapshot, copy = dump_tables(first.path), dump_tables(restored.path)
    assert copy == snapshot
    for table in CHECKED:
        assert snapshot[table], f"{table} is empty: the test data should fill it"

    # The snapshot is the live database as it was: unchanged tables equal, appended ones a prefix of it.
    now = dump_tables(source)
    for table, rows in snapshot.items():
        if table in APPENDED:
            assert now[table][:len(rows)] == rows, table
        elif table == "ledger_marks":  # counters the writes bump: only ever up
            before, after = dict(rows), dict(now[table])
            assert before.keys() <= after.keys() and all(after[k] >= n for k, n in before.items()), (before, after)
        elif table not in ("conversations", "report_sums"):  # those two change in place as the bot works
            assert now[table] == rows, table
    assert len(now["reports"]) > len(snapshot["reports"])  # the writer went on after the snapshot

    # Once the writer has stopped, a backup of the still-open database (recent pages in its WAL) restores
    # to exactly what the bot sees.
    final = await backup_sqlite(live.db.url, tmp_path / "final.sqlite3")
    again = await restore_sqlite(final.path, tmp_path / "again.sqlite3")
    assert dump_tables(again.path) == dump_tables(source)
    assert len(dump_tables(again.path)["reports"]) == 2 + len(written)


async def test_restore_refuses_a_target_with_data_unless_forced(sample_backup: Path, tmp_path: Path) -> None:
    target = tmp_path / "other.sqlite3"
    await asyncio.to_thread(upgrade, f"sqlite+aiosqlite:///{target}")
    conn = sqlite3.connect(target)
    conn.execute("INSERT INTO units (name, created_at) VALUES ('某单位', '2026-11-20 02:00:00')")
    conn.commit()
    conn.close()
    with pytest.raises(BackupError, match="已有数据"):
        await restore_sqlite(sample_backup, target)
    assert [row[1] for row in dump_tables(target)["units"]] == ["某单位"]
    await restore_sqlite(sample_backup, target, force=True)
    assert dump_tables(target) == dump_tables(sample_backup)


async def test_restore_into_a_freshly_migrated_database_needs_no_force(sample_backup: Path,
                                                                       tmp_path: Path) -> None:
    target = tmp_path / "fresh.sqlite3"
    await asyncio.to_thread(upgrade, f"sqlite+aiosqlite:///{target}")
    await restore_sqlite(sample_backup, target)
    assert dump_tables(target) == dump_tables(sample_backup)


async def test_restore_refuses_while_a_bot_holds_the_database(sample_backup: Path, tmp_path: Path) -> None:
    target = tmp_path / "running.sqlite3"
    running = FileLeadership(leader_lock_path(target))
    assert await running.acquire(asyncio.Event())
    try:
        with pytest.raises(BackupError, match="请先停止机器人"):
            await restore_sqlite(sample_backup, target, force=True)
    finally:
        await running.release()
    await restore_sqlite(sample_backup, target, force=True)


async def test_restore_checks_what_it_is_given(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(BackupError, match="不是 SQLite"):
        await restore_sqlite(junk, tmp_path / "t.sqlite3")
    foreign = tmp_path / "foreign.sqlite3"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    with pytest.raises(BackupError, match="alembic_version"):
        await restore_sqlite(foreign, tmp_path / "t.sqlite3")
    with pytest.raises(BackupError, match="找不到"):
        await restore_sqlite(tmp_path / "missing.sqlite3", tmp_path / "t.sqlite3")
    assert not (tmp_path / "t.sqlite3").exists()


async def test_backup_never_overwrites_and_never_creates_the_source(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="不存在"):
        await backup_sqlite(tmp_path / "nothing.sqlite3", tmp_path / "b.sqlite3")
    assert not (tmp_path / "nothing.sqlite3").exists()
    with pytest.raises(BackupError, match="内存"):
        await backup_sqlite("sqlite+aiosqlite://", tmp_path / "b.sqlite3")
    existing = tmp_path / "exists.sqlite3"
    existing.write_bytes(b"x")
    source = tmp_path / "s.sqlite3"
    await asyncio.to_thread(upgrade, f"sqlite+aiosqlite:///{source}")
    with pytest.raises(BackupError, match="已存在"):
        await backup_sqlite(source, existing)
    assert existing.read_bytes() == b"x"


def test_default_name_is_shanghai_time(tmp_path: Path) -> None:
    path = default_backup_path(tmp_path, FrozenClock(START))
    assert path == tmp_path / "backups" / "diaodu-20261120-100000.sqlite3"


def test_postgres_advice_has_the_flags_and_no_password() -> None:
    url = "postgresql+asyncpg://diaodu:p%40ss-w0rd@db.internal:5433/diaodu_prod?ssl=require"
    advice = postgres_advice(url, now=START)
    assert "p@ss-w0rd" not in advice and "p%40ss" not in advice
    assert ("pg_dump --host=db.internal --port=5433 --username=diaodu --dbname=diaodu_prod --format=custom"
            in advice)
    assert "--file=diaodu-20261120-100000.dump" in advice
    assert "pg_restore" in advice and "--clean --if-exists" in advice and "--single-transaction" in advice
    assert "PGSSLMODE=require" in advice and "PGPASSWORD" in advice


def test_cli_backup_and_restore(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "data" / "diaodu.sqlite3"
    upgrade(f"sqlite+aiosqlite:///{source}")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", "sqlite+aiosqlite:///data/diaodu.sqlite3")
    monkeypatch.delenv("DATA_DIR", raising=False)
    assert main(["backup"]) == 0
    [made] = list((tmp_path / "data" / "backups").glob("diaodu-*.sqlite3"))
    assert "已备份" in capsys.readouterr().out
    assert main(["backup", "--out", "b.sqlite3"]) == 0
    assert main(["backup", "--out", "b.sqlite3"]) == 1  # never overwritten
    assert "已存在" in capsys.readouterr().err

    monkeypatch.setenv("DATABASE_URL", "sqlite+aiosqlite:///restored.sqlite3")
    assert main(["restore", str(made)]) == 0
    assert "恢复" in capsys.readouterr().out
    assert main(["restore", str(made)]) == 0  # only alembic_version holds a row: nothing to lose
    assert dump_tables(tmp_path / "restored.sqlite3") == dump_tables(made)


def test_cli_backup_on_postgres_only_advises(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://bot:TopSecret99@10.0.0.5/diaodu")
    assert main(["backup"]) == 0
    assert main(["restore", "x.dump"]) == 0
    out = capsys.readouterr().out
    assert "pg_dump --host=10.0.0.5 --username=bot --dbname=diaodu" in out
    assert "pg_restore --host=10.0.0.5" in out and "x.dump" in out
    assert "TopSecret99" not in out
    assert not list(tmp_path.iterdir())


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The most permissive umask there is, for the length of the test."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_database_wal_lock_and_backups_are_private_whatever_the_umask(tmp_path: Path,
                                                                           open_umask: None) -> None:
    database = tmp_path / "data" / "diaodu.sqlite3"
    core = await _live_core(database)  # migrated, the sample imported: written through the WAL
    try:
        liaison = await console_account(core, "郝芳")
        assert "已记录填报" in await say(core, liaison, "/report ZD2026-001 850万 桩基完成")
        wal, shm = Path(f"{database}-wal"), Path(f"{database}-shm")
        assert wal.exists() and shm.exists()
        leadership = FileLeadership(leader_lock_path(database))
        assert await leadership.acquire(asyncio.Event())
        try:
            backup = tmp_path / "backups" / "copy.sqlite3"
            await backup_sqlite(core.db.url, backup)
            restored = tmp_path / "restored" / "diaodu.sqlite3"
            await restore_sqlite(backup, restored)
        finally:
            await leadership.release()
        files = (database, wal, shm, leader_lock_path(database), backup, restored, Path(f"{restored}-wal"),
                 Path(f"{restored}-shm"))
        modes = {str(path.relative_to(tmp_path)): _mode(path) for path in files if path.exists()}
    finally:
        await core.db.dispose()
    assert len(modes) >= 6, modes
    assert modes == dict.fromkeys(modes, 0o600)
    # A file made in the same directory without care shows what the umask alone would have given.
    (tmp_path / "plain").touch()
    assert _mode(tmp_path / "plain") == 0o666
