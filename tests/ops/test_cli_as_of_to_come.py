"""`diaodu import --as-of` refuses a day still to come, as the chat's typed date and a file's 截至 day are refused:
a base counts up to its day, so one dated ahead would hold, and never count, the reports sent until then."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.__main__ import main
from storage.migrate import upgrade
from tests.storage.factories import SAMPLE_PEOPLE_CSV, SAMPLE_PROJECTS_CSV


def test_the_command_lines_as_of_after_today_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    upgrade(f"sqlite+aiosqlite:///{tmp_path / 'diaodu.sqlite3'}")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", "sqlite+aiosqlite:///diaodu.sqlite3")
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    to_come = (datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=3)).isoformat()
    code = main(["import", str(SAMPLE_PROJECTS_CSV), str(SAMPLE_PEOPLE_CSV), "--as-of", to_come])
    out = capsys.readouterr()
    assert code != 0, out
