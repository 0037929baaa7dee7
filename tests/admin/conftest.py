"""Fixtures of the admin tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.admin.admin_support import Desk, make_desk


@pytest.fixture
async def desk(ledger_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Desk]:
    """A Desk on a fresh copy of the sample ledger (see `make_desk`), disposed of afterwards."""
    built = await make_desk(ledger_template, tmp_path / "data", monkeypatch)
    try:
        yield built
    finally:
        await built.core.db.dispose()
