"""改派 decided by the 项目办, and buttons that follow the problem's state, end to end through the real PTB
Application and the fake Bot API.

Same people and calendar as tests/e2e/test_problems.py: W0001 (审批手续, ZD2026-001) raised Mon 16 Nov 08:30 by
郝芳 to 区住建局 (赵芳); the project's 包抓领导 is 刘文华, its supporting unit 区工信局 (胡杰).
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from storage.models import AuditEntry
from tests.e2e.harness import Replies, TelegramHarness
from tests.e2e.test_problems import ADMIN, HAO, HU, LIU, ZHAO, Desk, bind_everyone, nov, refused


@pytest.fixture
async def desk(telegram: TelegramHarness) -> Desk:
    """The people of the problem tests, bound as there."""
    return await bind_everyone(telegram)


async def press_again(tg: TelegramHarness, user: int, message_id: int, data: str) -> Replies:
    """Press a button on a message whose keyboard is gone already (a second tap, an old copy of it)."""
    mark = len(tg.fake.calls)
    update = tg.fake.enqueue_callback(user, data=data, message_id=message_id)
    await tg.wait_processed(update["update_id"])
    return Replies([c for c in tg.fake.calls[mark:] if c.matches(None, {"chat_id": user})])


async def audits(desk: Desk, action: str) -> list[AuditEntry]:
    async with desk.tg.session() as session:
        query = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        return list((await session.scalars(query)).all())


async def ask_reassign(desk: Desk) -> None:
    """赵芳 accepts W0001 and asks for it to go elsewhere; the admin and 刘文华 get the request."""
    tg = desk.tg
    await desk.raise_w0001()
    desk.travel(nov(16, 9, 0))
    accepted = await tg.press(ZHAO, "受理")
    # After 受理 the buttons no longer offer 受理.
    assert "W0001 已受理" in accepted.text and accepted.buttons == ["答复", "申请改派", "已解决"], accepted
    assert (await desk.deliver()).chats == {HAO}  # the raiser hears it was accepted
    asked = await tg.press(ZHAO, "申请改派")
    assert "请输入申请改派的理由" in asked.text
    sent = await tg.send(ZHAO, "施工许可属工信局审批")
    assert "已提交改派申请，等待项目办审批" in sent.text, sent


async def test_the_admin_approves_a_reassignment_and_picks_the_unit_from_buttons(desk: Desk) -> None:
    tg = desk.tg
    await ask_reassign(desk)
    inbox = await desk.deliver()
    assert inbox.chats == {ADMIN, LIU}, inbox
    assert "申请改派" in inbox.text(ADMIN) and "理由：施工许可属工信局审批" in inbox.text(ADMIN)
    assert inbox.callback_data(ADMIN) == [[["ra:y:1", "ra:n:1"]]]
    assert "此申请由项目办审批" in inbox.text(LIU) and inbox.callback_data(LIU) == [[]]  # told, not asked
    request_message, _ = tg.fake.find_button(ADMIN, data="ra:y:1")

    desk.travel(nov(16, 10, 0))
    units = await tg.press(ADMIN, "同意改派")
    assert "请选择改派给哪个单位" in units.text, units
    assert units.buttons[0] == "区工信局" and "区住建局" not in units.buttons  # the project's own units first
    done = await tg.press(ADMIN, "区工信局")
    assert "已将 W0001 从 区住建局 改派至 <b>区工信局</b>" in done.text, done
    assert "已通知 区工信局 的经办人：胡杰" in done.text and "已告知原单位、提出人和包抓领导" in done.text

    problem = await desk.problem()
    assert (problem.unit.name, problem.status, problem.level) == ("区工信局", "open", 0)
    assert await desk.events() == ["raised", "accepted", "reassign_requested", "reassigned"]
    [entry] = await audits(desk, "problem.assign")
    assert (entry.object_key, entry.detail["to"], entry.detail["requested"]) == ("W0001", "区工信局", True)

    inbox = await desk.deliver()
    assert inbox.chats == {HU, ZHAO, HAO, LIU}, inbox  # the new unit, the old one, the raiser, the lead
    assert inbox.callback_data(HU) == [[["pb:acc:1", "pb:ans:1"], ["pb:rea:1", "pb:rsv:1"]]]
    for chat in (ZHAO, HAO, LIU):
        assert "已由 区住建局 改派至 <b>区工信局</b>" in inbox.text(chat), chat

    # The request's button pressed again: what was decided, not an error.
    again = await press_again(tg, ADMIN, request_message, "ra:n:1")
    assert "改派申请已由 管理员(区重大项目办) 于 2026-11-16 10:00 同意，已改派至 区工信局" in again.text, again
    assert await desk.events() == ["raised", "accepted", "reassign_requested", "reassigned"]
    # The old unit's buttons no longer act: the problem is no longer its unit's, and pressing one says so.
    refused(await tg.send(ZHAO, "/accept W0001"), "从 区住建局 改派至 区工信局，不再由 区住建局 办理")
    latest = max(message for chat, message in tg.fake.messages if chat == ZHAO)
    old = await press_again(tg, ZHAO, latest, "pb:ans:1")
    refused(old, "W0001 已由 管理员(区重大项目办) 于 2026-11-16 10:00 从 区住建局 改派至 区工信局，"
                 "不再由 区住建局 办理")


async def test_the_admin_refuses_a_reassignment_with_a_reason(desk: Desk) -> None:
    tg = desk.tg
    await ask_reassign(desk)
    await desk.deliver()
    desk.travel(nov(16, 11, 0))
    asked = await tg.press(ADMIN, "驳回")
    assert "请输入驳回 W0001 改派申请的理由" in asked.text, asked
    done = await tg.send(ADMIN, "施工许可由住建局核发")
    assert "W0001 的改派申请已驳回，仍由 区住建局 办理" in done.text, done

    problem = await desk.problem()
    assert (problem.unit.name, problem.status) == ("区住建局", "accepted")
    assert await desk.events() == ["raised", "accepted", "reassign_requested", "reassign_refused"]
    [entry] = await audits(desk, "problem.reassign_refuse")
    assert entry.detail == {"unit": "区住建局", "reason": "施工许可由住建局核发"}
    trail = await tg.send(ADMIN, "/audit W0001")
    assert "驳回改派申请：区住建局的改派申请：施工许可由住建局核发" in trail.text, trail

    inbox = await desk.deliver()
    assert inbox.chats == {ZHAO, LIU}, inbox  # the unit hears the outcome, and so does the lead official
    for chat in (ZHAO, LIU):
        assert "改派申请被驳回" in inbox.text(chat) and "驳回理由：施工许可由住建局核发" in inbox.text(chat)
    assert inbox.callback_data(ZHAO) == [[["pb:ans:1", "pb:rea:1"], ["pb:rsv:1"]]]  # go on with it
    assert inbox.callback_data(LIU) == [[]]

    # Asking again is a new request; asking twice while one waits is refused with the state.
    await tg.send(ZHAO, "/reassign W0001 确属工信局职责,附文件")
    twice = await tg.send(ZHAO, "/reassign W0001 再申请一次")
    assert "W0001 已由 赵芳 于 2026-11-16 11:00 申请改派，正在等待项目办审批" in twice.text, twice
    assert (await desk.events())[-1] == "reassign_requested"


async def test_only_an_admin_decides_a_reassignment(desk: Desk) -> None:
    tg = desk.tg
    await ask_reassign(desk)
    await desk.deliver()
    message_id, _ = tg.fake.find_button(ADMIN, data="ra:y:1")
    # 刘文华 sends himself the admin's button data: refused, nothing changes.
    copy = json.loads(json.dumps(tg.fake.messages[(ADMIN, message_id)]))
    copy["chat"] = {**copy["chat"], "id": LIU}
    tg.fake.messages[(LIU, message_id)] = copy
    answer = await press_again(tg, LIU, message_id, "ra:y:1")
    assert "改派申请由项目办（管理员）审批" in answer.text, answer
    assert await desk.events() == ["raised", "accepted", "reassign_requested"]


# --- buttons follow the state ----------------------------------------------------------------------

async def test_a_button_for_a_step_already_taken_answers_with_the_state(desk: Desk) -> None:
    tg = desk.tg
    await desk.raise_w0001()
    desk.travel(nov(16, 9, 15))
    assert "W0001 已受理" in (await tg.send(ZHAO, "/accept W0001")).text
    # The notice of the new problem still shows 受理: pressing it says who accepted it and when, and offers
    # what can be done now.
    again = await tg.press(ZHAO, "受理")
    assert len(again.messages) == 1, again
    assert "W0001 已由 赵芳 于 2026-11-16 09:15 受理，当前状态：办理中" in again.text, again
    assert again.buttons == ["答复", "申请改派", "已解决"]
    assert await desk.events() == ["raised", "accepted"]

    # Solved and closed: the raiser's 确认销号 pressed twice, and /confirm, say it is closed already.
    await tg.send(ZHAO, "/resolved W0001 已发证")
    await desk.deliver()
    resolved_message, _ = tg.fake.find_button(HAO, label="确认销号")
    assert "已确认销号" in (await tg.press(HAO, "确认销号")).text
    twice = await press_again(tg, HAO, resolved_message, "pb:cfm:1")
    refused(twice, "W0001 已由 郝芳 于 2026-11-16 09:15 确认销号")
    refused(await tg.send(HAO, "/confirm W0001"), "确认销号，无需再办理")
    # A button that asks for text checks the state before asking.
    reopen = await press_again(tg, HAO, resolved_message, "pb:rop:1")
    refused(reopen, "W0001 已由 郝芳 于")
    assert "请说明" not in reopen.text
    assert await desk.events() == ["raised", "accepted", "resolved", "closed"]


async def test_issue_without_a_known_category_offers_the_category_buttons(desk: Desk) -> None:
    tg = desk.tg
    desk.travel(nov(16, 9, 0))
    bare = await tg.send(HAO, "/issue ZD2026-001")
    assert "请选择问题类别" in bare.text and "用法" not in bare.text, bare
    assert {"用地", "审批手续", "取消"} <= set(bare.buttons)
    await tg.press(HAO, "取消")

    unknown = await tg.send(HAO, "/issue ZD2026-001 电力 变压器容量不足,需增容")
    assert "「电力」不是问题类别" in unknown.text and "问题描述：变压器容量不足,需增容" in unknown.text, unknown
    photos = await tg.press(HAO, "水电路气")
    assert "类别：水电路气" in photos.text and "照片" in photos.text  # the description is kept: on to photos
    await tg.press(HAO, "完成（不再上传照片）")
    await tg.press(HAO, "牵头单位：区住建局")
    raised = await tg.press(HAO, "确认")
    assert "W0001" in raised.text, raised
    problem = await desk.problem()
    assert (problem.category, problem.text) == ("水电路气", "变压器容量不足,需增容")

    # A known category without a description asks for the description.
    asked = await tg.send(HAO, "/issue ZD2026-001 用地")
    assert "类别：用地。请描述问题" in asked.text, asked
