"""Alembic environment: runs migrations on the async engine of the configured URL.

On PostgreSQL the migrations run under a transaction-level advisory lock (``MIGRATION_LOCK_KEY``), taken
before Alembic looks at the schema: several instances starting together (each running ``diaodu db
upgrade``) take turns, and each one after the first finds the schema already at head and does nothing. They
wait for their turn as long as it takes (``MIGRATION_LOCK_WAIT``), not the few seconds a chat write waits.
The lock goes with the transaction's commit or rollback. SQLite needs none: its write lock already
serialises the migrations of processes sharing the file.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from storage.db import make_engine
from storage.migrate import MIGRATION_LOCK_KEY, MIGRATION_LOCK_WAIT
from storage.models import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Begins the transaction Alembic then runs in (it does not open its own inside one).
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    else:
        # Batch mode rebuilds a table (copy, drop the old one, rename the copy). With foreign keys enforced,
        # dropping the old table looks up, row by row, the rows referring to it (a table referring to itself:
        # minutes for 20,000 photos) and sets those references to NULL. So they are off while migrating, as
        # Alembic advises for batch mode (set before any transaction: SQLite ignores it inside one), and every
        # reference is checked once at the end instead.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
        if connection.dialect.name == "sqlite":
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            if broken:
                raise RuntimeError(f"the migrated database has references to missing rows: {broken[:10]}")


async def _run_async() -> None:
    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or "", lock_wait=MIGRATION_LOCK_WAIT)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=context.config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async())
