"""What the fake servers and the harnesses serving a channel share: an aiohttp app on a free local port,
and waiters woken when something they wait for may have happened."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web


async def serve_locally(app: web.Application, **runner_options: Any) -> tuple[web.AppRunner, int]:
    """Serve `app` on a free port of 127.0.0.1: the runner (to clean up afterwards) and the port."""
    runner = web.AppRunner(app, access_log=None, **runner_options)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, runner.addresses[0][1]


def wake(waiters: set[asyncio.Future[None]]) -> None:
    """Wake every waiter (each checks again whether what it waits for has happened)."""
    for waiter in list(waiters):
        if not waiter.done():
            waiter.set_result(None)


async def wait_for_wake(waiters: set[asyncio.Future[None]], timeout: float) -> None:
    """Wait until `wake(waiters)` is called or `timeout` seconds have passed, whichever comes first."""
    waiter = asyncio.get_running_loop().create_future()
    waiters.add(waiter)
    try:
        await asyncio.wait_for(asyncio.shield(waiter), timeout)
    except TimeoutError:
        pass
    finally:
        waiters.discard(waiter)
