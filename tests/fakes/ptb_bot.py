"""A real python-telegram-bot ``Bot`` pointed at a ``FakeBotAPI``, for tests that send without an Application.

``async with bot_on(fake) as bot:`` opens it (PTB's ``Bot`` is its own async context manager); the HTTP client's
pool and timeouts can be narrowed for tests of faults (a short read timeout makes a held request a timeout).
"""

from __future__ import annotations

from telegram import Bot
from telegram.request import HTTPXRequest

from tests.fakes.bot_api import FakeBotAPI


def bot_on(fake: FakeBotAPI, *, pool: int = 8, read_timeout: float = 5.0, write_timeout: float = 5.0,
           pool_timeout: float | None = 1.0) -> Bot:
    request = HTTPXRequest(connection_pool_size=pool, read_timeout=read_timeout, write_timeout=write_timeout,
                           connect_timeout=1.0, pool_timeout=pool_timeout)
    return Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url, request=request)
