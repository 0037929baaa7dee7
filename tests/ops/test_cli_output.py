"""What the command line prints when there is a lot to say, or nobody left to read it: `diaodu import` lists
the first errors of a ledger (as many as the chat) and counts the others; a command whose reader went away
(`diaodu … | head`) ends quietly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.__main__ import EXIT_PIPE, main
from storage.migrate import upgrade
from tests.admin.test_admin_import import ledger_csv_with_errors, listed_errors

REPO = Path(__file__).resolve().parents[2]


def test_import_lists_the_first_fifty_errors_and_counts_the_others(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    upgrade(f"sqlite+aiosqlite:///{tmp_path / 'diaodu.sqlite3'}")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", "sqlite+aiosqlite:///diaodu.sqlite3")
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "台账.csv").write_bytes(ledger_csv_with_errors(120))

    assert main(["import", "台账.csv", "--dry-run"]) == 1

    said = capsys.readouterr().err
    count, listed, after = listed_errors(said)
    assert count > 120 and len(listed) == 50, said  # the roster is missing too
    assert after == f"…… 另有 {count - 50} 处错误未列出"


@pytest.mark.parametrize(("argv", "stream"), [(["db", "current"], "stdout"),
                                             (["import", "没有这个文件.xlsx"], "stderr")],
                         ids=["said", "refused"])
def test_a_command_whose_reader_is_gone_ends_quietly(tmp_path: Path, argv: list[str], stream: str) -> None:
    read, write = os.pipe()
    os.close(read)  # as `diaodu … | head` (or `2>&1 | head`) leaves it once head has its lines
    other = tmp_path / "other.txt"
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'd.sqlite3'}", "DATA_DIR": str(tmp_path)}
    try:
        with other.open("wb") as out:
            streams = {"stdout": write, "stderr": out} if stream == "stdout" else {"stdout": out, "stderr": write}
            done = subprocess.run([sys.executable, "-m", "bot", *argv], cwd=REPO, env=env, timeout=60, check=False,
                                  **streams)
    finally:
        os.close(write)
    assert done.returncode == EXIT_PIPE
    assert other.read_text() == ""  # no traceback, no complaint at exit
