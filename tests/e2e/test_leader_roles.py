"""Leaders holding more than one place on a problem, through the real PTB Application and the fake Bot API: a
包抓领导 who also heads the project's lead unit (as a 开发区党工委书记 heads the 管委会) does not decide his own
unit's extension request: the 区长 does.
"""

from __future__ import annotations

from sqlalchemy import select

from storage import people
from storage.models import Person, Unit
from tests.e2e.harness import TelegramHarness
from tests.e2e.test_problems import HAO, LIU, WANG, ZHAO, bind_everyone, nov


async def make_him_head_of_the_lead_unit(telegram: TelegramHarness) -> None:
    """刘文华, 包抓领导 of ZD2026-001, also answers for its lead unit 区住建局."""
    async with telegram.session() as session:
        liu = await session.scalar(select(Person).where(Person.name == "刘文华"))
        unit = await session.scalar(select(Unit).where(Unit.name == "区住建局"))
        assert liu is not None and unit is not None
        liu.unit_id = unit.id
        people.grant_role(liu, "unit")


async def test_a_leader_heading_the_lead_unit_does_not_approve_his_own_extension(telegram: TelegramHarness) -> None:
    desk = await bind_everyone(telegram)
    await make_him_head_of_the_lead_unit(telegram)
    desk.travel(nov(16, 8, 30))
    assert "W0001" in await telegram.send(HAO, "/issue ZD2026-001 用地 还有12户未签约")
    inbox = await desk.deliver()
    assert [len(inbox.texts(c)) for c in (ZHAO, LIU)] == [1, 1], inbox  # the unit's notice, once each

    answered = await telegram.send(LIU, "/answer W0001 12月31日 年底前完成签约")
    assert "延期申请" in answered.text, answered
    inbox = await desk.deliver()
    [asked] = [t for t in inbox.texts(WANG) if "延期申请" in t]
    assert "刘文华" in asked, asked
    assert not [t for t in inbox.texts(LIU) if "延期申请" in t], inbox  # he asked: not his to decide

    card = await telegram.send(LIU, "/issue W0001")
    assert "同意延期" not in card.buttons, card
    approved = await telegram.press(WANG, "同意延期")
    assert "W0001 延期申请已同意，办结时限延至 2026-12-31 17:30" in approved.text, approved
    problem = await desk.problem()
    assert str(problem.promised_date) == "2026-12-31"



async def test_a_problem_at_the_leaders_own_unit_goes_past_him_straight_to_the_mayor(telegram: TelegramHarness) -> None:
    """Escalating from 区住建局 to its own head as 包抓领导 would cost his level's five days for nothing: the
    problem nobody took up goes straight to 区长, and its history says why."""
    desk = await bind_everyone(telegram)
    await make_him_head_of_the_lead_unit(telegram)
    desk.travel(nov(16, 8, 30))
    assert "W0001" in await telegram.send(HAO, "/issue ZD2026-001 审批手续 施工许可迟迟未批")
    await desk.deliver()

    desk.travel(nov(17, 17, 30))  # the response deadline passes with nobody taking it up
    result = await desk.tick()
    assert "W0001:escalate:2" in result.actions and "W0001:escalate:1" not in result.actions, result
    inbox = await desk.deliver()
    [escalated] = inbox.texts(WANG)
    assert "W0001" in escalated, inbox
    assert (await desk.problem()).level == 2
    card = await telegram.send(WANG, "/issue W0001")
    assert "至区长（未按时受理；包抓领导属本责任单位，不再向其本人上报）" in card.text, card
    assert any("W0001" in t for t in inbox.texts(LIU)), inbox  # he is still told it went up


async def test_a_leader_of_another_unit_is_still_the_next_level(telegram: TelegramHarness) -> None:
    """Only his own unit's problems pass him over: heading 区工信局, he still holds a 区住建局 problem's next level."""
    desk = await bind_everyone(telegram)
    async with telegram.session() as session:
        liu = await session.scalar(select(Person).where(Person.name == "刘文华"))
        unit = await session.scalar(select(Unit).where(Unit.name == "区工信局"))
        assert liu is not None and unit is not None
        liu.unit_id = unit.id
    await desk.raise_w0001()
    result = await desk.escalate_to_lead()
    assert [len(result.texts(c)) for c in (LIU, WANG)] == [1, 0], result
