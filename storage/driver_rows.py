"""Bulk statements whose parameters are made ready for the database driver before the transaction that runs them.

SQLAlchemy turns each row of an executemany into the driver's own values while the statement executes (a
datetime into SQLite's text, money into whole 元, a detail into JSON): for the 50,000 rows of a large ledger
import that is seconds of Python, and on SQLite every one of them holds the write lock. `driver_rows` does that
work ahead: it compiles the Core statement once for the dialect (``compile(dialect=…, column_keys=…)``), takes
the order of its parameters (``positiontup``) and each one's conversion (the bound type's
``dialect_impl(dialect).bind_processor(dialect)``, as SQLAlchemy itself applies them), and gives rows of final
values; `execute` hands them to the driver as they are (``exec_driver_sql``, one executemany).

A value that can only be known inside the transaction (the id of a row inserted there) is given as a `Ref` and
set later by `Batch.resolve`, with no conversion: it must be a plain id (an integer column, or its text).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import note_written

__all__ = ["TURN", "Batch", "Ref", "driver_rows", "execute"]

TURN = 1000  # rows converted between two turns of the event loop


@dataclass(frozen=True)
class Ref:
    """A value made inside the transaction: `key` of `kind` (e.g. the id of a project added), shown as `text`
    (``str``: as text, for an audit entry's key) or as it is."""

    kind: str
    key: Any
    text: bool = False


@dataclass
class Batch:
    """One statement and its rows in the driver's form; `refs` are the (row, column) places of `Ref` values."""

    sql: str
    rows: list[Sequence[Any]]  # a list where a Ref is to be set, else a tuple
    refs: list[tuple[int, int]] = field(default_factory=list)

    def resolve(self, value_of: Callable[[Ref], Any]) -> None:
        """Replace every `Ref` with its value (a short loop over those places only)."""
        for row, column in self.refs:
            values = self.rows[row]
            assert isinstance(values, list)
            ref = values[column]
            value = value_of(ref)
            values[column] = str(value) if ref.text else value


async def driver_rows(statement: Any, dialect: Dialect, rows: Sequence[Mapping[str, Any]], *,
                      stand_ins: Collection[str] = (), given: Callable[[Any], Any] = lambda value: value) -> Batch:
    """`statement` (a Core INSERT, or an UPDATE/DELETE with named bindparams) compiled for `dialect`, with
    `rows` (dicts of its parameters: every column it writes) converted as SQLAlchemy would convert them; the
    values of `stand_ins` are first given as `given` says (a `Ref` for a value the transaction makes). The event
    loop is given back every ``TURN`` rows: 50,000 rows are seconds of Python, which a worker thread would
    contend for with the event loop's every step."""
    if not rows:
        return Batch("", [])
    keys = list(rows[0])
    compiled = statement.compile(dialect=dialect, column_keys=keys)
    names = list(compiled.positiontup or [])
    missing = [name for name in names if name not in keys]
    if missing:
        raise ValueError(f"no value for {missing} in the rows of {compiled.string!r}")
    convert = [(name, name in stand_ins, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
               for name in names]
    batch = Batch(compiled.string, [])
    for index, row in enumerate(rows):
        values = []
        refs = len(batch.refs)
        for column, (name, stand_in, process) in enumerate(convert):
            value = given(row[name]) if stand_in else row[name]
            if isinstance(value, Ref):
                batch.refs.append((index, column))
            elif process is not None:
                value = process(value)
            values.append(value)
        # A row without a Ref is a tuple: plain values in a tuple leave the garbage collector's lists at once, so
        # the rows of 50,000 projects do not set off full collections (a second each at load 10) meanwhile.
        batch.rows.append(values if len(batch.refs) > refs else tuple(values))
        if index % TURN == TURN - 1:
            await asyncio.sleep(0)
    return batch


async def execute(session: AsyncSession, batch: Batch) -> None:
    """Run `batch` in `session`'s transaction: one executemany of values the driver takes as they are."""
    if batch.rows:
        connection = await session.connection()
        rows = [row if isinstance(row, tuple) else tuple(row) for row in batch.rows]  # as SQLAlchemy takes them
        await connection.exec_driver_sql(batch.sql, rows)
        note_written(session)
