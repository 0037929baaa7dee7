"""The ledger import as one operation: read and validate the files, then upsert all or nothing.

`import_into` does it inside a transaction the caller already holds (the chat's /import runs it in the
router's unit of work); `import_ledger` opens that transaction itself (the CLI's `diaodu import`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock, to_local
from bot.ledger import read_ledger
from storage.audit import Actor
from storage.db import Database
from storage.ledger_import import ImportSummary, apply_ledger, known_unit_names


async def import_into(
    session: AsyncSession,
    files: Sequence[Path],
    *,
    now: datetime,
    actor: Actor,
    dry_run: bool = False,
    progress: Callable[[int], object] | None = None,
    keep_loaded: Iterable[object] = (),
) -> ImportSummary:
    """Read and check every row of ``files`` first; upsert all of it in ``session``'s transaction only if
    there is no issue. A dry run upserts in a savepoint and rolls it back: the summary tells what importing
    would do and nothing is written. The rollback expires what the upsert touched, so the objects in
    ``keep_loaded`` (those the caller goes on using) are loaded again.

    The caller owns the transaction (the per-row audit entries are written in it, by `apply_ledger`).
    """
    known = await known_unit_names(session)
    ledger = await asyncio.to_thread(read_ledger, files, known_units=known, progress=progress)
    if ledger.issues:
        return ImportSummary(issues=list(ledger.issues))
    year = to_local(now).year
    if not dry_run:
        return await apply_ledger(session, ledger, now=now, actor=actor, year=year)
    savepoint = await session.begin_nested()
    try:
        return await apply_ledger(session, ledger, now=now, actor=actor, year=year)
    finally:
        await savepoint.rollback()
        for loaded in keep_loaded:
            await session.refresh(loaded)


async def import_ledger(
    db: Database,
    clock: Clock,
    files: Sequence[Path],
    *,
    actor: Actor,
    dry_run: bool = False,
    progress: Callable[[int], object] | None = None,
) -> ImportSummary:
    """`import_into` in a transaction of its own (which writes nothing on an issue or in a dry run)."""
    async with db.session() as session:
        return await import_into(session, files, now=clock.now(), actor=actor, dry_run=dry_run,
                                 progress=progress)
