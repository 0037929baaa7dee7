"""The buttons of the guided flows (/report, /issue, /correct and its 补报) through the router (the admin tests'
`desk`), as one shape: 取消 says the flow's own words and leaves it; a button of another step than the one the
flow waits at is 「按钮已失效」 and the flow still waits; a button of a flow that is over is 「按钮已失效」 (but
/report's project buttons, which start the report again)."""

from __future__ import annotations

from storage import conversations
from tests.admin.admin_support import ADMIN_NAME, Desk

HAO = "郝芳"  # liaison of ZD2026-001
EXPIRED = "这个按钮已失效"


async def _flow(desk: Desk, name: str) -> tuple[str, str | None] | None:
    """The flow `name` is in and the step it waits at, or None."""
    external = await desk.account(name)
    async with desk.session() as session:
        held = await conversations.get_conversation(session, channel="console", chat_id=external, user_id=external)
    return None if held is None else (held.flow, held.state.get("step"))


async def test_report_buttons(desk: Desk) -> None:
    assert "请选择" in await desk.send(HAO, "/report") and await _flow(desk, HAO) == ("report", "project")
    assert EXPIRED in await desk.tap(HAO, "rp:ok")  # 确认 of a summary not shown yet
    assert EXPIRED in await desk.tap(HAO, "rp:pg:x")
    assert await _flow(desk, HAO) == ("report", "project")
    assert "已取消本次填报" in await desk.tap(HAO, "rp:cancel") and await _flow(desk, HAO) is None
    assert EXPIRED in await desk.tap(HAO, "rp:done")
    assert EXPIRED in await desk.tap(HAO, "rp:keep")
    assert "请输入本期完成投资" in await desk.tap(HAO, "rp:p:ZD2026-001")  # a project's button starts it again
    assert await _flow(desk, HAO) == ("report", "amount")


async def test_issue_buttons(desk: Desk) -> None:
    await desk.send(HAO, "/issue")
    assert await _flow(desk, HAO) == ("issue", "project")
    # a category, or the next page, before the project: not 「没有找到项目「」」, and the flow still waits
    assert EXPIRED in await desk.tap(HAO, "iss:c:0") and EXPIRED in await desk.tap(HAO, "iss:pg:x")
    assert await _flow(desk, HAO) == ("issue", "project")
    assert "ZD2026-001" in await desk.tap(HAO, "iss:p:ZD2026-001")
    assert await _flow(desk, HAO) == ("issue", "category")
    assert EXPIRED in await desk.tap(HAO, "iss:d") and EXPIRED in await desk.tap(HAO, "iss:ok")
    assert await _flow(desk, HAO) == ("issue", "category")
    assert "已取消，未提交问题" in await desk.tap(HAO, "iss:x") and await _flow(desk, HAO) is None
    assert EXPIRED in await desk.tap(HAO, "iss:c:0")
    assert EXPIRED in await desk.tap(HAO, "iss:p:ZD2026-001")
    assert await _flow(desk, HAO) is None


async def test_correct_buttons(desk: Desk) -> None:
    assert "已记录填报" in await desk.send(HAO, "/report ZD2026-001 850万 桩基完成")
    await desk.send(HAO, "/correct")
    assert await _flow(desk, HAO) == ("correct", "project")
    assert EXPIRED in await desk.tap(HAO, "cr:same") and EXPIRED in await desk.tap(HAO, "cr:d:1")
    assert "请选择要更正的那一天的填报" in await desk.tap(HAO, "cr:p:ZD2026-001")
    assert await _flow(desk, HAO) == ("correct", "day")
    assert EXPIRED in await desk.tap(HAO, "cr:p:ZD2026-001")
    assert "已取消更正" in await desk.tap(HAO, "cr:cancel") and await _flow(desk, HAO) is None
    assert EXPIRED in await desk.tap(HAO, "cr:p:ZD2026-001")
    assert await _flow(desk, HAO) is None


async def test_backfill_buttons(desk: Desk) -> None:
    desk.core.clock.advance(days=4)  # Tuesday 24 November: Monday, after the ledger was entered, has no report
    assert "没有填报" in await desk.send(ADMIN_NAME, "/correct ZD2026-001 11-23")
    assert await _flow(desk, ADMIN_NAME) == ("backfill", "amount")
    assert EXPIRED in await desk.tap(ADMIN_NAME, "bf:ok") and EXPIRED in await desk.tap(ADMIN_NAME, "bf:r:0")
    assert await _flow(desk, ADMIN_NAME) == ("backfill", "amount")
    assert "已取消补报" in await desk.tap(ADMIN_NAME, "bf:cancel") and await _flow(desk, ADMIN_NAME) is None
    assert EXPIRED in await desk.tap(ADMIN_NAME, "bf:ok")


def _data(desk: Desk, name: str, text: str) -> str:
    """The data of the button `text` on the last reply to `name`."""
    return next(b.data for row in desk.last[name].replies[-1].buttons for b in row if b.label == text)


async def test_an_older_drafts_confirm_does_not_confirm_the_newer_one(desk: Desk) -> None:
    assert "已记录填报" in await desk.send(HAO, "/report ZD2026-001 850万 桩基完成")
    assert "请核对更正内容" in await desk.send(HAO, "/correct ZD2026-001 11-20 900 理由：发票补齐")
    first = _data(desk, HAO, "确认更正")
    assert "请核对更正内容" in await desk.send(HAO, "/correct ZD2026-001 11-20 950 理由：发票补齐")
    second = _data(desk, HAO, "确认更正")
    assert second != first
    assert EXPIRED in await desk.tap(HAO, first)  # the 900's 确认, pressed after the 950 was shown
    assert EXPIRED in await desk.tap(HAO, "cr:ok")  # a 确认 naming no draft
    assert await _flow(desk, HAO) == ("correct", "confirm")
    assert "→ 950.0 万元" in await desk.tap(HAO, second)


async def test_a_cancel_of_a_flow_that_is_over_leaves_the_one_under_way(desk: Desk) -> None:
    await desk.send(HAO, "/report")
    assert await _flow(desk, HAO) == ("report", "project")
    for data in ("cr:cancel", "bf:cancel", "hm:cancel"):
        assert "这项操作已经结束，无需取消" in await desk.tap(HAO, data)
    assert await _flow(desk, HAO) == ("report", "project")
    await desk.send(HAO, "/correct")
    assert "这项操作已经结束，无需取消" in await desk.tap(HAO, "rp:cancel")
    assert await _flow(desk, HAO) == ("correct", "project")
