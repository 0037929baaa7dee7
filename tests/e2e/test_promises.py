"""Promised dates, extension requests and the calendar's official years, end to end through the real PTB
Application and the fake Bot API, with the clock travelling.

Same people and calendar as tests/e2e/test_problems.py: W0001 (审批手续) raised Mon 16 Nov 08:30 by 郝芳 to
区住建局 (赵芳): response due Tue 17 17:30, resolution due Thu 19 17:30; the project's 包抓领导 is 刘文华.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from storage.models import AuditEntry
from storage.settings import load_calendar
from tests.e2e.harness import TelegramHarness
from tests.e2e.test_problems import ADMIN, HAO, LIU, RAISE, SHANGHAI, WANG, ZHAO, Desk, bind_everyone, nov


@pytest.fixture
async def desk(telegram: TelegramHarness) -> Desk:
    """The people of the problem tests, bound as there."""
    return await bind_everyone(telegram)


async def test_a_promise_is_reminded_the_working_day_before_and_overdue_when_missed(desk: Desk) -> None:
    await desk.raise_w0001()
    desk.travel(nov(16, 8, 40))
    answered = await desk.tg.send(ZHAO, "/answer W0001 后天 已报审批局")
    assert "W0001 已答复" in answered.text and "承诺完成日期：2026-11-18" in answered.text, answered
    assert str((await desk.problem()).promised_date) == "2026-11-18"
    await desk.deliver()

    desk.travel(nov(16, 9, 0))  # answered before the response nudge: nothing
    assert (await desk.tick()).actions == []
    desk.travel(nov(17, 9, 0))  # the working day before the promised day: 赵芳 is reminded, no one else
    assert (await desk.tick()).actions == ["W0001:nudge:promise:2026-11-18"]
    inbox = await desk.deliver()
    assert inbox.chats == {ZHAO}, inbox
    assert "承诺于 2026-11-18 完成，即将到期" in inbox.text(ZHAO)
    assert inbox.callback_data(ZHAO) == [[["pb:ans:1", "pb:rea:1"], ["pb:rsv:1"], ["pb:show:1"]]]  # answered: no 受理

    desk.travel(nov(18, 9, 0))
    assert (await desk.tick()).actions == ["W0001:nudge:resolution:0"]
    await desk.deliver()
    desk.travel(nov(18, 17, 29))
    assert (await desk.tick()).actions == []
    desk.travel(nov(18, 17, 30))  # the promise is not kept: overdue, everyone on the problem is told once
    assert (await desk.tick()).actions == ["W0001:overdue:promise:2026-11-18"]
    inbox = await desk.deliver()
    assert inbox.chats == {ZHAO, HAO}, inbox
    assert all("问题已超期" in inbox.text(c) and "未按期办结" in inbox.text(c) for c in inbox.chats)
    assert (await desk.tick()).actions == []

    desk.travel(nov(19, 17, 30))  # the resolution deadline still drives escalation
    assert (await desk.tick()).actions == ["W0001:escalate:1"]


async def test_a_promise_in_the_past_is_refused_and_one_on_a_rest_day_moves_to_the_next_working_day(
        desk: Desk) -> None:
    await desk.raise_w0001()
    desk.travel(nov(16, 10, 0))
    refused = await desk.tg.send(ZHAO, "/answer W0001 2026-11-13 已协调")
    assert "承诺完成日期 2026-11-13 已过" in refused.text, refused
    problem = await desk.problem()
    assert (problem.status, problem.promised_date) == ("open", None)

    # Saturday the 21st is after the deadline anyway; Wednesday 18 written as 11-18 is kept as it is.
    kept = await desk.tg.send(ZHAO, "/answer W0001 11-18 已协调")
    assert "承诺完成日期：2026-11-18" in kept.text and "不是工作日" not in kept.text, kept


async def test_a_promise_after_the_deadline_is_an_extension_the_lead_official_approves(desk: Desk) -> None:
    tg = desk.tg
    await desk.raise_w0001()
    desk.travel(nov(16, 10, 0))
    asked = await tg.send(ZHAO, "/answer W0001 12月20日 需协调省厅")
    # Sunday 20 Dec moves to Monday 21, which is after Thursday's deadline: an extension request.
    assert "2026-12-20（周末）不是工作日，承诺完成日期顺延至下一个工作日 2026-12-21" in asked.text, asked
    assert "已作为延期申请报上一层级审批" in asked.text
    problem = await desk.problem()
    assert (problem.status, problem.promised_date) == ("answered", None)
    inbox = await desk.deliver()
    assert LIU in inbox.chats, inbox
    assert "延期申请" in inbox.text(LIU) and "延至 2026-12-21" in inbox.text(LIU)
    assert inbox.labels(LIU)[-1] == [["同意延期", "不同意"]]
    assert "已有一份延期申请" in (await tg.send(ZHAO, "/answer W0001 12-22 再议")).text

    approved = await tg.press(LIU, "同意延期")
    assert "延期申请已同意，办结时限延至 2026-12-21 17:30" in approved.text, approved
    problem = await desk.problem()
    assert str(problem.promised_date) == "2026-12-21"
    assert problem.resolution_due_at is not None
    assert problem.resolution_due_at.astimezone(SHANGHAI) == datetime(2026, 12, 21, 17, 30, tzinfo=SHANGHAI)
    inbox = await desk.deliver()
    assert {ZHAO, HAO} <= inbox.chats, inbox
    assert "延期申请已同意：刘文华" in inbox.text(ZHAO)
    assert (await desk.events())[-2:] == ["extension_requested", "extension_approved"]

    desk.travel(nov(19, 17, 30))  # the old deadline passes: nothing moves
    assert (await desk.tick()).actions == []
    async with tg.session() as session:
        entries = list(await session.scalars(select(AuditEntry).where(AuditEntry.action == "problem.extend")))
    assert [(e.object_key, e.detail["approved"], e.detail["day"]) for e in entries] == [("W0001", True, "2026-12-21")]
    assert "申请延期" in (await tg.send(HAO, "/issue W0001")).text  # the history says so

    # The promise falls due with the extended deadline: the escalation says so, no overdue notice after it.
    desk.travel(datetime(2026, 12, 21, 17, 30, tzinfo=SHANGHAI))
    assert (await desk.tick()).actions == ["W0001:escalate:1"]
    assert (await desk.tick()).actions == []


async def test_the_card_lets_the_decider_decide_a_waiting_extension(desk: Desk) -> None:
    """The lead official who lost the request's message opens the problem (/issue W0001) and decides it there;
    the others who see the card are told a request waits, without buttons that are not theirs."""
    tg = desk.tg
    await desk.raise_w0001()
    desk.travel(nov(16, 10, 0))
    await tg.send(ZHAO, "/answer W0001 下周五 需协调")  # Friday 27 Nov: after Thursday 19's deadline
    await desk.deliver()
    card = await tg.send(LIU, "/issue W0001")
    assert "延期申请待审批：赵芳 申请将办结时限延至 2026-11-27\n提出人：郝芳" in card.text, card
    assert card.buttons == ["同意延期", "不同意", "批示"]
    for other in (HAO, ZHAO, WANG):  # the raiser, the unit, a top official: not theirs to decide
        seen = await tg.send(other, "/issue W0001")
        assert "延期申请待审批" in seen.text and "同意延期" not in seen.buttons, (other, seen)
    assert "同意延期" in (await tg.send(ADMIN, "/issue W0001")).buttons  # admins decide any request

    await tg.send(LIU, "/issue W0001")
    approved = await tg.press(LIU, "同意延期")
    assert "延期申请已同意，办结时限延至 2026-11-27 17:30" in approved.text, approved
    after = await tg.send(LIU, "/issue W0001")
    assert "延期申请待审批" not in after.text and after.buttons == ["批示"], after


async def test_a_refused_extension_keeps_the_deadline(desk: Desk) -> None:
    tg = desk.tg
    await desk.raise_w0001()
    desk.travel(nov(16, 10, 0))
    await tg.send(ZHAO, "/answer W0001 下周五 需协调")  # Friday 27 Nov: after Thursday 19's deadline
    await desk.deliver()
    asked = await tg.press(LIU, "不同意")
    assert "W0001 请说明不同意延期的理由（将告知责任单位）" in asked.text, asked
    assert (await desk.events())[-1] == "extension_requested"  # nothing decided before the reason
    refused = await tg.send(LIU, "省厅<审批>无需两周，请按原时限办结")
    assert "延期申请未同意，办结时限不变" in refused.text, refused
    inbox = await desk.deliver()
    assert "延期申请未获同意：刘文华" in inbox.text(ZHAO) and "办结时限仍为 2026-11-19 17:30" in inbox.text(ZHAO)
    assert "理由：省厅&lt;审批&gt;无需两周，请按原时限办结" in inbox.text(ZHAO), inbox
    card = await tg.send(ZHAO, "/issue W0001")
    assert "不同意延期：省厅&lt;审批&gt;无需两周，请按原时限办结（延至 2026-11-27）" in card.text, card
    async with tg.session() as session:
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "problem.extend"))
    assert entry is not None and entry.detail["reason"] == "省厅<审批>无需两周，请按原时限办结"
    problem = await desk.problem()
    assert problem.promised_date is None
    desk.travel(nov(19, 17, 30))
    assert "W0001:escalate:1" in (await desk.tick()).actions


async def test_a_calendar_range_and_the_official_year(desk: Desk) -> None:
    tg = desk.tg
    entered = await tg.send(ADMIN, "/calendar 2027-02-05..2027-02-13 off 春节")
    assert "已录入" in entered.text and "/calendar 年份 official" in entered.text, entered
    async with tg.session() as session:
        calendar = await load_calendar(session)
    assert all(not calendar.is_working_day(date(2027, 2, d)) for d in range(5, 14))
    assert not calendar.is_estimated(date(2027, 2, 8))
    assert calendar.is_estimated(date(2027, 4, 5))  # 清明 not entered: still an estimate
    assert "已确认按官方通知" not in entered.text

    official = await tg.send(ADMIN, "/calendar 2027 official")
    assert "已确认" in official.text and "2027 年除外" in official.text, official
    async with tg.session() as session:
        calendar = await load_calendar(session)
        actions = [e.action for e in (await session.scalars(select(AuditEntry))).all()]
    assert not calendar.is_estimated(date(2027, 4, 5))
    assert actions.count("calendar.set") == 9 and actions.count("calendar.official") == 1

    await tg.send(ADMIN, "/calendar 2027 estimated")
    async with tg.session() as session:
        assert (await load_calendar(session)).is_estimated(date(2027, 4, 5))
    assert "没有看懂" in (await tg.send(ADMIN, "/calendar 2027-02-13..2027-02-05x off")).text
    assert "结束日早于开始日" in (await tg.send(ADMIN, "/calendar 2027-02-13..2027-02-05 off")).text


def dec(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 12, day, hour, 0, tzinfo=SHANGHAI)


async def _extend(desk: Desk, promise: str) -> str:
    """赵芳 answers W0001 with a promised date after its deadline, 刘文华 approves the extension; what 赵芳
    is told."""
    asked = await desk.tg.send(ZHAO, f"/answer W0001 {promise} 需协调省厅")
    assert "已作为延期申请报上一层级审批" in asked.text, asked
    await desk.deliver()
    approved = await desk.tg.press(LIU, "同意延期")
    assert "延期申请已同意" in approved.text, approved
    return (await desk.deliver()).text(ZHAO)


async def test_an_extension_into_a_year_still_estimated_is_marked_so(desk: Desk) -> None:
    """The new deadline is counted on the estimated 2027 calendar: the card says so, though the old one,
    still in the official 2026, did not."""
    desk.travel(dec(18))  # Friday: 审批手续 is due Wednesday 23 December, on the official 2026 calendar
    raised = await desk.tg.send(HAO, RAISE)
    assert "办结时限：2026-12-23 17:30" in raised.text and "预估" not in raised.text, raised
    await desk.deliver()
    told = await _extend(desk, "2027-01-06")
    assert "办结时限：2027-01-06 17:30（按预估日历）" in told, told
    assert (await desk.problem()).due_estimated is True
    assert "办结时限：2027-01-06 17:30（按预估日历）" in (await desk.tg.send(HAO, "/issue W0001")).text


async def test_an_extension_into_a_year_entered_as_official_clears_the_mark(desk: Desk) -> None:
    """Raised before 2027's holidays were entered, the deadline was counted on an estimate; once the admin
    has entered the year, the extended deadline is counted on the official calendar and says no more."""
    desk.travel(dec(18))  # 资金: ten working days, into 2027 (元旦 off): Monday 4 January, estimated
    raised = await desk.tg.send(HAO, "/issue ZD2026-001 资金 配套资金未到位")
    assert "办结时限：2027-01-04 17:30（按预估日历）" in raised.text, raised
    await desk.deliver()
    assert (await desk.problem()).due_estimated is True
    assert "已确认" in (await desk.tg.send(ADMIN, "/calendar 2027 official")).text
    told = await _extend(desk, "2027-01-08")
    assert "办结时限：2027-01-08 17:30" in told and "预估" not in told, told
    assert (await desk.problem()).due_estimated is False
    card = (await desk.tg.send(HAO, "/issue W0001")).text
    assert "办结时限：2027-01-08 17:30" in card and "预估" not in card, card


async def test_an_admin_standing_in_for_a_unit_does_not_decide_his_own_extension(desk: Desk) -> None:
    """区住建局 has no handler left: the admin answers for it (代办) with a date past the deadline; the request goes
    to the lead official, and the admin, who asked, has no 同意延期 on the card nor may press it."""
    tg = desk.tg
    await desk.raise_w0001()
    assert "已停用" in (await tg.send(ADMIN, "/deactivate 赵芳")).text
    desk.travel(nov(16, 10, 0))
    asked = await tg.send(ADMIN, "/answer W0001 下周五 需协调")
    assert "已作为延期申请报上一层级审批" in asked.text, asked
    inbox = await desk.deliver()
    assert inbox.labels(LIU)[-1] == [["同意延期", "不同意"]], inbox
    card = await tg.send(ADMIN, "/issue W0001")
    assert "延期申请待审批" in card.text and "同意延期" not in card.buttons, card
    # A 同意延期 pressed all the same (a forged or forwarded button) is refused, and the deadline stays.
    shown = max(mid for chat, mid in tg.fake.messages if chat == ADMIN)
    mark = len(tg.fake.calls)
    update = tg.fake.enqueue_callback(ADMIN, "pb:exy:1", message_id=shown)
    await tg.wait_processed(update["update_id"])
    said = " ".join(str(c.params.get("text", "")) for c in tg.fake.calls[mark:])
    assert "延期申请由上一层级审批，您不在其中" in said, said
    assert (await desk.events())[-1] == "extension_requested"
    approved = await tg.press(LIU, "同意延期")
    assert "延期申请已同意，办结时限延至 2026-11-27 17:30" in approved.text, approved
