"""Counting the statements that read a table while some code runs (how many times a query is made), on either
database."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from storage.db import Database


@contextmanager
def reads_of(db: Database, table: str) -> Iterator[list[str]]:
    """The SELECT statements naming `table` sent while the block runs (filled in as they are sent)."""
    sent: list[str] = []
    named = re.compile(rf"\b{re.escape(table)}\b")

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and named.search(statement):
            sent.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)
