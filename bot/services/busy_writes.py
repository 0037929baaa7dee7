"""Writing again what a busy database refused, for the writes that must not be dropped: the outbox sender's record
that a send starts, and how it ended.

A write waits for another transaction's lock for at most a few seconds (``storage.db``), then fails. A message
from a user fails with it and is answered "not saved, send again"; but the sender's own bookkeeping has nobody to
send it again: a send's start not recorded leaves its row claimed until its lease runs out (ten minutes late), and
an outcome not recorded leaves a message that went out 结果未知 for an admin to resend. While the sender's claim
holds the row, trying the write again a little later is safe (the claim fences it), so ``persist`` does, for up to
``PATIENCE`` seconds: longer than a ledger import holds the lock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

log = logging.getLogger(__name__)
T = TypeVar("T")

PATIENCE = 60.0  # seconds a write is tried again for (a claim's lease is ten minutes)
FIRST_WAIT = 0.5
LONGEST_WAIT = 8.0
# What PostgreSQL (through asyncpg) says when it is busy or lost rather than when the write is wrong, by SQLSTATE:
# a lock not had within ``lock_timeout``, a deadlock or serialization failure, a lost connection, a shutdown.
BUSY_STATES = ("55P03", "40", "08", "57")


def busy(error: DBAPIError) -> bool:
    """Whether ``error`` is the database being busy or out of reach (worth trying again), not a bug in the write
    (bad data, bad SQL, a broken constraint). SQLite's "database is locked" is an ``OperationalError``; asyncpg's
    lock timeout and deadlock come as a plain ``DBAPIError`` carrying their SQLSTATE."""
    if isinstance(error, (OperationalError, InterfaceError)) or error.connection_invalidated:
        return True
    state = getattr(error.orig, "sqlstate", None)
    return isinstance(state, str) and state.startswith(BUSY_STATES)


async def persist(write: Callable[[], Awaitable[T]], *, what: str, patience: float = PATIENCE) -> T:
    """``write()`` (a unit of work of its own), again after 0.5, 1, 2 … s (at most ``LONGEST_WAIT``) while the
    database refuses it (a lock held past the wait, a lost connection), up to ``patience`` seconds; then its error.
    Any other error (``busy``: an integrity or data error, bad SQL) is raised at once."""
    waited, wait = 0.0, FIRST_WAIT
    while True:
        try:
            return await write()
        except DBAPIError as error:
            if not busy(error) or waited + wait > patience:
                raise
            log.warning("%s: the database refused the write (%s); trying again in %.1f s", what,
                        str(error.orig).splitlines()[0] if error.orig is not None else error, wait)
        await asyncio.sleep(wait)
        waited += wait
        wait = min(wait * 2, LONGEST_WAIT)
