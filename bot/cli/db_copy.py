"""`diaodu db copy --to URL`: the whole database (DATABASE_URL) copied into a new, empty one, e.g. from the
embedded SQLite to PostgreSQL when a district outgrows one machine (``storage.db_copy``).

The target is brought to the current schema first and must hold no rows. A SQLite source is read from an online
backup taken first (``bot.ops.backup``), a PostgreSQL one in one repeatable-read transaction: either way one
instant's rows, even while the bot runs (what it writes after that instant is not in the copy: stop it first).
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from bot.cli.common import CliError, say
from bot.config import Settings
from storage.db import Database

DRIVERS = ("sqlite+aiosqlite://", "postgresql+asyncpg://")


def shown(url: str) -> str:
    """A database URL as printed: its password hidden."""
    return make_url(url).render_as_string(hide_password=True)


async def copy_database(settings: Settings, to: str) -> int:
    from bot.ops.backup import backup_sqlite, is_sqlite_url
    from storage.migrate import schema_is_current, upgrade

    if not to.startswith(DRIVERS) or ":memory:" in to or to.rstrip("/") == "sqlite+aiosqlite:":
        raise CliError("copy_bad_url", url=to)
    try:
        if make_url(to) == make_url(settings.database_url):
            raise CliError("copy_same_database", url=shown(to))
    except ArgumentError as error:
        raise CliError("copy_bad_url", url=to) from error
    source_url = settings.database_url
    with tempfile.TemporaryDirectory(prefix="diaodu-copy-") as scratch:
        if is_sqlite_url(source_url):  # one instant of a live file
            snapshot = await backup_sqlite(source_url, Path(scratch) / "source.sqlite3")
            source_url = f"sqlite+aiosqlite:///{snapshot.path}"
        source = Database(source_url)
        try:
            current, revision, head = await schema_is_current(source.engine)
            if not current:
                raise CliError("copy_source_old", revision=revision, head=head)
            try:
                await asyncio.to_thread(upgrade, to)
            except (DBAPIError, OSError) as error:
                raise CliError("copy_target_unreachable", url=shown(to), error=str(error).splitlines()[0]) from error
            target = Database(to)
            try:
                return await _copy(source, target, to)
            finally:
                await target.dispose()
        finally:
            await source.dispose()


async def _copy(source: Database, target: Database, to: str) -> int:
    from storage.db_copy import compare, copy_rows, row_counts

    async with source.engine.connect() as reading:
        if reading.dialect.name == "postgresql":
            await reading.execution_options(isolation_level="REPEATABLE READ")
        async with target.engine.begin() as writing:
            held = {name: n for name, n in (await row_counts(writing)).items() if n}
            if held:
                raise CliError("copy_target_not_empty", url=shown(to), tables=len(held), rows=sum(held.values()))
            copied = await copy_rows(reading, writing)
            differ = await compare(reading, writing)
            if differ:  # rolled back with the transaction: nothing half-copied stays
                raise CliError("copy_differs", tables=len(differ))
    say("db_copy", url=shown(to), tables=len(copied.rows), rows=copied.total, counts=copied.rows)
    return 0
