"""`diaodu db copy --to URL`: the whole database (DATABASE_URL) copied into a new, empty one, e.g. from the
embedded SQLite to PostgreSQL when a district outgrows one machine (``storage.db_copy``).

The target must be a new database: no table at all (it is then brought to the current schema) or diaodu's schema at
the current version with no row; anything else is refused before anything is written to it. A SQLite source is read
from an online backup taken first (``bot.ops.backup``), a PostgreSQL one in one repeatable-read transaction: either
way one instant's rows. What the bot writes after that instant is not in the copy, so the bot is to be stopped
first; after the copy the source is counted again and a row written meanwhile is reported (exit status 1).
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from bot.cli.common import CliError, say
from bot.config import Settings
from storage.db import Database

DRIVERS = ("sqlite+aiosqlite://", "postgresql+asyncpg://")
ALEMBIC = "alembic_version"


def shown(url: str) -> str:
    """A database URL as printed: its password hidden (also in a URL that cannot be read as one)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return re.sub(r"(//[^:/@]*:)[^@]*@", r"\1***@", url)


def _first_line(error: BaseException) -> str:
    return str(getattr(error, "orig", None) or error).splitlines()[0]


async def copy_database(settings: Settings, to: str) -> int:
    from bot.ops.backup import backup_sqlite, is_sqlite_url
    from storage.migrate import schema_is_current

    if not to.startswith(DRIVERS) or ":memory:" in to or to.rstrip("/") == "sqlite+aiosqlite:":
        raise CliError("copy_bad_url", url=shown(to))
    try:
        if make_url(to) == make_url(settings.database_url):
            raise CliError("copy_same_database", url=shown(to))
    except ArgumentError as error:
        raise CliError("copy_bad_url", url=shown(to)) from error
    with tempfile.TemporaryDirectory(prefix="diaodu-copy-") as scratch:
        source_url = settings.database_url
        if is_sqlite_url(source_url):  # one instant of a live file
            snapshot = await backup_sqlite(source_url, Path(scratch) / "source.sqlite3")
            source_url = f"sqlite+aiosqlite:///{snapshot.path}"
        source = Database(source_url)
        try:
            current, revision, head = await schema_is_current(source.engine)
            if not current:
                raise CliError("copy_source_old", revision=revision, head=head)
            await _prepare_target(to)
            target = Database(to)
            try:
                copied = await _copy(source, target, to)
            finally:
                await target.dispose()
        finally:
            await source.dispose()
    say("db_copy", url=shown(to), tables=len(copied.rows), rows=copied.total, counts=copied.rows)
    return await written_since(settings.database_url, copied.rows)


async def _prepare_target(to: str) -> None:
    """A target with no table gets the current schema; one with diaodu's current schema is taken as it is (its
    rows are counted with the copy); anything else is refused, untouched."""
    from storage.migrate import schema_is_current, upgrade

    target = Database(to)
    try:
        async with target.engine.connect() as conn:
            tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        if tables:
            current, _revision, _head = await schema_is_current(target.engine)
            if ALEMBIC not in tables or not current:
                raise CliError("copy_target_not_new", url=shown(to), tables=len(tables))
            return
    except (DBAPIError, OSError) as error:
        raise CliError("copy_target_unreachable", url=shown(to), error=_first_line(error)) from error
    finally:
        await target.dispose()
    try:
        await asyncio.to_thread(upgrade, to)
    except (DBAPIError, OSError) as error:
        raise CliError("copy_target_unreachable", url=shown(to), error=_first_line(error)) from error


async def _copy(source: Database, target: Database, to: str):  # type: ignore[no-untyped-def]
    from storage.db_copy import CopyFailed, compare, copy_rows, row_counts

    async with source.engine.connect() as reading:
        if reading.dialect.name == "postgresql":
            await reading.execution_options(isolation_level="REPEATABLE READ")
        async with target.engine.begin() as writing:
            held = {name: n for name, n in (await row_counts(writing)).items() if n}
            if held:
                raise CliError("copy_target_not_empty", url=shown(to), tables=len(held), rows=sum(held.values()))
            try:
                copied = await copy_rows(reading, writing)
            except CopyFailed as failed:  # rolled back with the transaction: nothing half-copied stays
                raise CliError("copy_failed", table=failed.table, error=_first_line(failed.error)) from failed
            differ = await compare(reading, writing)
            if differ:
                raise CliError("copy_differs", tables=len(differ))
    return copied


async def written_since(url: str, copied: dict[str, int]) -> int:
    """0, or 1 after saying so when the source holds other row counts now than were copied (the bot ran on)."""
    from storage.db_copy import row_counts_at

    now = await row_counts_at(url)
    moved = sum(abs(now[name] - n) for name, n in copied.items())
    if moved:
        say("db_copy_moved", rows=moved)
        return 1
    return 0
