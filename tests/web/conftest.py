"""Fixtures of the web page tests: the pages served on a copy of the sample ledger."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.web.harness import WebHarness, web_harness


@pytest.fixture
async def site(ledger_template: Path, tmp_path: Path) -> AsyncIterator[WebHarness]:
    async with web_harness(ledger_template, tmp_path) as harness:
        yield harness
