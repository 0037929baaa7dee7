"""Fixtures of the web page tests: the pages served on a copy of the sample ledger, on an in-memory SQLite
database and, when TEST_DATABASE_URL names one, on PostgreSQL (that database is emptied and re-created from
the models, so it must be reserved for tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.databases import BACKENDS
from tests.web.harness import WebHarness, sample_database, web_harness


@pytest.fixture(params=BACKENDS)
async def site(request: pytest.FixtureRequest, ledger_template: Path, tmp_path: Path) -> AsyncIterator[WebHarness]:
    if request.param == "sqlite":
        async with web_harness(ledger_template, tmp_path) as harness:
            yield harness
        return
    async with sample_database(request.param, ledger_template, tmp_path) as url:
        async with web_harness(ledger_template, tmp_path, url=url) as harness:
            yield harness


@pytest.fixture
async def sqlite_site(ledger_template: Path, tmp_path: Path) -> AsyncIterator[WebHarness]:
    """The pages on SQLite only (the browser test: what it checks does not depend on the database)."""
    async with web_harness(ledger_template, tmp_path) as harness:
        yield harness
