"""Waiting in a test for something that happens on its own time (a process, a task, a server): one way to poll."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable


async def until(check: Callable[[], object | Awaitable[object]], what: str | Callable[[], str],
                timeout: float = 30.0, *, every: float = 0.1) -> None:
    """Wait until ``check()`` is true (it may be a coroutine function), looking every ``every`` seconds; fail
    naming ``what`` after ``timeout`` seconds (``what`` may be a function, called then: to say what was seen).

    An AssertionError raised by ``check`` ends the wait at once (a process that died, say)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        held = check()
        if inspect.isawaitable(held):
            held = await held
        if held:
            return
        if loop.time() >= deadline:
            raise AssertionError(f"not within {timeout:g} s: {what() if callable(what) else what}")
        await asyncio.sleep(every)
