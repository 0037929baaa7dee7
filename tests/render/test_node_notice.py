"""The overdue node's notice says what will happen next: before its problem's deadline "仍未完成的，上报包抓领导",
after it (a node entered or imported long after its planned day) "将上报包抓领导"."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

from bot.render import Renderer

DUE = datetime(2026, 12, 9, 9, 30, tzinfo=UTC)  # 17:30 in Shanghai


def _notice(now: datetime) -> str:
    node = SimpleNamespace(name="主体封顶 <A&B>", planned_on=date(2026, 12, 4))
    project = SimpleNamespace(code="ZD2026-002", name="滨江四期沿江路")
    problem = SimpleNamespace(number="W0012", unit=SimpleNamespace(name="区城管局"), resolution_due_at=DUE)
    return Renderer().render("node_overdue", node=node, project=project, problem=problem, liaison=False, days=3,
                             now=now)


def test_before_the_deadline_the_notice_says_when_it_goes_up() -> None:
    text = _notice(datetime(2026, 12, 7, 1, tzinfo=UTC))
    assert "计划日期后 3 个工作日" in text and "仍未完成的，上报包抓领导" in text
    assert "主体封顶 &lt;A&amp;B&gt;" in text  # what people typed is escaped


def test_past_the_deadline_the_notice_says_it_goes_up_now() -> None:
    text = _notice(datetime(2026, 12, 10, 1, tzinfo=UTC))
    assert "已超过计划日期后 3 个工作日" in text and "将上报包抓领导" in text and "仍未完成的" not in text
