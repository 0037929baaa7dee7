"""A liaison's week, end to end through the real python-telegram-bot Application and the fake Bot API, with
everything that made figures untrustworthy in one story: a report delivered twice, a slip (8500 for 850), a
second report the same day, the slip corrected two working days later, and a report sent while the admin
imports the ledger in the chat. At the end the project's year-to-date is exactly the week's true reports.

郝芳 (1001) is liaison of ZD2026-001; the admin is 9009. Monday 2026-11-23 to Friday 11-27, all working days.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

from bot.clock import SHANGHAI
from tests.e2e.harness import TelegramHarness
from tests.e2e.test_corrections import _sum_of_year
from tests.e2e.test_report_during_import import REPLY_WAIT, _send_document

HAO, ADMIN = 1001, 9009
CODE = "ZD2026-001"
SAMPLE = Path(__file__).resolve().parents[2] / "bot" / "demo" / "projects_sample.csv"


def at(day: int, hour: int = 17) -> datetime:
    return datetime(2026, 11, day, hour, 0, tzinfo=SHANGHAI)


async def test_a_liaisons_week(telegram: TelegramHarness) -> None:
    tg = telegram
    await tg.bind(HAO, "郝芳", "liaison")
    await tg.bind(ADMIN, "管理员(区重大项目办)", "admin")

    # Monday: the report's update reaches the bot twice (Telegram did not hear the answer): stored and answered once.
    tg.clock.set(at(23))
    update = tg.fake.text_update(HAO, f"/report {CODE} 850 桩基施工")
    mark = len(tg.fake.calls)
    tg.fake.enqueue_update(update)
    await tg.wait_processed(update["update_id"], timeout=REPLY_WAIT)
    again = tg.fake.enqueue_update({"message": dict(update["message"])})  # same message, new update id
    await tg.wait_processed(again["update_id"], timeout=REPLY_WAIT)
    answers = [c for c in tg.fake.calls[mark:] if c.method == "sendMessage" and c.matches(None, {"chat_id": HAO})]
    assert len(answers) == 1 and "已记录填报" in answers[0]["text"]
    assert [r.amount for r in await tg.reports()] == [Decimal(850)]

    # Tuesday: a slip, then the same project again the same day: asked, and the first one kept.
    tg.clock.set(at(24))
    assert "已记录填报" in await tg.send(HAO, f"/report {CODE} 8500 桩基完成")
    asked = await tg.send(HAO, f"/report {CODE} 9000 桩基完成")
    assert "已有一条填报" in asked and asked.buttons == ["确认替换", "保留原填报"]
    assert "保留" in await tg.press(HAO, "保留原填报")
    assert [r.amount for r in await tg.reports()] == [Decimal(850), Decimal(8500)]

    # Thursday: the slip corrected (two working days later), with a reason; the old version kept, not counted.
    tg.clock.set(at(26, 10))
    confirm = await tg.send(HAO, f"/correct {CODE} 11-24 850 桩基完成 理由：多写了一个零")
    assert "确认更正" in confirm.buttons
    assert "已更正" in await tg.press(HAO, "确认更正")
    assert [r.amount for r in await tg.reports()] == [Decimal(850), Decimal(850)]
    assert len(await tg.reports(withdrawn=None)) == 3

    # Friday: the admin imports the ledger in the chat; the liaison's report sent meanwhile is stored once.
    tg.clock.set(at(27))
    assert "请发送项目台账文件" in await tg.send(ADMIN, "/import")
    preview = await _send_document(tg, ADMIN, "11月台账.csv", SAMPLE.read_bytes())
    assert any("导入预览" in text for text in preview), preview
    confirmed = tg.fake.enqueue_callback(ADMIN, label="确认")
    report = tg.fake.enqueue_text(HAO, f"/report {CODE} 300 承台施工")
    await tg.wait_processed(confirmed["update_id"], timeout=REPLY_WAIT)
    await tg.wait_processed(report["update_id"], timeout=REPLY_WAIT)
    assert any("已记录填报" in c["text"] for c in tg.fake.calls_of("sendMessage", chat_id=HAO))

    assert [r.amount for r in await tg.reports()] == [Decimal(850), Decimal(850), Decimal(300)]
    assert await _sum_of_year(tg) == Decimal(2000)  # the week's true reports (万元), the slip and the duplicate out
    tg.assert_nothing_failed()
