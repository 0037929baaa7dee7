"""The guided /report in the WeCom app answered by typing the buttons' words (「完成」, 「确认」), as members who
type rather than tap do: the report is stored as if the buttons had been pressed."""

from __future__ import annotations

from decimal import Decimal

from tests.wecom.harness import WeComHarness


async def test_a_guided_report_finished_by_typing_the_buttons_words(wecom: WeComHarness) -> None:
    await wecom.bind("hao", "郝芳")
    assert "请输入本期完成投资" in await wecom.send("hao", "/report ZD2026-001")
    await wecom.send("hao", "850万 桩基完成")
    summary = await wecom.send("hao", "完成")
    assert "请核对填报内容" in summary, summary
    assert "已记录填报" in await wecom.send("hao", "确认")
    [report] = await wecom.reports()
    assert (report.amount, report.progress_text) == (Decimal(850), "桩基完成")
