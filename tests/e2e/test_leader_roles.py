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

