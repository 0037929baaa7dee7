"""Shared fixtures: each test process's PostgreSQL database, a fake Telegram Bot API over real HTTP and the real
Telegram channel polling it.

Heavier imports happen inside the fixtures so that a broken channel module only fails the tests that use it.
Fixture names are distinct from those of package-level conftest files (``db``, ``clock``) on purpose.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bot.ops.logs import drop_logging

if TYPE_CHECKING:
    from bot.app import Core
    from bot.clock import FrozenClock
    from bot.config import Settings
    from tests.e2e.harness import TelegramHarness
    from tests.fakes.bot_api import FakeBotAPI


@pytest.fixture(scope="session", autouse=True)
def worker_postgres_database() -> Iterator[None]:
    """Each pytest-xdist worker tests PostgreSQL on a database of its own (tests.databases), made here when missing;
    the test database commits without waiting for the disk. The scratch databases kept for reuse are dropped at
    the end."""
    from tests.databases import create_worker_database, drop_spare_databases

    create_worker_database()
    yield
    drop_spare_databases()


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeBotAPI]:
    """A fake Bot API server on a free local port."""
    from tests.fakes.bot_api import FakeBotAPI

    async with FakeBotAPI() as fake:
        yield fake


@pytest.fixture
def frozen_clock() -> FrozenClock:
    """2026-11-20 10:00 in Shanghai, a Friday and a working day; tests move it with advance()."""
    from bot.clock import FrozenClock
    from tests.e2e.harness import START

    return FrozenClock(START)


@pytest.fixture
def tg_settings(fake_api: FakeBotAPI) -> Settings:
    from tests.e2e.harness import e2e_settings

    return e2e_settings(fake_api)


@pytest.fixture(scope="session")
def ledger_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with the schema and the sample ledger, imported once per session."""
    from tests.e2e.harness import make_ledger_template

    return make_ledger_template(tmp_path_factory.mktemp("ledger") / "ledger.sqlite3")


@pytest.fixture
async def e2e_core(tg_settings: Settings, frozen_clock: FrozenClock,
                   ledger_template: Path) -> AsyncIterator[Core]:
    """The core on a fresh in-memory database holding the sample ledger (a copy of the template)."""
    from tests.e2e.harness import sample_core

    async with sample_core(tg_settings, frozen_clock, ledger_template) as core:
        yield core


@pytest.fixture
async def telegram(fake_api: FakeBotAPI, e2e_core: Core,
                   tg_settings: Settings) -> AsyncIterator[TelegramHarness]:
    """The Telegram channel polling the fake. Fails the test if a handler raised or the fake refused a
    message (bad HTML, bad keyboard) unless the test cleared `errors` itself."""
    from tests.e2e.harness import TelegramHarness, running

    async with running(TelegramHarness(fake_api, e2e_core, tg_settings)) as harness:
        yield harness
    harness.assert_nothing_failed()


@pytest.fixture(autouse=True)
def logging_put_back() -> Iterator[None]:
    """A test that runs `diaodu …` in-process (``bot.__main__.main``) sets logging up on the root logger, to the
    stderr pytest captured for that test: later tests of the process logged into a closed stream, through its
    filter. Its handler is taken off and the root logger's level put back."""
    level = logging.getLogger().level
    yield
    drop_logging()
    logging.getLogger().setLevel(level)


@pytest.fixture(autouse=True)
def no_unexpected_handler_failures(request: pytest.FixtureRequest,
                                   caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """A message that fails is answered "not saved" rather than raising (handlers.router), which would hide
    a broken handler from the test that drove it: fail any test during which the router logged a failure,
    unless it is marked ``handler_failures`` (it provokes them on purpose)."""
    yield
    if request.node.get_closest_marker("handler_failures"):
        return
    failures = [r for r in caplog.get_records("call") if r.name == "handlers.router" and r.levelno >= logging.ERROR]
    if failures:
        pytest.fail(f"a message could not be handled: {failures[0].getMessage()}\n{failures[0].exc_text or ''}")
