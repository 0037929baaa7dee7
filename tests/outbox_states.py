"""How many outbox rows are in each state, read from a database another process (`diaodu run`, `diaodu digest`)
writes, through a connection of the test's own."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import ColumnElement, func, select

from storage.db import Database
from storage.models import OutboxMessage


async def outbox_states(url: str, where: ColumnElement[bool]) -> Counter[str]:
    """The outbox rows matching ``where``, counted by state."""
    db = Database(url)
    try:
        async with db.session() as session:
            rows = await session.execute(select(OutboxMessage.state, func.count()).where(where)
                                         .group_by(OutboxMessage.state))
            return Counter({state: count for state, count in rows.all()})
    finally:
        await db.dispose()
