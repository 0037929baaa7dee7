"""/project_set's amounts end to end through Telegram (the real PTB Application and the fake Bot API): a plan or a
total written in Chinese numerals is said back as read, in the confirmation asked and in the reply, as reports and
/correct say it (bot/templates/_amount_read_back.j2).

ZD2026-001 (城北高速连接线): annual plan 40,800 万元, total 68,000 万元.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from storage.models import Project
from tests.e2e.harness import TelegramHarness

ADMIN = 9001
CODE = "ZD2026-001"


async def _amounts(tg: TelegramHarness) -> tuple[Decimal, Decimal]:
    async with tg.session() as session:
        project = await session.scalar(select(Project).where(Project.code == CODE))
        assert project is not None
        return project.annual_plan, project.total_investment


async def test_a_plan_or_total_in_chinese_numerals_is_said_as_read(telegram: TelegramHarness) -> None:
    tg = telegram
    await tg.bind(ADMIN, "管理员(区重大项目办)", "admin")

    # 「四万」 is 4 万元, not 40,000 万元: the plan all but gone waits for 确认, saying how it was read
    asked = await tg.send(ADMIN, f"/project_set {CODE} 年度计划 四万")
    assert "由 40,800.0 万元 改为 <b>4.0 万元</b>（「四万」按 4 万元计）（变动 -100.0%）" in asked.text, asked.text
    assert await _amounts(tg) == (Decimal(40800), Decimal(68000))
    done = await tg.press(ADMIN, "确认修改")
    assert "年度计划投资：40,800.0 万元 → <b>4.0 万元</b>（「四万」按 4 万元计）" in done.text, done.text

    total = await tg.send(ADMIN, f"/project_set {CODE} 总投资 七亿")
    assert "总投资：68,000.0 万元 → <b>70,000.0 万元</b>（「七亿」按 70,000 万元计）" in total.text, total.text
    plan = await tg.send(ADMIN, f"/project_set {CODE} 年度计划 四千")
    assert "改为 <b>4,000.0 万元</b>（「四千」未写单位，按 4,000 万元计）" in plan.text, plan.text
    await tg.press(ADMIN, "确认修改")
    assert await _amounts(tg) == (Decimal(4000), Decimal(70000))

    # Arabic digits need no reading: the stored figure says it
    plain = await tg.send(ADMIN, f"/project_set {CODE} 总投资 7.2亿")
    assert "总投资：70,000.0 万元 → <b>72,000.0 万元</b>\n" in plain.text + "\n" and "按" not in plain.text, plain.text
