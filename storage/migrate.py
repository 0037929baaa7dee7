"""Alembic migrations, driven from code: upgrade a database and check that its schema is current.

On PostgreSQL, migrations take the advisory lock ``MIGRATION_LOCK_KEY`` for their transaction (see
``migrations/env.py``), so that concurrent upgrades of one database run one after the other.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).with_name("migrations")
# The advisory lock concurrent upgrades take turns on (a key of its own: not the leader's).
MIGRATION_LOCK_KEY = int.from_bytes(hashlib.sha256(b"diaodu:migrate").digest()[:8], "big", signed=True)
# How long an upgrade waits for a lock: for the migration lock, as long as the instance migrating before it takes
# (a fresh database's whole history, a big table rewritten), not the few seconds a chat write waits.
MIGRATION_LOCK_WAIT = 900.0


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    config.attributes["configure_logger"] = False
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to `revision` (call outside a running event loop)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Undo migrations down to `revision` (call outside a running event loop)."""
    command.downgrade(alembic_config(url), revision)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    async with engine.connect() as conn:
        return await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())


async def schema_is_current(engine: AsyncEngine) -> tuple[bool, str | None, str | None]:
    """(is it at head?, its revision, the head revision)."""
    current = await current_revision(engine)
    head = head_revision()
    return current == head, current, head
