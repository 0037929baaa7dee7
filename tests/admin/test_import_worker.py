"""A ledger sent to /import is read in a worker process of its own (`Core.import_workers`, as `diaodu run` wires
it with `Core.use_workers`): a bulletin being drawn in the bulletins' worker (`Core.workers`, 10–20 s for
10,000 projects) does not hold the admin's preview; and that process ends once the file is read."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from tests.admin.admin_support import ADMIN_NAME, Desk
from tests.admin.test_admin_import import ledger_csv, upload


def busy_until(path: str) -> bool:
    """In the bulletins' worker: a bulletin that takes until `path` exists (at most a minute)."""
    deadline = time.monotonic() + 60
    while not Path(path).exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


async def test_an_import_is_not_queued_behind_a_bulletin(desk: Desk, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    core = desk.core
    core.use_workers()
    pools: list[bool] = []
    run = core.import_workers.run

    async def watched(function: Any, /, *args: Any) -> Any:
        result = await run(function, *args)
        pools.append(core.import_workers.started)
        return result

    monkeypatch.setattr(core.import_workers, "run", watched)
    done = tmp_path / "bulletin_done"
    try:
        bulletin = asyncio.create_task(core.workers.run(busy_until, str(done)))
        preview = await desk.send(ADMIN_NAME, "/import", document=upload("台账.csv", ledger_csv("45000")))

        assert "导入预览" in preview and "更新 1" in preview
        assert pools == [False]  # read in the imports' worker, which ended once it had
        assert not bulletin.done()  # the bulletin is still being drawn
        done.touch()
        assert await bulletin
    finally:
        await asyncio.to_thread(core.workers.close)
        await asyncio.to_thread(core.import_workers.close)
