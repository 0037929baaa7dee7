"""The 确认 of an older /report summary, pressed after the liaison went through /report again with another amount:
the message pressed shows 3,000 万元, and pressing it must not store the 500 万元 of the summary shown since (as an
older 补报's 确认 no longer stores the newer 补报: tests/e2e/test_backfill_old_buttons.py)."""

from __future__ import annotations

from tests.e2e.harness import TelegramHarness
from tests.e2e.test_backfill_old_buttons import press_on
from tests.e2e.test_telegram_flow import HAO, _guided_until_summary, hao  # noqa: F401  (fixture)


async def test_an_older_summary_confirm_does_not_store_the_newer_draft(hao: TelegramHarness) -> None:  # noqa: F811
    first = await _guided_until_summary(hao, "3000万元", "路基完成40%", photos=0)
    assert "3,000.0 万元" in first.text
    second = await _guided_until_summary(hao, "500", "路基完成45%", photos=0)
    assert "500.0 万元" in second.text
    await press_on(hao, HAO, first.messages[-1].result["message_id"], "确认")  # the 3,000 summary's button
    stored = [(report.amount, report.progress_text) for report in await hao.reports()]
    assert all(amount != 500 for amount, _progress in stored), stored  # not the draft that message did not show
