"""storage.rows: bulk reads of column queries, with the cycle collector paused while rows are built."""

from __future__ import annotations

import gc

import pytest
from sqlalchemy import select

from storage.db import Database
from storage.models import Unit
from storage.rows import all_rows, gc_paused

from .factories import NOW, build_world


def test_gc_paused_pauses_and_restores_the_collector_as_it_was() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # was off before: stays off
    finally:
        gc.enable()


def test_overlapping_pauses_end_with_the_last_one() -> None:
    first, second = gc_paused(), gc_paused()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert not gc.isenabled()  # the second block still runs
    second.__exit__(None, None, None)
    assert gc.isenabled()


def test_gc_paused_restores_the_collector_when_the_block_fails() -> None:
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


async def test_all_rows_returns_the_rows_of_a_column_query(db: Database) -> None:
    await build_world(db, NOW)
    async with db.session() as session:
        rows = await all_rows(session, select(Unit.id, Unit.name).order_by(Unit.name))
        expected = (await session.execute(select(Unit.id, Unit.name).order_by(Unit.name))).all()
    assert rows and [tuple(r) for r in rows] == [tuple(r) for r in expected]
    assert gc.isenabled()
