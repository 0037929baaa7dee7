"""Taking back the kept copies of replies sent directly (``storage.kept_replies``), without slowing the next message.

A channel that sent an outcome's replies (or handed them to the outbox) calls ``KeptReleases.add`` and goes on
at once. The copies are deleted by the transaction of the next message that writes anything (the router
``take``s them: no commit of their own, no wait for the database's write lock), or, when no such message comes
within ``batch_wait`` (0.5 s), in a transaction of their own. A process dying before a copy is taken back
leaves it to the outbox, which sends it once the guard has passed: that reply then arrives twice, never not
at all. ``settled`` takes back at once what was added and waits for it (a channel stopping calls it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from storage import kept_replies
from storage.db import Database

log = logging.getLogger(__name__)


class KeptReleases:
    """The copies waiting to be taken back, and the task taking them back."""

    def __init__(self, db: Database, *, batch_wait: float = 0.5) -> None:
        self.db = db
        self.batch_wait = batch_wait
        self.waiting: list[tuple[str, str, Sequence[str]]] = []
        self.task: asyncio.Task[None] | None = None
        self.commits = 0  # transactions that took copies back (for tests and benchmarks)
        self._hurry = asyncio.Event()

    def add(self, channel: str, chat_id: str, keys: Sequence[str]) -> None:
        """Take back these copies (``Outcome.kept``) soon: their direct send is over."""
        if not keys:
            return
        self.waiting.append((channel, chat_id, tuple(keys)))
        if self.task is None:
            self.task = asyncio.create_task(self._take_back(), name="kept-release")

    def take(self) -> list[tuple[str, str, Sequence[str]]]:
        """Every copy waiting, for a transaction under way to take back (``give_back`` if it fails)."""
        taken, self.waiting = self.waiting, []
        return taken

    def give_back(self, taken: list[tuple[str, str, Sequence[str]]]) -> None:
        """Copies a transaction took and did not commit: waiting again."""
        if taken:
            self.waiting[:0] = taken
            if self.task is None:
                self.task = asyncio.create_task(self._take_back(), name="kept-release")

    async def _take_back(self) -> None:
        try:
            while self.waiting:
                if not self._hurry.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._hurry.wait(), self.batch_wait)
                batch, self.waiting = self.waiting, []
                if not batch:
                    break  # a message's transaction took them meanwhile
                try:
                    async with self.db.session() as session:
                        await kept_replies.release(session, batch)
                    self.commits += 1
                except Exception:  # the outbox sends them once due: a reply twice, not none
                    log.exception("could not take back the kept copies of %d replies", len(batch))
        finally:
            self.task = None
            self._hurry.clear()

    async def settled(self) -> None:
        """Take back at once every copy added so far (or find that it could not be), and wait for it."""
        while self.task is not None:
            self._hurry.set()
            await asyncio.shield(self.task)
