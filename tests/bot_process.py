"""`diaodu run` in a process of its own, what it logs going to a file: for the tests that follow its processes
and for the start-up benchmark (``bench/startup.py``), both against the fake Bot API
(``tests.fakes.bot_api.FakeBotAPI.run_environment``)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path


async def start_bot(env: dict[str, str], cwd: Path, log: Path) -> asyncio.subprocess.Process:
    """``python -m bot run`` (what the ``diaodu run`` script runs) in ``cwd`` with ``env``, what it logs written
    to the file ``log``: not a pipe, which the bot's own processes would hold open (and ``wait()`` would wait for
    as long as one of them outlived it)."""
    with log.open("wb") as stderr:
        return await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", cwd=cwd, env=env,
                                                    stdout=asyncio.subprocess.DEVNULL, stderr=stderr)


def said(log: Path) -> str:
    """The end of what the bot logged (its last 3,000 characters), to show when it did not do what was awaited."""
    return log.read_text(errors="replace")[-3000:]
