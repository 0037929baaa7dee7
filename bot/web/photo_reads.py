"""The web pages' reads of the photo store, when it cannot be read (a bucket down, its folder's mount gone): the
pages say so per photo (``bot.web.photos``); the log has it once per outage of this process, with the cause,
not a traceback per thumbnail; and the photo store's fault (``bot.services.photo_store_fault``) hears of it, so
that one lasting ``PERSISTS`` is told to the admins and shown by ``/readyz``, and its end once a page reads the
store again."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock
from bot.services.photo_store import PhotoStoreError
from bot.services.photo_store_fault import StoreFaultNotices

log = logging.getLogger(__name__)
TELL_EVERY = timedelta(seconds=10)  # a page of 36 thumbnails failing tells the fault once, not 36 times


class StoreReads:
    """Whether the pages of this process can read the photo store, as they find it photo by photo."""

    def __init__(self, clock: Clock, store_faults: StoreFaultNotices | None = None) -> None:
        self.clock = clock
        self.store_faults = store_faults
        self.failing_since: datetime | None = None
        self._told_at: datetime | None = None
        self._telling: set[asyncio.Task[None]] = set()

    async def failed(self, error: PhotoStoreError, *, path: str) -> None:
        """A read for the page at ``path`` failed: logged when it is the first since the store was last read."""
        now = self.clock.now()
        if self.failing_since is None:
            self.failing_since = now
            log.warning("the photo store cannot be read (%s, for %s); the pages say the photos cannot be shown "
                        "now until it can", error, path)
        if self.store_faults is None or (self._told_at is not None and now - self._told_at < TELL_EVERY):
            return
        self._told_at = now
        self._tell(self.store_faults.unreadable(error), "could not tell that the photo store cannot be read")

    async def worked(self) -> None:
        """A read succeeded: an outage of this process's reads is over (logged), and a fault opened by it too."""
        if self.failing_since is not None:
            log.warning("the photo store can be read again (unreadable since %s)", self.failing_since.isoformat())
            self.failing_since = None
            self._told_at = None
        if self.store_faults is not None:
            self._tell(self.store_faults.readable(), "could not tell that the photo store can be read again")

    def _tell(self, telling: Coroutine[Any, Any, None], failure: str) -> None:
        """Tell the fault after the page, in a unit of work of its own (the page's holds its own database
        connection, an in-memory database's only one): the page does not wait for it."""

        async def tell() -> None:
            try:
                await telling
            except Exception:  # the database busy: the next read tells it
                log.exception(failure)

        task = asyncio.create_task(tell(), name="photo-store-reads")
        self._telling.add(task)
        task.add_done_callback(self._telling.discard)

    async def told(self) -> None:
        """Wait until what the pages found is told (tests)."""
        while self._telling:
            await asyncio.gather(*self._telling)
