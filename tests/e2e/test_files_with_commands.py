"""A file (no picture) sent with a command as its caption, through the real python-telegram-bot Application and
the fake Bot API: the command runs as if typed, and the sender is told once that the file was not kept and what
the bot takes instead. /import is the one command that takes a file.

郝芳 (1001) is the liaison of ZD2026-001; 9001 is the office's admin. The clock is Friday 2026-11-20 10:00.
"""

from __future__ import annotations

import pytest

from tests.e2e.harness import TelegramHarness

HAO, ADMIN = 1001, 9001
NOT_KEPT = "该文件未保存"


def document(tg: TelegramHarness, name: str, caption: str) -> dict:
    return {"caption": caption, "document": {"file_id": tg.fake.add_file(b"PK\x03\x04"), "file_unique_id": name,
                                             "file_name": name, "file_size": 30_000}}


@pytest.mark.parametrize(("caption", "ran"), [
    ("/help", "/report"),  # the help lists the commands
    ("/mine", "ZD2026-001"),
    ("/nosuchcommand", "/nosuchcommand"),  # an unknown command is said so, as typed alone
])
async def test_a_file_captioned_with_a_command_runs_it_and_says_the_file_was_not_kept(
        telegram: TelegramHarness, caption: str, ran: str) -> None:
    await telegram.bind(HAO, "郝芳")
    answered = await telegram.message(HAO, document(telegram, "进度.docx", caption))
    said = [text for text in answered.texts if NOT_KEPT in text]
    assert len(said) == 1, answered.texts
    assert "收到文件「进度.docx」" in said[0] and "现场照片请以图片发送" in said[0]
    assert "文件说明中的命令已照常处理" in said[0]
    assert any(ran in text for text in answered.texts if NOT_KEPT not in text), answered.texts


async def test_a_report_started_by_a_files_caption_goes_on_and_the_file_is_not_kept(telegram: TelegramHarness) -> None:
    await telegram.bind(HAO, "郝芳")
    answered = await telegram.message(HAO, document(telegram, "照片说明.pdf", "/report ZD2026-001 850 桩基施工"))
    assert sum(NOT_KEPT in text for text in answered.texts) == 1
    assert "已记录填报" in answered.text
    assert await telegram.report_count() == 1


async def test_a_ledger_captioned_with_another_command_points_the_admin_to_import(telegram: TelegramHarness) -> None:
    await telegram.bind(ADMIN, "管理员(区重大项目办)", "admin")
    answered = await telegram.message(ADMIN, document(telegram, "台账.xlsx", "/help"))
    [said] = [text for text in answered.texts if "未导入" in text]
    assert "请先发送 /import" in said and "文件说明中的命令已照常处理" in said
