"""The ledger import as one operation: read and validate the files, then upsert all or nothing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from bot.clock import Clock, local_today
from bot.ledger import read_ledger
from storage.audit import Actor
from storage.db import Database
from storage.ledger_import import ImportSummary, apply_ledger, known_unit_names


class _DryRun(Exception):
    def __init__(self, summary: ImportSummary) -> None:
        self.summary = summary


async def import_ledger(
    db: Database,
    clock: Clock,
    files: Sequence[Path],
    *,
    actor: Actor,
    dry_run: bool = False,
    progress: Callable[[int], object] | None = None,
) -> ImportSummary:
    """Validate every row first; write only if there is no issue, and never in a dry run."""
    async with db.session() as session:
        known = await known_unit_names(session)
    ledger = read_ledger(files, known_units=known, progress=progress)  # type: ignore[arg-type]
    if ledger.issues:
        return ImportSummary(issues=list(ledger.issues))
    try:
        async with db.session() as session:
            summary = await apply_ledger(session, ledger, now=clock.now(), actor=actor,
                                         year=local_today(clock).year)
            if dry_run:
                raise _DryRun(summary)
    except _DryRun as rolled_back:
        summary = rolled_back.summary
    return summary
