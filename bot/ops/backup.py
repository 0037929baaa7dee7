"""Backups and restores of the bot's database.

SQLite: ``backup_sqlite`` copies a live database with SQLite's online backup API in one step, i.e. inside
one read transaction. In WAL mode (which the bot always uses) readers do not block writers, so the bot
keeps handling messages while the copy is made, and the copy is a consistent snapshot: every transaction
committed before the copy started is in it, none that committed later is. The copy is written next to its
final name, checked (``PRAGMA integrity_check``, an ``alembic_version`` row), switched to a rollback
journal so that it is one self-contained file, and only then renamed into place. Backups, like the
database, are created with mode 0600 whatever the umask (``storage.files``).

``restore_sqlite`` checks the backup the same way and copies it into the target with the same API (so the
target's WAL and shared-memory files stay consistent). It refuses a target that holds data unless
``force`` is given, and refuses while a ``diaodu run`` holds the database's leader lock (see
``storage.leader``): stop the bot first.

PostgreSQL is backed up with PostgreSQL's own tools; ``postgres_advice`` tells how, for the configured URL,
without ever showing its password.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.clock import SHANGHAI, Clock
from bot.worded_error import WordedError
from storage.files import create_private_file

SQLITE_MAGIC = b"SQLite format 3\x00"
ALEMBIC_TABLE = "alembic_version"
BUSY_TIMEOUT_MS = 30_000


class BackupError(WordedError):
    """A backup or restore that cannot be done, by its reason; its message, for the operator, is worded in
    bot/templates/cli/backup_refused.j2."""

    template = "cli/backup_refused"


@dataclass(frozen=True)
class BackupInfo:
    """A checked SQLite database file: where, how big, at which schema revision, rows per table."""

    path: Path
    size: int
    revision: str | None
    tables: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


# ---------------------------------------------------------------- locating the database


def is_sqlite_url(url: str) -> bool:
    return url.startswith("sqlite")


def sqlite_file(db_url_or_path: str | Path) -> Path:
    """The file behind a SQLite URL (``sqlite+aiosqlite:///data/x.sqlite3``) or a plain path."""
    if isinstance(db_url_or_path, Path):
        return db_url_or_path
    text = db_url_or_path.strip()
    if "://" not in text and not text.startswith("sqlite"):
        return Path(text)
    if not is_sqlite_url(text):
        raise BackupError("not_sqlite_url")
    _scheme, sep, rest = text.partition(":///")
    path = rest.split("?", 1)[0]
    if not sep or not path or path == ":memory:" or "mode=memory" in text:
        raise BackupError("in_memory")
    return Path(path)


def default_backup_path(data_dir: Path, clock: Clock) -> Path:
    """``<data dir>/backups/diaodu-YYYYmmdd-HHMMSS.sqlite3``, named in Shanghai time."""
    stamp = clock.now().astimezone(SHANGHAI).strftime("%Y%m%d-%H%M%S")
    return Path(data_dir) / "backups" / f"diaodu-{stamp}.sqlite3"


# ---------------------------------------------------------------- checking a file


def _uri(path: Path, mode: str) -> str:
    return f"{path.resolve().as_uri()}?mode={mode}"


def _user_tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    ).fetchall()
    return [r[0] for r in rows]


def _counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {name: int(conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])
            for name in _user_tables(conn)}


def _looks_like_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def inspect_database(path: Path) -> BackupInfo:
    """Check that a file is a sound SQLite database of this bot; raises BackupError saying why not."""
    if not path.is_file():
        raise BackupError("no_file", path=path)
    if not _looks_like_sqlite(path):
        raise BackupError("not_sqlite_file", path=path)
    try:
        conn = sqlite3.connect(_uri(path, "ro"), uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as error:
        raise BackupError("cannot_open", path=path, error=error) from error
    try:
        problems = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
        if problems != ["ok"]:
            raise BackupError("corrupt", path=path, problems=problems[:3])
        tables = _user_tables(conn)
        if ALEMBIC_TABLE not in tables:
            raise BackupError("not_ours", path=path, table=ALEMBIC_TABLE)
        row = conn.execute(f"SELECT version_num FROM {ALEMBIC_TABLE}").fetchone()
        if row is None:
            raise BackupError("no_revision", path=path, table=ALEMBIC_TABLE)
        counts = _counts(conn)
    except sqlite3.Error as error:
        raise BackupError("cannot_read", path=path, error=error) from error
    finally:
        conn.close()
    return BackupInfo(path=path, size=path.stat().st_size, revision=str(row[0]), tables=counts)


def _known_revision(revision: str | None) -> bool:
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from storage.migrate import alembic_config

    if revision is None:
        return False
    try:
        return ScriptDirectory.from_config(alembic_config("sqlite://")).get_revision(revision) is not None
    except CommandError:
        return False


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ---------------------------------------------------------------- backup


def _backup(source: Path, out: Path) -> BackupInfo:
    if not source.is_file():
        raise BackupError("no_database", path=source)
    if out.exists():
        raise BackupError("backup_exists", path=out)
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(out.name + ".part")
    part.unlink(missing_ok=True)
    try:
        # mode=rw: never create an empty database where the real one was expected.
        src = sqlite3.connect(_uri(source, "rw"), uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as error:
        raise BackupError("cannot_open_database", path=source, error=error) from error
    try:
        src.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        create_private_file(part)  # 0600 (its journal too): the copy holds everything the database does
        dst = sqlite3.connect(part)
        try:
            # pages=-1: the whole database in one step, i.e. one read transaction and one snapshot. Stepwise
            # copying would restart whenever the bot writes, and might never finish on a busy database.
            src.backup(dst, pages=-1)
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
            dst.commit()
        finally:
            dst.close()
    except sqlite3.Error as error:
        part.unlink(missing_ok=True)
        raise BackupError("backup_failed", error=error) from error
    finally:
        src.close()
    try:
        inspect_database(part)
        _fsync(part)
        os.replace(part, out)
        _fsync(out.parent)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return inspect_database(out)


async def backup_sqlite(db_url_or_path: str | Path, out: Path) -> BackupInfo:
    """A consistent online copy of a live SQLite database at ``out`` (which must not exist yet).

    Runs in a worker thread; the bot may go on reading and writing meanwhile.
    """
    return await asyncio.to_thread(_backup, sqlite_file(db_url_or_path), Path(out))


# ---------------------------------------------------------------- restore


def _holding_data(target: Path) -> dict[str, int] | None:
    """Rows per non-empty table of the target (alembic_version aside); None if it is not a SQLite file."""
    if not _looks_like_sqlite(target):
        return None if target.stat().st_size else {}
    try:
        conn = sqlite3.connect(_uri(target, "ro"), uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            return {name: count for name, count in _counts(conn).items() if count and name != ALEMBIC_TABLE}
        finally:
            conn.close()
    except sqlite3.Error:
        return None


def _remove_database_files(target: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)


def _restore(backup: Path, target: Path, force: bool) -> BackupInfo:
    from storage.leader import file_lock, leader_lock_path

    info = inspect_database(backup)
    if not _known_revision(info.revision):
        raise BackupError("unknown_revision", revision=info.revision)
    if backup.resolve() == target.resolve():
        raise BackupError("same_file")
    target.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(leader_lock_path(target)) as locked:
        if not locked:
            raise BackupError("bot_running", path=target)
        if target.exists():
            held = _holding_data(target)
            if held is None:
                if not force:
                    raise BackupError("target_unreadable", path=target)
                _remove_database_files(target)
            elif held and not force:
                raise BackupError("target_has_data", path=target, held=held)
        else:
            _remove_database_files(target)  # a stale -wal of a deleted database must not be replayed
        try:
            create_private_file(target)  # a new target is 0600, and so are its -wal and -shm
            src = sqlite3.connect(_uri(backup, "ro"), uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
            try:
                dst = sqlite3.connect(target, timeout=BUSY_TIMEOUT_MS / 1000)
                try:
                    src.backup(dst, pages=-1)
                    dst.execute("PRAGMA journal_mode=WAL")
                    dst.commit()
                finally:
                    dst.close()
            finally:
                src.close()
        except sqlite3.Error as error:
            raise BackupError("restore_failed", error=error) from error
        restored = inspect_database(target)
    if restored.tables != info.tables:
        raise BackupError("rows_differ", restored=restored.tables, backed_up=info.tables)
    return BackupInfo(path=target, size=restored.size, revision=restored.revision, tables=restored.tables)


async def restore_sqlite(backup: Path, target_url: str | Path, *, force: bool = False) -> BackupInfo:
    """Copy a checked backup into the target database (stop the bot first). Returns the restored target.

    Refuses a target holding data unless ``force``. Afterwards run ``diaodu db upgrade`` if the backup's
    schema revision is older than this program's.
    """
    return await asyncio.to_thread(_restore, Path(backup), sqlite_file(target_url), force)


def needs_upgrade(info: BackupInfo) -> bool:
    from storage.migrate import head_revision

    return info.revision != head_revision()


# ---------------------------------------------------------------- PostgreSQL


def _pg_connection_flags(url: str) -> tuple[list[str], str, str]:
    """(connection flags, environment prefix, database name) for pg_dump/pg_restore; never the password."""
    parsed = make_url(url)
    flags: list[str] = []
    if parsed.host:
        flags.append(f"--host={shlex.quote(parsed.host)}")
    if parsed.port:
        flags.append(f"--port={parsed.port}")
    if parsed.username:
        flags.append(f"--username={shlex.quote(parsed.username)}")
    database = parsed.database or parsed.username or "postgres"
    flags.append(f"--dbname={shlex.quote(database)}")
    query = {key.lower(): value for key, value in parsed.query.items()}
    ssl = query.get("sslmode") or query.get("ssl")
    if isinstance(ssl, tuple):
        ssl = ssl[0]
    if ssl in ("true", "1", "on"):
        ssl = "require"
    env = f"PGSSLMODE={shlex.quote(str(ssl))} " if ssl else ""
    return flags, env, database


def postgres_advice(url: str, *, now: datetime, out: Path | None = None,
                    restore_from: Path | None = None) -> str:
    """How to back up (or restore) the configured PostgreSQL database, in Chinese; no password shown."""
    from bot.render import shared_renderer

    flags, env, database = _pg_connection_flags(url)
    parsed = make_url(url)
    stamp = now.astimezone(SHANGHAI).strftime("%Y%m%d-%H%M%S")
    dump = out if out is not None else Path(f"diaodu-{stamp}.dump")
    restore_file = restore_from if restore_from is not None else dump
    return shared_renderer().plain(
        "cli/postgres_advice", host=parsed.host, port=parsed.port, database=database, env=env,
        connection=" ".join(flags), restoring=restore_from is not None, dump=shlex.quote(str(dump)),
        restore_file=shlex.quote(str(restore_file)))
