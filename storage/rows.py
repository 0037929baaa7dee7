"""Reading many rows at once: column queries without the ORM's per-row loading, with the cycle
collector paused while the rows are built."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Row, Select
from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["all_rows", "gc_paused"]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cycle collector for a burst of allocations, then restore it as it was.

    Tens of thousands of small row objects built in one go would otherwise set off several full
    collections of the whole process. Rows form no reference cycles, so reference counting frees them
    anyway. Use only around synchronous code (no ``await`` inside), so no other task runs while it is
    paused.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def all_rows(session: AsyncSession, query: Select[Any]) -> Sequence[Row[Any]]:
    """The rows of a column query, run on the session's connection: the same typed values as
    ``session.execute`` without the ORM's per-row loading (a third of the Python time on 10,000 rows)."""
    connection = await session.connection()
    result = await connection.execute(query)
    with gc_paused():
        return result.all()
