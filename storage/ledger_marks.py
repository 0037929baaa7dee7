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
storage.ledger_mark_triggers). A missing row counts as 0 (the first bump makes it). On PostgreSQL a mark is the
sum of several rows, a writer bumping the one of its connection, so that writers of one group do not take turns
on a single row (`claim` takes them all).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import note_written
from storage.ledger_mark_triggers import AFTER_WRITE, BUMP, GROUPS, SHARDS

__all__ = ["AFTER_WRITE", "GROUPS", "claim", "marked", "read_marks"]


# Every row of a mark at once, in the order of their names (two claims never wait for each other crosswise).
_BUMP_ALL = (f"INSERT INTO ledger_marks (name, mark) SELECT :name || '.' || n, 1 FROM generate_series(0, {SHARDS - 1}) "
             "AS n ORDER BY n ON CONFLICT (name) DO UPDATE SET mark = ledger_marks.mark + 1 RETURNING mark")


def marked(*, reports: bool, nodes: bool) -> tuple[str, ...]:
    """The groups whose writes can change what an import compares (its reports and nodes only when it does)."""
    return ("ledger", *(("nodes",) if nodes else ()), *(("reports",) if reports else ()))


async def read_marks(session: AsyncSession) -> dict[str, int]:
    """Every group's mark as committed now (0 for one never bumped; on PostgreSQL the sum of its rows,
    storage.ledger_mark_triggers.SHARDS): one small read, no lock."""
    found = dict.fromkeys(GROUPS, 0)
    for name, mark in await session.execute(text("SELECT name, mark FROM ledger_marks")):
        group = name.partition(".")[0]
        if group in found:
            found[group] += int(mark)
    return found


async def claim(session: AsyncSession, expected: Mapping[str, int], names: Collection[str]) -> bool:
    """Take the marks `names` for this transaction and say whether each is still as `expected`: each is bumped
    (the write that takes SQLite's lock; on PostgreSQL its row stays locked until the transaction ends, after the
    writes in progress that bumped it have committed), and the value it had is compared. One statement a mark
    (on PostgreSQL bumping every row of it, in one order)."""
    sharded = session.get_bind().dialect.name == "postgresql"
    rows = SHARDS if sharded else 1
    bump = text(_BUMP_ALL if sharded else BUMP.format(name=":name") + " RETURNING mark").bindparams(
        bindparam("name"))
    unchanged = True
    for name in sorted(names):
        marks = (await session.execute(bump, {"name": name})).scalars().all()
        unchanged = unchanged and sum(int(mark) for mark in marks) - rows == expected.get(name, 0)
    if names:
        note_written(session)
    return unchanged
