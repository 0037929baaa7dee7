"""Change marks of the ledger (``ledger_marks``): a counter per group of tables, bumped by database triggers
whenever a transaction writes one of them (on PostgreSQL once per transaction, on SQLite per row), so that
whether anything was written since a given moment is one cheap read.

The ledger import compares its file with the database (storage.ledger_state, bot.domain.ledger_digest): a
read of every unit, person and project, seconds for a large district. The marks are read just before that
read; a mark unchanged later means no write of its tables has committed since (a write committed after the
mark was read bumps it, whenever its transaction began). 确认 then checks the marks, not the whole state,
inside its write transaction (`claim`): on SQLite after taking the one write lock, on PostgreSQL after
locking the marks' rows, which every writer of those tables needs too (its trigger bumps the mark), so that no
such write can commit between the check and the import's own commit.

Groups: ``ledger`` (units, people and their roles, projects, supporting units, plans, bases, stage events),
``nodes`` (project nodes: compared only when the file has the node sheet) and ``reports`` (compared only when the
baseline's day is not given), so that the chat's everyday reports and milestones do not make a dated import
without nodes look changed.

On PostgreSQL the triggers run before each statement touches any row: a writer waits for the mark before it
holds any row of that statement, so the import (which takes ``ledger`` and ``nodes`` first, then writes) and a
writer cannot wait for each other. A report is written after its project's row is locked
(storage.reports), so the import takes ``reports`` last, after its own writes (see `AFTER_WRITE`). SQLite has
row triggers only, and one lock for all writers: there the import takes every mark first. Every writer, the
program, a script or an admin at the SQL prompt, bumps the marks without knowing they exist (the triggers:
storage.ledger_mark_triggers). A missing row counts as 0 (the first bump makes it).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import note_written
from storage.ledger_mark_triggers import AFTER_WRITE, BUMP, GROUPS

__all__ = ["AFTER_WRITE", "GROUPS", "claim", "marked", "read_marks"]


def marked(*, reports: bool, nodes: bool) -> tuple[str, ...]:
    """The groups whose writes can change what an import compares (its reports and nodes only when it does)."""
    return ("ledger", *(("nodes",) if nodes else ()), *(("reports",) if reports else ()))


async def read_marks(session: AsyncSession) -> dict[str, int]:
    """Every group's mark as committed now (0 for one never bumped): one small read, no lock."""
    rows = await session.execute(text("SELECT name, mark FROM ledger_marks"))
    found = {name: int(mark) for name, mark in rows}
    return {group: found.get(group, 0) for group in GROUPS}


async def claim(session: AsyncSession, expected: Mapping[str, int], names: Collection[str]) -> bool:
    """Take the marks `names` for this transaction and say whether each is still as `expected`: each is bumped
    (the write that takes SQLite's lock; on PostgreSQL its row stays locked until the transaction ends, after the
    writes in progress that bumped it have committed), and the value it had is compared. One statement a mark."""
    bump = text(BUMP.format(name=":name") + " RETURNING mark").bindparams(bindparam("name"))
    unchanged = True
    for name in sorted(names):
        mark = (await session.execute(bump, {"name": name})).scalar_one()
        unchanged = unchanged and int(mark) - 1 == expected.get(name, 0)
    if names:
        note_written(session)
    return unchanged
