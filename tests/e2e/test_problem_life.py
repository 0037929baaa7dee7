"""A problem's whole life through the real framework, across the calendar's awkward days: the year's end into
2027 (whose calendar is an estimate), the top level, a promise due after a weekend, dates typed wrong, and a
move to another unit while the old one waits for an extension.

The same harness as tests/e2e/test_problems.py: the PTB Application polling the fake Bot API, the outbox
drained through the Telegram transport, the clock moved by the test. Calendar used: Thu 2026-12-24, Fri 25,
Mon 28 … Thu 31; 2027-01-01 (元旦, estimated) off; Mon 2027-01-04 onwards ordinary weeks.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.e2e import test_problems as base
from tests.e2e.harness import TelegramHarness
from tests.e2e.test_problems import ADMIN, HAO, HU, LI, LIU, WANG, ZHAO, Desk

SHANGHAI = ZoneInfo("Asia/Shanghai")
RAISE = "/issue ZD2026-001 审批手续 施工许可迟迟未批"


def at(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
async def desk(telegram: TelegramHarness) -> Desk:
    return await base.bind_everyone(telegram)


async def test_unanswered_problem_climbs_every_level_into_the_estimated_year(desk: Desk) -> None:
    """Nobody takes up W0001 raised on Christmas Eve: 包抓领导 on Friday, 区长 after 元旦 (estimated), 区委书记,
    then one overdue notice; each notice to the right people once, every deadline 按预估日历 once in 2027."""
    desk.travel(at(2026, 12, 24))
    raised = await desk.tg.send(HAO, RAISE)
    assert "受理时限：2026-12-25 17:30" in raised.text and "办结时限：2026-12-29 17:30" in raised.text, raised
    assert "预估" not in raised.text  # every day counted is in 2026, whose official notice the bot knows
    assert (await desk.deliver()).chats == {ZHAO}

    desk.travel(at(2026, 12, 25, 17, 30))  # not taken up by Friday's end of day: to 刘文华
    assert (await desk.tick()).actions == ["W0001:escalate:1"]
    inbox = await desk.deliver()
    assert inbox.chats == {HAO, ZHAO, LIU} and [len(inbox.texts(c)) for c in (HAO, ZHAO, LIU)] == [1, 1, 1]
    # Mon 28, Tue 29, Wed 30, Thu 31, (元旦 off) Mon 4: five working days, the last one estimated.
    assert "办结时限：2027-01-04 17:30（按预估日历）" in inbox.text(LIU)

    desk.travel(at(2026, 12, 31, 9, 0))  # the working day before (元旦 is off): 刘文华 alone is reminded
    assert (await desk.tick()).actions == ["W0001:nudge:resolution:1"]
    inbox = await desk.deliver()
    assert inbox.chats == {LIU}, inbox
    assert "2027-01-04 17:30（按预估日历）" in inbox.text(LIU) and "逾期将上报区长" in inbox.text(LIU)

    desk.travel(at(2027, 1, 4, 17, 30))
    assert (await desk.tick()).actions == ["W0001:escalate:2"]
    inbox = await desk.deliver()
    assert inbox.chats == {HAO, ZHAO, LIU, WANG}, inbox  # 李明德 not yet
    assert "办结时限：2027-01-11 17:30（按预估日历）" in inbox.text(WANG)

    desk.travel(at(2027, 1, 11, 17, 30))
    assert (await desk.tick()).actions == ["W0001:escalate:3"]
    inbox = await desk.deliver()
    assert inbox.chats == {HAO, ZHAO, LIU, WANG, LI}, inbox
    assert "办结时限：2027-01-18 17:30（按预估日历）" in inbox.text(LI)

    desk.travel(at(2027, 1, 15, 9, 0))  # the top level's reminder: nowhere higher to go, and it says so
    assert (await desk.tick()).actions == ["W0001:nudge:resolution:3"]
    inbox = await desk.deliver()
    assert inbox.chats == {LI}, inbox
    assert "上报领导小组" not in inbox.text(LI)
    assert "已在最高层级，逾期将作为超期问题通报问题相关人员" in inbox.text(LI)

    desk.travel(at(2027, 1, 18, 17, 30))
    assert (await desk.tick()).actions == ["W0001:overdue:resolution:3"]
    inbox = await desk.deliver()
    assert inbox.chats == {HAO, ZHAO, LIU, WANG, LI} and all(len(inbox.texts(c)) == 1 for c in inbox.chats)
    desk.travel(at(2027, 1, 25, 17, 30))
    assert (await desk.tick()).actions == []  # reported once, nothing moves

    listed = await desk.tg.send(LIU, "/issues")  # his project's problem, at the top level, deadline as estimated
    assert "W0001 ZD2026-001 审批手续，待受理，已上报区委书记/领导小组" in listed.text, listed
    assert "受理时限" not in listed.text  # only the unit has a response deadline, and only at its level
    assert "办结时限 2027-01-18 17:30（按预估日历），⚠️已超期" in listed.text, listed
    assert await desk.events() == ["raised", "escalated", "escalated", "escalated"]


async def test_the_list_shows_a_waiting_problems_response_deadline(desk: Desk) -> None:
    desk.travel(at(2026, 12, 24))
    await desk.tg.send(HAO, RAISE)
    listed = await desk.tg.send(ZHAO, "/issues")
    assert "待受理，责任单位办理中，受理时限 2026-12-25 17:30，办结时限 2026-12-29 17:30" in listed.text, listed
    await desk.tg.send(ZHAO, "/accept W0001")
    listed = await desk.tg.send(ZHAO, "/issues")
    assert "受理时限" not in listed.text and "办理中，责任单位办理中，办结时限 2026-12-29 17:30" in listed.text


async def test_a_promise_due_after_a_weekend_is_not_said_to_be_due_tomorrow(desk: Desk) -> None:
    """Promised for Monday: reminded on Friday (the working day before), which must not say 明天."""
    desk.travel(at(2026, 11, 16, 8, 30))
    await desk.tg.send(HAO, "/issue ZD2026-001 用地 还有12户未签约")  # 用地: 10 working days, to Mon 30
    answered = await desk.tg.send(ZHAO, "/answer W0001 11月23日 周一签约")
    assert "承诺完成日期：2026-11-23" in answered.text, answered
    await desk.deliver()
    desk.travel(at(2026, 11, 20, 9, 0))
    assert (await desk.tick()).actions == ["W0001:nudge:promise:2026-11-23"]
    inbox = await desk.deliver()
    assert inbox.chats == {ZHAO}, inbox
    assert "明天" not in inbox.text(ZHAO)
    assert "承诺于 2026-11-23 完成，即将到期" in inbox.text(ZHAO)


async def test_an_answer_starting_with_an_impossible_day_is_refused_not_saved_as_text(desk: Desk) -> None:
    desk.travel(at(2026, 11, 16, 8, 30))
    await desk.tg.send(HAO, RAISE)
    await desk.deliver()
    replies = await desk.tg.send(ZHAO, "/answer W0001 12月32日 先行办理")
    base.refused(replies, "「12月32日」不是有效的日期，答复未保存")
    problem = await desk.problem()
    assert (problem.status, problem.answer_text, problem.promised_date) == ("open", None, None)
    assert await desk.events() == ["raised"]
    assert (await desk.deliver()).chats == set()  # nobody was told of an answer


async def test_a_day_just_past_typed_without_its_year_is_refused_as_past_not_read_as_next_year(desk: Desk) -> None:
    """11月13日 typed on 16 November is last Friday, not 13 November 2027 (which went up as an extension
    request for a year later)."""
    desk.travel(at(2026, 11, 16, 8, 30))
    await desk.tg.send(HAO, RAISE)
    await desk.deliver()
    replies = await desk.tg.send(ZHAO, "/answer W0001 11月13日 已报审批局")
    base.refused(replies, "承诺完成日期 2026-11-13 已过")
    assert await desk.events() == ["raised"]
    assert (await desk.deliver()).chats == set()  # no extension request went to 刘文华
    # A day after today's is still this year's, and one early next year next year's.
    replies = await desk.tg.send(ZHAO, "/answer W0001 11月18日 已报审批局")
    assert "承诺完成日期：2026-11-18" in replies.text, replies


async def test_moving_a_problem_lapses_the_old_units_extension_request(desk: Desk) -> None:
    desk.travel(at(2026, 11, 16, 8, 30))
    await desk.tg.send(HAO, RAISE)  # 审批手续: resolution due Thu 19
    await desk.deliver()
    asked = await desk.tg.send(ZHAO, "/answer W0001 12月10日 需等省厅批复")
    assert "已作为延期申请" in asked.text, asked
    inbox = await desk.deliver()
    assert ["同意延期", "不同意"] in inbox.labels(LIU)[-1]

    moved = await desk.tg.send(ADMIN, "/assign W0001 区工信局 属工信职能")
    assert "改派至 <b>区工信局</b>" in moved.text, moved
    await desk.deliver()
    due = (await desk.problem()).resolution_due_at

    # 刘文华 presses the old request's button: it lapsed with the move, and nothing changes.
    pressed = await desk.tg.press(LIU, "同意延期")
    assert "原单位的延期申请随之失效" in pressed.text, pressed
    problem = await desk.problem()
    assert (problem.resolution_due_at, problem.promised_date) == (due, None)
    assert "extension_approved" not in await desk.events()

    # The new unit may ask for its own extension: the old request does not stand in its way.
    own = await desk.tg.send(HU, "/answer W0001 12月15日 需重新勘测")
    assert "已作为延期申请" in own.text and "已有一份延期申请" not in own.text, own
    assert (await desk.events())[-1] == "extension_requested"


async def test_a_deactivated_raisers_problem_is_closed_by_the_admin_who_is_not_told_of_his_own_act(desk: Desk) -> None:
    """郝芳 leaves before 销号: the admins stand in for her (asked to confirm, once), the admin's 确认销号 is
    told to the unit and not back to him."""
    desk.travel(at(2026, 11, 16, 8, 30))
    await desk.tg.send(HAO, RAISE)
    await desk.deliver()
    await desk.tg.send(ADMIN, "/deactivate 郝芳")
    await desk.deliver()
    await desk.tg.send(ZHAO, "/resolved W0001 已发证")
    inbox = await desk.deliver()
    assert inbox.chats == {ADMIN}, inbox  # in 郝芳's place, with her buttons, once
    assert len(inbox.texts(ADMIN)) == 1 and inbox.labels(ADMIN) == [[["确认销号", "未解决"]]], inbox

    closed = await desk.tg.send(ADMIN, "/confirm W0001")
    assert "W0001 已确认销号" in closed.text, closed
    inbox = await desk.deliver()
    assert inbox.chats == {ZHAO}, inbox  # not the admin again, in 郝芳's place
    assert "管理员代为销号" in inbox.text(ZHAO)


async def test_a_stand_in_for_two_deactivated_people_is_told_once(desk: Desk) -> None:
    """The raiser and the 包抓领导 both leave without a handover: the admin stands in for both, and a 批示
    by 区长 reaches him once."""
    desk.travel(at(2026, 11, 16, 8, 30))
    await desk.tg.send(HAO, RAISE)
    desk.travel(at(2026, 11, 17, 17, 30))
    assert (await desk.tick()).actions == ["W0001:escalate:1"]
    await desk.deliver()
    await desk.tg.send(ADMIN, "/deactivate 郝芳")
    await desk.tg.send(ADMIN, "/deactivate 刘文华")
    await desk.deliver()
    await desk.tg.send(WANG, "/comment W0001 请项目办督办")
    inbox = await desk.deliver()
    assert inbox.chats == {ZHAO, ADMIN}, inbox
    assert len(inbox.texts(ADMIN)) == 1 and "请项目办督办" in inbox.text(ADMIN), inbox


async def test_an_extension_request_left_undecided_lapses_when_the_problem_goes_up(desk: Desk) -> None:
    """刘文华 does not decide the unit's request before its deadline passes: the problem goes up to him, and his
    late 同意延期 says the request lapsed (it no longer moves anything); the unit's new request goes to 区长."""
    desk.travel(at(2026, 11, 16, 8, 30))
    await desk.tg.send(HAO, RAISE)  # 审批手续: resolution due Thu 19 17:30
    await desk.tg.send(ZHAO, "/accept W0001")
    await desk.tg.send(ZHAO, "/answer W0001 11月27日 需等省厅批复")
    inbox = await desk.deliver()
    assert inbox.labels(LIU)[-1] == [["同意延期", "不同意"]], inbox

    desk.travel(at(2026, 11, 19, 17, 30))
    assert (await desk.tick()).actions == ["W0001:escalate:1"]
    await desk.deliver()
    due = (await desk.problem()).resolution_due_at  # the lead official's level: Thu 26 17:30

    pressed = await desk.tg.press(LIU, "同意延期")
    assert "已于 2026-11-19 17:30 上报至包抓领导，原延期申请随之失效" in pressed.text, pressed
    assert "您不在其中" not in pressed.text
    problem = await desk.problem()
    assert (problem.resolution_due_at, problem.promised_date) == (due, None)
    assert "extension_approved" not in await desk.events()

    again = await desk.tg.send(ZHAO, "/answer W0001 12月4日 省厅下周批复")
    assert "已作为延期申请" in again.text and "已有一份延期申请" not in again.text, again
    inbox = await desk.deliver()
    assert inbox.labels(WANG)[-1] == [["同意延期", "不同意"]], inbox  # the level above 包抓领导 decides it now


async def test_a_reopened_problem_is_not_reported_for_a_promise_the_unit_kept(desk: Desk) -> None:
    """The unit promised Wednesday and reported it solved on Tuesday; 郝芳 says 未解决 on Thursday. The unit did
    what it promised by its day: no 未按期办结 notice for that promise, and the unit is asked to answer again."""
    desk.travel(at(2026, 11, 16, 8, 30))
    await desk.tg.send(HAO, "/issue ZD2026-001 用地 还有12户未签约")  # 用地: resolution due Mon 30
    await desk.tg.send(ZHAO, "/answer W0001 11月18日 周三前签完")
    desk.travel(at(2026, 11, 17, 15, 0))
    await desk.tg.send(ZHAO, "/resolved W0001 已全部签约")
    await desk.deliver()
    desk.travel(at(2026, 11, 19, 10, 0))
    reopened = await desk.tg.send(HAO, "/reopen W0001 还有2户未签")
    assert "W0001 已退回重办" in reopened.text, reopened
    await desk.deliver()
    assert (await desk.problem()).promised_date is None

    desk.travel(at(2026, 11, 19, 10, 5))
    assert (await desk.tick()).actions == []
    assert (await desk.deliver()).chats == set()


async def test_a_closed_problem_is_not_listed_as_being_handled(desk: Desk) -> None:
    desk.travel(at(2026, 11, 16, 8, 30))
    await desk.tg.send(HAO, RAISE)
    await desk.tg.send(ZHAO, "/resolved W0001 已发证")
    await desk.tg.send(HAO, "/confirm W0001")
    listed = await desk.tg.send(ZHAO, "/issues all")
    assert "W0001 ZD2026-001 审批手续，已销号" in listed.text and "办理中" not in listed.text, listed
    # the problem comes back after its 销号: its raiser cannot reopen it, and is told how to raise it again
    again = await desk.tg.send(HAO, "/reopen W0001 证书被收回")
    assert "确认销号，无需再办理" in again and "/issue" in again.text, again


async def test_golden_week_and_its_working_saturday_are_counted_as_the_calendar_says(desk: Desk) -> None:
    """Raised the day before 国庆: 10-01…10-07 are off, Saturday 10-10 is a 调休 working day. 审批手续's three
    working days are Thu 8, Fri 9 and Sat 10; not taken up by Thursday, it goes to 刘文华, whose five days
    are Fri 9, Sat 10, Mon 12, Tue 13 and Wed 14. No day there is estimated."""
    desk.travel(at(2026, 9, 30, 10, 0))
    raised = await desk.tg.send(HAO, RAISE)
    assert "受理时限：2026-10-08 17:30" in raised.text and "办结时限：2026-10-10 17:30" in raised.text, raised
    await desk.deliver()
    desk.travel(at(2026, 10, 5, 12, 0))  # in the holiday: nothing is due, nobody is disturbed
    assert (await desk.tick()).actions == []
    desk.travel(at(2026, 10, 8, 17, 30))
    assert (await desk.tick()).actions == ["W0001:escalate:1"]
    inbox = await desk.deliver()
    assert "办结时限：2026-10-14 17:30" in inbox.text(LIU) and "预估" not in inbox.text(LIU), inbox
    desk.travel(at(2026, 10, 13, 9, 0))  # the working day before Wednesday
    assert (await desk.tick()).actions == ["W0001:nudge:resolution:1"]
    assert (await desk.deliver()).chats == {LIU}


# Friday 2026-12-18 10:00: the working days after it are Mon 21 … Thu 31 (25 Dec is a working day in China),
# then 元旦 (off, estimated), Mon 2027-01-04 …; a deadline reaching 2027 says 按预估日历.
CATEGORY_DEADLINES = [
    ("审批手续", "2026-12-23 17:30", False),  # 3 working days
    ("水电路气", "2026-12-25 17:30", False),  # 5
    ("用工", "2026-12-25 17:30", False),
    ("阻工与施工环境", "2026-12-25 17:30", False),
    ("规划设计", "2026-12-25 17:30", False),
    ("其他", "2026-12-25 17:30", False),
    ("资金", "2027-01-04 17:30", True),  # 10: Mon 21 … Thu 31 is nine, then 元旦 off, Mon 4
    ("用地", "2027-01-04 17:30", True),
    ("征地拆迁", "2027-01-11 17:30", True),  # 15
]


async def test_every_category_gets_its_own_working_day_deadline_and_its_unit_is_told_once(desk: Desk) -> None:
    desk.travel(at(2026, 12, 18))
    for number, (category, due, estimated) in enumerate(CATEGORY_DEADLINES, start=1):
        raised = await desk.tg.send(HAO, f"/issue ZD2026-001 {category} 第{number}个问题")
        assert f"W{number:04d}" in raised.text and "受理时限：2026-12-21 17:30" in raised.text, raised
        assert f"办结时限：{due}{'（按预估日历）' if estimated else ''}" in raised.text, (category, raised.text)
        if not estimated:
            assert "预估" not in raised.text, raised
    inbox = await desk.deliver()
    assert inbox.chats == {ZHAO}, inbox  # only the unit: the 包抓领导 sees them in /issues, is not told yet
    assert len(inbox.texts(ZHAO)) == len(CATEGORY_DEADLINES)


async def test_a_problem_reported_solved_without_a_word_is_recorded_as_solved(desk: Desk) -> None:
    desk.travel(at(2026, 11, 16, 8, 30))
    await desk.tg.send(HAO, RAISE)
    await desk.tg.send(ZHAO, "/resolved W0001")
    async with desk.tg.session() as session:
        resolved = [e for e in await base.repo.history(session, problem_id=1) if e.kind == "resolved"]
    assert [e.text for e in resolved] == ["已解决"]
