"""The admins' flows' buttons left on an older message, pressed after a newer one was shown (through the router, the
admin tests' `desk`): /broadcast's 确认发送, /import's 确认 and conflict choice, /project_set's 确认修改 and its pick
among namesakes, /leave's pick among namesakes each name what their message showed, so that pressed on the older
message they change nothing and say it is out of date; the newest message's do. A 取消 of an admin's flow that is
over says so and leaves the flow under way alone."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from storage.models import Leave, OutboxMessage, Project
from tests.admin.admin_support import ADMIN_NAME, Desk
from tests.admin.test_admin_import import annual_plan, ledger_csv, upload, waiting
from tests.admin.test_namesakes import OTHER_YAN, add_person
from tests.admin.test_truthful_answers import add_second_hao

OUTDATED = "这个按钮已失效：它所在的消息不是最新的内容"
OVER = "这项操作已经结束，无需取消"


def data_of(desk: Desk, name: str, label: str) -> str:
    """The data of the button `label` on the last reply to `name`."""
    return next(b.data for row in desk.last[name].replies[-1].buttons for b in row if b.label == label)


def send_label(desk: Desk, name: str) -> str:
    return next(b.label for row in desk.last[name].replies[-1].buttons for b in row if b.label.startswith("确认发送"))


async def _broadcasts(desk: Desk) -> list[str]:
    async with desk.session() as session:
        return [m.payload["html"] for m in (await session.scalars(select(OutboxMessage))).all()]


async def test_an_older_broadcast_preview_sends_nothing(desk: Desk) -> None:
    assert "须确认" in await desk.send(ADMIN_NAME, "/broadcast all 今晚八点开调度会")
    first = data_of(desk, ADMIN_NAME, send_label(desk, ADMIN_NAME))
    assert "须确认" in await desk.send(ADMIN_NAME, "/broadcast all 调度会改到明早九点")
    second = data_of(desk, ADMIN_NAME, send_label(desk, ADMIN_NAME))
    assert OUTDATED in await desk.tap(ADMIN_NAME, first)  # the first preview's 确认发送: not the second text
    assert await _broadcasts(desk) == []
    assert "已向全体人员群发通知" in await desk.tap(ADMIN_NAME, second)
    sent = await _broadcasts(desk)
    assert sent and all("明早九点" in html for html in sent)


async def test_an_older_broadcast_cancel_leaves_the_newer_one(desk: Desk) -> None:
    await desk.send(ADMIN_NAME, "/broadcast all 今晚八点开调度会")
    assert "已取消，这条通知没有发送" in await desk.tap(ADMIN_NAME, data_of(desk, ADMIN_NAME, "取消"))
    await desk.send(ADMIN_NAME, "/import")  # another flow under way
    assert OVER in await desk.tap(ADMIN_NAME, "bc:x")  # the broadcast's 取消 again
    assert "导入预览" in await desk.send(ADMIN_NAME, document=upload("台账.csv", ledger_csv()))  # /import waits on


async def test_an_older_import_preview_imports_nothing(desk: Desk) -> None:
    await desk.send(ADMIN_NAME, "/import")
    assert "45,000.0" in await desk.send(ADMIN_NAME, document=upload("台账.csv", ledger_csv("45000")))
    first = data_of(desk, ADMIN_NAME, "确认")
    assert "46,000.0" in await desk.send(ADMIN_NAME, document=upload("台账2.csv", ledger_csv("46000")))
    second = data_of(desk, ADMIN_NAME, "确认")
    assert OUTDATED in await desk.tap(ADMIN_NAME, first)  # the 45,000 preview's 确认: not the 46,000 file
    assert await annual_plan(desk) == Decimal(40800) and len(waiting(desk)) == 1
    assert "导入完成" in await desk.tap(ADMIN_NAME, second)
    assert await annual_plan(desk) == Decimal(46000)


async def test_an_older_import_cancel_leaves_the_report_under_way(desk: Desk) -> None:
    await desk.send(ADMIN_NAME, "/import")
    await desk.send(ADMIN_NAME, document=upload("台账.csv", ledger_csv()))
    cancel = data_of(desk, ADMIN_NAME, "取消")
    assert "已取消导入" in await desk.tap(ADMIN_NAME, cancel) and waiting(desk) == []
    assert "请确认" in await desk.send(ADMIN_NAME, "/project_set ZD2026-001 年度计划 12000")
    confirm = data_of(desk, ADMIN_NAME, "确认修改")
    assert OVER in await desk.tap(ADMIN_NAME, cancel)
    assert "12,000.0 万元" in await desk.tap(ADMIN_NAME, confirm)  # the plan change still waited


async def _plan(desk: Desk, code: str) -> Decimal:
    async with desk.session() as session:
        return (await session.scalars(select(Project.annual_plan).where(Project.code == code))).one()


async def test_an_older_plan_change_confirms_nothing(desk: Desk) -> None:
    assert "请确认" in await desk.send(ADMIN_NAME, "/project_set ZD2026-001 年度计划 12000")
    first = data_of(desk, ADMIN_NAME, "确认修改")
    assert "请确认" in await desk.send(ADMIN_NAME, "/project_set ZD2026-001 年度计划 60000")
    second = data_of(desk, ADMIN_NAME, "确认修改")
    assert OUTDATED in await desk.tap(ADMIN_NAME, first)  # 12,000's 确认修改: not 60,000
    assert await _plan(desk, "ZD2026-001") == Decimal(40800)
    assert "60,000.0 万元" in await desk.tap(ADMIN_NAME, second)
    assert await _plan(desk, "ZD2026-001") == Decimal(60000)


async def _liaisons(desk: Desk) -> dict[str, int | None]:
    async with desk.session() as session:
        rows = await session.execute(select(Project.code, Project.liaison_id).where(
            Project.code.in_(["ZD2026-001", "ZD2026-002"])))
        return {code: liaison for code, liaison in rows.all()}


async def test_an_older_namesake_pick_sets_nothing(desk: Desk) -> None:
    other = await add_person(desk, "严超", "13711112222")
    before = await _liaisons(desk)
    assert "多位「严超」" in await desk.send(ADMIN_NAME, "/project_set ZD2026-001 联络员 严超")
    first = data_of(desk, ADMIN_NAME, OTHER_YAN)  # picked for ZD2026-001
    assert "多位「严超」" in await desk.send(ADMIN_NAME, "/project_set ZD2026-002 联络员 严超")
    second = data_of(desk, ADMIN_NAME, OTHER_YAN)
    assert OUTDATED in await desk.tap(ADMIN_NAME, first)  # not ZD2026-002's liaison
    assert await _liaisons(desk) == before
    assert "严超" in await desk.tap(ADMIN_NAME, second)
    assert await _liaisons(desk) == {**before, "ZD2026-002": other}


async def test_an_older_leave_pick_records_nothing(desk: Desk) -> None:
    other = await add_second_hao(desk)
    await desk.send(ADMIN_NAME, "/leave 郝芳 12-10 12-12")
    first = data_of(desk, ADMIN_NAME, "郝芳 区教育局 139****2222")
    await desk.send(ADMIN_NAME, "/leave 郝芳 12-20 12-22")
    second = data_of(desk, ADMIN_NAME, "郝芳 区教育局 139****2222")
    assert OUTDATED in await desk.tap(ADMIN_NAME, first)  # the 12-10 line's pick: not the 12-20 one
    async with desk.session() as session:
        assert await session.scalar(select(func.count(Leave.id))) == 0
    assert "2026-12-20 至 2026-12-22" in await desk.tap(ADMIN_NAME, second)
    async with desk.session() as session:
        assert [(le.person_id, str(le.start)) for le in (await session.scalars(select(Leave))).all()] == [
            (other, "2026-12-20")]


async def test_an_older_handovers_giver_pick_hands_over_nothing(desk: Desk) -> None:
    await add_person(desk, "严超", "13711112222")
    await add_person(desk, "刘文华", "13722223333")
    await add_second_hao(desk)
    assert "多位「刘文华」" in await desk.send(ADMIN_NAME, "/handover 刘文华 严超")
    giver = next(label for label in desk.labels(ADMIN_NAME) if "137****3333" not in label)
    first = data_of(desk, ADMIN_NAME, giver)  # to be handed to one of the 严超
    assert "多位「刘文华」" in await desk.send(ADMIN_NAME, "/handover 刘文华 郝芳")
    second = data_of(desk, ADMIN_NAME, giver)
    assert OUTDATED in await desk.tap(ADMIN_NAME, first)  # not to one of the 郝芳 named since
    assert await desk.audits("person.handover") == []
    assert "多位「郝芳」，请点击下方按钮选择接替人员" in await desk.tap(ADMIN_NAME, second)
