"""`diaodu backup` keeps the Telegram updates fetched and not yet handled (``DATA_DIR/telegram-inbox``, which
Telegram will not deliver again) beside the database copy, apart from WeCom's, and `diaodu restore` puts them back
as a journal the next `diaodu run` takes over (its handling: tests/e2e/test_telegram_inbox.py)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.channels.inbox import Inbox, outstanding
from storage.migrate import upgrade

UPDATE = {"update_id": 7, "message": {"message_id": 3, "date": 1_795_000_000, "text": "/report ZD2026-001 850万",
                                      "chat": {"id": 1001, "type": "private"},
                                      "from": {"id": 1001, "is_bot": False, "first_name": "郝芳"}}}


def left_by_a_process_killed(folder: Path) -> None:
    """A journal holding one update fetched and not handled, its process gone (its lock with it)."""
    inbox = Inbox.open(folder, name="Telegram inbox")
    inbox.add("7", "1001", {"update": json.dumps(UPDATE, ensure_ascii=False)}, at=1_795_000_000.0)
    asyncio.run(inbox.close())  # kept: not done


def test_the_telegram_updates_not_handled_are_backed_up_and_restored(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    data.mkdir()
    url = f"sqlite+aiosqlite:///{data / 'diaodu.sqlite3'}"
    upgrade(url)
    left_by_a_process_killed(data / "telegram-inbox")
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DATA_DIR", str(data))
    backup = tmp_path / "backups" / "diaodu.sqlite3"
    assert main(["backup", "--out", str(backup)]) == 0
    said = capsys.readouterr().out
    assert "已备份Telegram 已收到、尚未处理的消息 1 条" in said and "企业微信" not in said
    assert (tmp_path / "backups" / "diaodu.telegram-inbox").is_dir()
    assert not (tmp_path / "backups" / "diaodu.wecom-inbox").exists()

    elsewhere = tmp_path / "elsewhere"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{elsewhere / 'diaodu.sqlite3'}")
    monkeypatch.setenv("DATA_DIR", str(elsewhere))
    assert main(["restore", str(backup)]) == 0
    assert "已恢复Telegram 已收到、尚未处理的消息 1 条" in capsys.readouterr().out
    [journal] = sorted((elsewhere / "telegram-inbox").glob("*.jsonl"))
    [kept] = outstanding(journal.read_bytes())
    assert json.loads(kept.fields["update"]) == UPDATE and kept.at == 1_795_000_000.0
    assert not (elsewhere / "wecom-inbox").exists()
