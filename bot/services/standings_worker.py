"""The current standings computed in a worker process (``bot.workers``) from the database's address, and
handed back in slices that the event loop takes in between other work.

Read on the event loop, the figures of 10,000 projects hold it for seconds (turning rows into Python objects),
and a whole ``Standings`` unpickled in one go holds it for a few hundred milliseconds: a page view arriving
meanwhile would wait that long. So the worker reads the database itself (its own engine: a file or server
database, never an in-memory one), builds the standings, and pickles them in slices of ``SLICE`` projects;
``unpack`` rebuilds them in the serving process a slice at a time, yielding to the event loop after each.
"""

from __future__ import annotations

import asyncio
import dataclasses
import pickle
from datetime import date
from typing import Any

from bot.domain.standings import ProjectStanding, Standings
from bot.services.standings import read_current_inputs, standings_from
from storage.change_mark import change_mark
from storage.db import Database
from storage.rows import gc_paused

__all__ = ["Packed", "compute_packed", "pack", "unpack"]

SLICE = 250  # projects per slice: some milliseconds to unpickle each
# The lists that name projects already in ``projects``: sent as codes, and linked to the same objects again.
NAMED = ("praised", "urged", "warned", "not_started")

Packed = tuple[bytes, list[bytes]]  # the standings but their projects, and the projects' slices


def pack(standings: Standings) -> Packed:
    """The standings as picklable slices."""
    rest: dict[str, Any] = {f.name: getattr(standings, f.name) for f in dataclasses.fields(standings)}
    projects: list[ProjectStanding] = rest.pop("projects")
    for name in NAMED:
        rest[name] = [p.code for p in rest[name]]
    slices = [pickle.dumps(projects[i:i + SLICE], pickle.HIGHEST_PROTOCOL) for i in range(0, len(projects), SLICE)]
    return pickle.dumps(rest, pickle.HIGHEST_PROTOCOL), slices


async def unpack(packed: Packed) -> Standings:
    """The standings of ``pack``, rebuilt a slice at a time, letting the event loop run between slices."""
    head, slices = packed
    projects: list[ProjectStanding] = []
    for part in slices:
        with gc_paused():
            projects.extend(pickle.loads(part))
        await asyncio.sleep(0)
    rest = pickle.loads(head)
    by_code = {p.code: p for p in projects}
    for name in NAMED:
        rest[name] = [by_code[code] for code in rest[name]]
    return Standings(projects=projects, **rest)


def compute_packed(url: str, cutoffs: list[date]) -> tuple[tuple[int | None, ...], list[Packed]]:
    """In a worker process: the change mark (``storage.change_mark``, read first) and the current
    standings of each cut-off day (today first), packed."""
    return asyncio.run(_compute(url, cutoffs))


async def _compute(url: str, cutoffs: list[date]) -> tuple[tuple[int | None, ...], list[Packed]]:
    db = Database(url)
    try:
        async with db.session() as session:
            mark = await change_mark(session)
            inputs = [await read_current_inputs(session, today=cutoffs[0], cutoff=cutoff) for cutoff in cutoffs]
    finally:
        await db.dispose()
    return mark, [pack(standings_from(one)) for one in inputs]
