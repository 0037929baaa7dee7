"""`diaodu backup` keeps the Telegram updates fetched and not yet handled (``DATA_DIR/telegram-inbox``, which
Telegram will not deliver again) beside the database copy, apart from WeCom's, and `diaodu restore` puts them back
as a journal the next `diaodu run` takes over (its handling: tests/e2e/test_telegram_inbox.py), as restored: an
update the restored database holds handled is not answered again."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from telegram import Update

from bot.__main__ import main
from bot.app import Core
from bot.channels.inbox import Inbox, outstanding
from bot.config import Settings
from bot.ops.inbox_backup import read_inbox, restore_inbox, save_inbox
from storage.migrate import upgrade
from tests.e2e.harness import TelegramHarness
from tests.e2e.test_telegram_inbox import CONFIRMED, HAO, REPORT, core, to_hao  # noqa: F401 - core is a fixture
from tests.fakes.bot_api import FakeBotAPI

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


async def test_a_restored_update_the_restored_database_holds_handled_is_not_answered_again(
        fake_api: FakeBotAPI, core: Core, tg_settings: Settings, tmp_path: Path) -> None:  # noqa: F811
    """The backup read the journal while 郝芳's report and her /help were fetched and not handled; the report was
    handled and answered before the database was copied. Restored (the database as copied: the report in it, its
    confirmation kept with it), the report is not answered again, and the /help, which no process had handled, is
    answered as it comes."""
    folder = tmp_path / "data" / "telegram-inbox"
    first = TelegramHarness(fake_api, core, tg_settings, journal=folder)
    await first.start()
    await first.bind(HAO, "郝芳", "liaison")
    await first.poller.stop()
    report, help_ = fake_api.text_update(HAO, REPORT), fake_api.text_update(HAO, "/help")
    fetched = [Update.de_json(update, first.application.bot) for update in (report, help_)]
    assert first.channel.journal is not None
    first.channel.journal.add(fetched)
    saved = read_inbox(folder)  # the backup reads the journals before it copies the database
    await first.application.process_update(fetched[0])  # meanwhile the report is handled and answered
    await first.stop()
    assert len(to_hao(fake_api, CONFIRMED)) == 1
    backup = tmp_path / "backups" / "diaodu.sqlite3"
    assert save_inbox(saved, backup, "telegram") is not None

    restored = tmp_path / "elsewhere" / "telegram-inbox"
    assert restore_inbox(backup, restored, "telegram") is not None
    mark = len(fake_api.calls)
    second = TelegramHarness(fake_api, Core.build(tg_settings, clock=core.clock, db=core.db), tg_settings,
                             journal=restored)
    await second.start(polling=False)
    try:
        await second.wait_processed(report["update_id"])
        await second.wait_processed(help_["update_id"])
        [answer] = [c["text"] for c in fake_api.calls_of("sendMessage", since=mark, ok=True) if c["chat_id"] == HAO]
        assert "/report" in answer and CONFIRMED not in answer  # the /help's
        assert len(to_hao(fake_api, CONFIRMED)) == 1 and len(await second.reports()) == 1
    finally:
        await second.stop()
