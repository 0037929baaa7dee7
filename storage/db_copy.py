"""Every row of one database copied into another, empty one of the same schema: how a district that started on the
embedded SQLite moves to PostgreSQL (or back), its history whole (``diaodu db copy``).

The ledger export carries the projects and the people, not the reports, problems, photos, bulletins or audit trail
behind the figures; this copies them all. Tables go in the order of their foreign keys, each in primary-key order
(so that a row pointing at an earlier one of its own table, a report replacing another or a photo repeating
another, finds it there), in batches, within one transaction of the target: all or nothing. The yearly sums of
the reports (``report_sums``) are not copied: the target's triggers build them from the reports as they come in,
and ``compare`` checks them against the source's; nor are the ledger's change marks (``ledger_marks``), which the
target's triggers make. On PostgreSQL the id sequences are then set past the highest
id copied, so that the next row written gets a new one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Integer, Table, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.db import Database
from storage.models import Base

BATCH = 1000
# Kept by the target's own triggers as the rows come in: the yearly sums (storage.report_sums) and the ledger's
# change marks (storage.ledger_marks: counters of statements, not data; not counted either).
KEPT_BY_TRIGGERS = frozenset({"report_sums", "ledger_marks"})
_NOT_COUNTED = frozenset({"ledger_marks"})


@dataclass(frozen=True)
class Copied:
    """What a copy wrote: rows by table, in the order copied."""

    rows: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.rows.values())


class CopyFailed(Exception):
    """The target refused a table's rows (a value too long for its column, say, which SQLite let in)."""

    def __init__(self, table: str, error: DBAPIError) -> None:
        super().__init__(f"{table}: {error}")
        self.table = table
        self.error = error


def _tables() -> list[Table]:
    return list(Base.metadata.sorted_tables)


async def row_counts(conn: AsyncConnection) -> dict[str, int]:
    """The number of rows of every table of the schema (but the change marks)."""
    counts = {}
    for table in _tables():
        if table.name in _NOT_COUNTED:
            continue
        counts[table.name] = (await conn.execute(select(func.count()).select_from(table))).scalar_one()
    return counts


async def row_counts_at(url: str) -> dict[str, int]:
    """`row_counts` of the database at `url`, on an engine of its own (disposed of before this returns)."""
    database = Database(url)
    try:
        async with database.engine.connect() as conn:
            return await row_counts(conn)
    finally:
        await database.dispose()


async def copy_rows(source: AsyncConnection, target: AsyncConnection,
                    progress: Callable[[str, int], object] | None = None) -> Copied:
    """Every row of ``source`` written to ``target`` (both at the same schema revision, the target empty), within
    the transactions the caller holds; ``progress(table, rows)`` after each batch. A batch the target refuses
    raises ``CopyFailed`` naming its table."""
    copied: dict[str, int] = {}
    for table in _tables():
        if table.name in KEPT_BY_TRIGGERS:
            continue
        copied[table.name] = 0
        result = await source.stream(select(table).order_by(*table.primary_key.columns))
        async for batch in result.mappings().partitions(BATCH):
            try:
                await target.execute(table.insert(), [dict(row) for row in batch])
            except DBAPIError as error:
                raise CopyFailed(table.name, error) from error
            copied[table.name] += len(batch)
            if progress is not None:
                progress(table.name, len(batch))
    if target.dialect.name == "postgresql":
        await _restart_sequences(target)
    return Copied(copied)


async def _restart_sequences(target: AsyncConnection) -> None:
    """Each table's id sequence set so that its next value is past the highest id copied."""
    for table in _tables():
        [key, *more] = table.primary_key.columns
        if more or not isinstance(key.type, Integer) or not key.autoincrement:
            continue
        await target.execute(text(
            f'SELECT setval(pg_get_serial_sequence(:table, :column), COALESCE(MAX("{key.name}"), 0) + 1, false) '
            f'FROM "{table.name}"'), {"table": table.name, "column": key.name})


async def compare(source: AsyncConnection, target: AsyncConnection) -> list[str]:
    """The tables whose row counts differ between the two, and ``report_sums`` when its sums differ: empty when
    the copy is whole."""
    there = await row_counts(target)
    differ = [name for name, count in (await row_counts(source)).items() if count != there[name]]
    sums = Base.metadata.tables["report_sums"]
    ordered = select(sums).order_by(*sums.primary_key.columns)
    if "report_sums" not in differ and \
            [tuple(r) for r in await source.execute(ordered)] != [tuple(r) for r in await target.execute(ordered)]:
        differ.append("report_sums")
    return differ
