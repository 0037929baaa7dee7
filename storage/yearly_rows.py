"""Rows kept per project and year (annual plans, ledger bases): written by replacing those projects' rows of
those years only, so a later year's write never touches an earlier year's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, delete, insert
from sqlalchemy.ext.asyncio import AsyncSession

_CHUNK = 500


async def replace_years(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Write `rows` (each with ``project_id`` and ``year``) into `table`, replacing the rows of the same
    projects and years, a few hundred rows a statement."""
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start:start + _CHUNK]
        await delete_years(session, table, [(row["project_id"], row["year"]) for row in chunk])
        await session.execute(insert(table), chunk)


async def delete_years(session: AsyncSession, table: Table, keys: Sequence[tuple[int, int]]) -> None:
    """Delete the rows of `table` of these (project id, year) pairs, a few hundred a statement."""
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start:start + _CHUNK]
        for year in sorted({year for _, year in chunk}):
            ids = [project_id for project_id, of in chunk if of == year]
            await session.execute(delete(table).where(table.c.year == year, table.c.project_id.in_(ids)))
