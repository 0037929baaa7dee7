"""The rows an outbox sender holds, and the worker of each chat that sends them (``Pipeline``).

The sender claims due rows (a claim is a lease, see ``bot.services.outbox``) and hands each to the
worker of its chat; it claims more whenever it holds at most half of ``batch`` rows and more are due,
without waiting for the sends still in flight. So a slow send (one that ends in a timeout takes as long as
the client's timeouts allow) holds up its own chat only, and the channel's global limit keeps being used.

- At most ``batch`` rows are held at once (claimed and not yet finished), and at most ``concurrency``
  sends are in flight.
- One worker per chat sends that chat's rows one at a time, in the order they were claimed (oldest
  first): never two sends to one chat at once, never a later row of a chat before an earlier one that
  this sender holds.
- Free send slots go to the oldest rows waiting (as claims do), so a row retried after a failure goes
  ahead of the younger rows already held when it comes due again, instead of queueing behind all of them.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from contextlib import suppress
from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING

from storage.models import OutboxMessage

if TYPE_CHECKING:
    from bot.services.outbox import OutboxSender

log = logging.getLogger("bot.services.outbox")
ChatKey = tuple[str, str]  # (channel, chat id)
Outcome = tuple[str, datetime | None]  # what happened to a row, and when it falls due again if it was put back


@dataclass
class SendStats:
    """What one or more rounds did."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0  # rescheduled after a transient error or flood control
    failed: int = 0
    undeliverable: int = 0
    released: int = 0  # handed back unsent: the chat was on hold, the claim's lease ran out, or a stop
    held: int = 0  # handed back unsent, no try counted: the channel is down (ChannelDown)

    def __add__(self, other: SendStats) -> SendStats:
        return SendStats(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def __sub__(self, other: SendStats) -> SendStats:
        return SendStats(**{f.name: getattr(self, f.name) - getattr(other, f.name) for f in fields(self)})

    def count(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


@dataclass
class Held:
    """A claimed row waiting in its chat's queue, and when its claim's lease runs out."""

    message: OutboxMessage
    lease_until: datetime


class Pipeline:
    """The rows one ``run_once``, ``drain`` or ``run_forever`` holds, served by one worker task per chat."""

    def __init__(self, sender: OutboxSender) -> None:
        self.sender = sender
        self.stats = SendStats()
        self.queues: dict[ChatKey, deque[Held]] = {}
        self.workers: dict[ChatKey, asyncio.Task[None]] = {}
        self.waiting: set[ChatKey] = set()  # chats whose current row waits for its turn (not started yet)
        self.held = 0  # rows claimed and not finished
        self.stopping = False
        self.changed = asyncio.Event()  # a row finished (or a stop was asked for)
        self.due_again: datetime | None = None  # the earliest time a row this run put back falls due

    async def claim(self, limit: int) -> int:
        """Claim up to ``limit`` due rows and queue each behind the rows of its chat; how many were claimed."""
        claimed, lease_until = await self.sender.claim(limit)
        for message in claimed:  # oldest first
            key = (str(message.channel), str(message.chat_id))
            queue = self.queues.get(key)
            if queue is None:
                queue = self.queues[key] = deque()
                self.workers[key] = asyncio.create_task(self._serve_chat(key, queue),
                                                        name=f"outbox {key[0]}:{key[1]}")
            queue.append(Held(message, lease_until))
        self.held += len(claimed)
        self.stats.claimed += len(claimed)
        if claimed:
            log.debug("outbox claimed %d rows, %d held", len(claimed), self.held)
        return len(claimed)

    async def _serve_chat(self, key: ChatKey, queue: deque[Held]) -> None:
        """Send one chat's rows in order, one at a time, taking rows claimed meanwhile as they come."""
        gate = self.sender.gate
        try:
            while queue:
                held = queue[0]
                try:
                    outcome, due = await self._serve(key, held)
                except Exception:  # a write failed: the row stays claimed until its lease ends, then it is due
                    # again (its send had not started) or held in doubt (it had)
                    log.exception("could not record the start or outcome of outbox message %s",
                                  held.message.id)
                    outcome, due = None, None
                gate.end_trial(held.message)  # however it ended, its channel may be tried again
                queue.popleft()
                self.held -= 1
                if outcome is not None:
                    self.stats.count(outcome)
                if due is not None and (self.due_again is None or due < self.due_again):
                    self.due_again = due
                self.changed.set()
        finally:
            # Left early only when cancelled from outside: those rows come back when their lease runs out.
            for left in queue:
                gate.end_trial(left.message)
            self.held -= len(queue)
            queue.clear()
            del self.queues[key], self.workers[key]
            self.changed.set()

    async def _serve(self, key: ChatKey, held: Held) -> tuple[str | None, datetime | None]:
        sender = self.sender
        if self.stopping:
            return await sender.hand_back(held.message)
        self.waiting.add(key)
        try:
            return await sender.serve(held.message, held.lease_until, started=lambda: self.waiting.discard(key))
        except asyncio.CancelledError:
            if not (self.stopping and key in self.waiting):
                raise
            # Stopped while the row waited for its turn: it was not sent, so it goes back at once.
            self.waiting.discard(key)
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            return await sender.hand_back(held.message)
        finally:
            self.waiting.discard(key)

    async def wait(self, timeout: float | None) -> None:
        """Until a row finishes, a stop is asked for, or ``timeout`` seconds have passed."""
        with suppress(TimeoutError):
            await asyncio.wait_for(self.changed.wait(), timeout)

    async def settle(self) -> None:
        """Until every held row is finished."""
        while self.workers:
            await asyncio.gather(*list(self.workers.values()), return_exceptions=True)
            for key, task in list(self.workers.items()):
                if task.done():  # cancelled from outside before it ever ran, so it could not clean up
                    self.held -= len(self.queues.pop(key, ()))
                    del self.workers[key]

    async def close(self) -> None:
        """Hand back the rows not started yet, and let the sends in flight finish and be recorded."""
        self.stopping = True
        for key, task in list(self.workers.items()):
            if key in self.waiting:
                task.cancel()
        await self.settle()
