"""A 包抓领导's projects changing hands while he is away with a stand-in (代理人), through the real PTB Application
and the fake Bot API: the stand-in is told of projects taken from the lead (`/handover`, `/project_set … 包抓领导`),
whom what waits on them goes to now; at the leave's end both are told the projects the lead holds then; and two
changes made in one instant are two notices, not one. Same people and calendar as tests/e2e/test_problems.py."""

from __future__ import annotations

from tests.e2e.harness import TelegramHarness
from tests.e2e.test_lead_stand_in import CHEN, _away
from tests.e2e.test_problems import ADMIN, LIU, bind_directly, bind_everyone, nov

SUN = 4003  # 孙立新, 副区长(社会事业), another 包抓领导


async def test_a_handover_from_a_lead_on_leave_tells_his_stand_in_whom_his_projects_went_to(
        telegram: TelegramHarness) -> None:
    """刘文华 is away Monday 16 to Friday 20 with 陈建国 standing in; W0001 goes up to 刘文华's level (to 陈建国).
    Wednesday the office hands 刘文华's projects to 孙立新: 陈建国 is told he no longer stands in for them, that
    W0001 went to 孙立新, and that 刘文华 has no projects left; his W0001 button is then refused, saying why. When
    the leave runs out, 刘文华 and 陈建国 are told 刘文华 holds no projects, not that his projects' problems are his
    again."""
    desk = await _away(telegram)
    await bind_directly(telegram, SUN, "孙立新")
    await desk.raise_w0001()
    inbox = await desk.escalate_to_lead()
    assert "W0001" in inbox.text(CHEN) and LIU not in inbox.chats, inbox

    desk.travel(nov(18, 10, 0))
    handed = await telegram.send(ADMIN, "/handover 刘文华 孙立新")
    assert "刘文华 正在请假，其代理人 陈建国 已被告知不再代为处理这些项目" in handed.text, handed
    inbox = await desk.deliver()
    [told] = inbox.texts(CHEN)
    assert "📋 <b>代理变更</b>：管理员已将 刘文华 包抓的 ZD2026-001 城北高速连接线、" in told, told
    assert "交由 孙立新 包抓，您不再代 刘文华 处理这些项目的问题。" in told, told
    assert "尚待处理的 W0001 已转交 孙立新。" in told, told
    assert "刘文华 现已没有包抓项目，请假期间您无需再代其处理包抓项目的问题。" in told, told
    assert inbox.labels(CHEN) == [[]], inbox  # nothing of it is his to act on
    assert "W0001" in inbox.text(SUN), inbox
    refused = await telegram.press(CHEN, "批示")  # on W0001's escalation notice, from before the handover
    assert refused.text == ("没有找到问题 W0001，或您无权查看。\n"
                            "ZD2026-001 现由 孙立新 包抓，不在您代 刘文华 处理的项目之列。"), refused

    desk.travel(nov(21, 0, 5))  # Saturday: the leave ran out on Friday
    await desk.tick()
    inbox = await desk.deliver()
    assert "您 2026-11-16 至 2026-11-20 的请假已结束，您现无包抓项目。" in inbox.text(LIU), inbox
    assert "恢复由您本人处理" not in inbox.text(LIU), inbox
    assert inbox.text(CHEN) == ("📋 <b>代理结束</b>：刘文华 2026-11-16 至 2026-11-20 的请假已结束，"
                                "您不再代其处理包抓项目的问题（刘文华 现无包抓项目）。"), inbox


async def test_at_the_end_of_a_leave_the_lead_and_his_stand_in_are_told_the_projects_he_holds_then(
        telegram: TelegramHarness) -> None:
    """刘文华 away with 陈建国 standing in: ZD2026-001 is given to 陈建国 himself, and
    孙立新's ZD2026-003 to 刘文华. At 销假 both are told the projects 刘文华 holds now: ZD2026-003, not ZD2026-001
    (陈建国's own now)."""
    desk = await _away(telegram)
    desk.travel(nov(17, 9, 0))
    assert "陈建国" in (await telegram.send(ADMIN, "/project_set ZD2026-001 包抓领导 陈建国")).text
    inbox = await desk.deliver()
    told = [text for text in inbox.texts(CHEN) if "代理变更" in text]
    assert len(told) == 1 and "交由您本人包抓，今后这些项目的问题由您作为包抓领导处理" in told[0], inbox
    desk.travel(nov(17, 9, 30))
    assert "刘文华" in (await telegram.send(ADMIN, "/project_set ZD2026-003 包抓领导 刘文华")).text
    inbox = await desk.deliver()
    assert "管理员已将 ZD2026-003 名城二期 交由 刘文华 包抓（原包抓领导：孙立新）" in inbox.text(CHEN), inbox

    desk.travel(nov(18, 9, 0))
    assert "代理人 陈建国" in (await telegram.send(LIU, "/leave")).text
    back = await telegram.press(LIU, "销假")
    now = "ZD2026-003 名城二期、ZD2026-006 水刺无纺布新增生产线、ZD2026-011 电器厂地块开发等9个项目"
    assert f"今天起恢复由本人处理包抓项目的问题（您现包抓 {now}，发送 /mine 查看全部）。" in back.text, back
    assert ("请假期间包抓项目的调整：\n- ZD2026-003 名城二期 交由您包抓（原包抓领导：孙立新）\n"
            "- ZD2026-001 城北高速连接线 已交由 陈建国 包抓") in back.text, back
    inbox = await desk.deliver()
    assert f"陈建国 不再代为处理其包抓项目的问题（刘文华 现包抓 {now}）。" in inbox.text(CHEN), inbox
    assert "/mine" not in inbox.text(CHEN) and "调整" not in inbox.text(CHEN), inbox  # his list is the lead's


async def test_lead_changes_made_in_one_instant_are_each_told(telegram: TelegramHarness) -> None:
    """With the clock standing still, the office gives ZD2026-001 to 陈建国 (away, 孙立新 standing in), back to
    刘文华, and to 陈建国 again, then hands 刘文华's projects to 陈建国, back, and to him again: every change is told,
    none dropped as a repeat of one made in the same instant."""
    desk = await bind_everyone(telegram)
    await bind_directly(telegram, CHEN, "陈建国")
    await bind_directly(telegram, SUN, "孙立新")
    assert "已登记 陈建国 的请假" in (await telegram.send(ADMIN, "/leave 陈建国 11-16 11-20 孙立新")).text
    await desk.deliver()
    for lead in ("陈建国", "刘文华", "陈建国"):
        assert f"<b>{lead}</b>" in (await telegram.send(ADMIN, f"/project_set ZD2026-001 包抓领导 {lead}")).text
    inbox = await desk.deliver()
    # each taker told it came to him, each lead it left told it went (陈建国 once, 刘文华 twice)
    for lead, given, taken in ((CHEN, 2, 1), (LIU, 1, 2)):
        texts = inbox.texts(lead)
        assert len(texts) == given + taken, inbox
        assert len([text for text in texts if "交由您包抓" in text]) == given, inbox
        assert len([text for text in texts if "包抓项目调整" in text]) == taken, inbox
    given = [text for text in inbox.texts(SUN) if "交由 陈建国 包抓" in text and "代理事项" in text]
    taken = [text for text in inbox.texts(SUN) if "代理变更" in text]
    assert len(given) == 2 and len(taken) == 1, inbox

    for giver, taker in (("刘文华", "陈建国"), ("陈建国", "刘文华"), ("刘文华", "陈建国")):
        assert "已将" in (await telegram.send(ADMIN, f"/handover {giver} {taker}")).text
    inbox = await desk.deliver()
    assert len([t for t in inbox.texts(CHEN) if "管理员已将 刘文华 的以下工作交由您负责" in t]) == 2, inbox
    assert len([t for t in inbox.texts(LIU) if "管理员已将您的以下工作交由 陈建国 负责" in t]) == 2, inbox


async def test_a_lead_back_by_leave_end_is_told_what_went_past_his_level_while_he_was_away(
        telegram: TelegramHarness) -> None:
    """刘文华 away Monday 16 to Friday 27 with 陈建国 standing in: W0001 goes up to his level (to 陈建国) on Tuesday
    and on to the 区长 the Tuesday after. At 销假 on Wednesday 25 his reply names W0001 as gone up meanwhile."""
    desk = await bind_everyone(telegram)
    await bind_directly(telegram, CHEN, "陈建国")
    assert "代理人 陈建国" in (await telegram.send(LIU, "/leave 11-16 11-27 陈建国")).text
    await desk.deliver()
    await desk.raise_w0001()
    await desk.escalate_to_lead()
    desk.travel(nov(24, 17, 30))
    await desk.tick()
    inbox = await desk.deliver()
    assert "W0001 因未按时办结，已上报至区长" in inbox.text(CHEN) and LIU not in inbox.chats, inbox
    desk.travel(nov(25, 9, 0))
    back = await telegram.press(LIU, "销假")
    assert "请假期间已上报至区长及以上、尚未解决的问题（1）：W0001（区长）" in back.text, back
    inbox = await desk.deliver()
    assert "W0001（区长）" not in inbox.text(CHEN), inbox  # his stand-in saw it go up


async def test_a_stand_in_for_another_lead_is_not_told_whose_a_problem_he_may_not_see_is(
        telegram: TelegramHarness) -> None:
    """陈建国 stands in for 孙立新 (away 16 to 20 November); W0001 is on 刘文华's ZD2026-001, never 孙立新's:
    `/issue W0001` gets the plain refusal, naming neither its project nor its lead."""
    desk = await bind_everyone(telegram)
    await bind_directly(telegram, CHEN, "陈建国")
    await bind_directly(telegram, SUN, "孙立新")
    assert "陈建国" in (await telegram.send(SUN, "/leave 11-16 11-20 陈建国")).text
    await desk.deliver()
    await desk.raise_w0001()
    desk.travel(nov(16, 9, 0))
    refused = await telegram.send(CHEN, "/issue W0001")
    assert refused.text == "没有找到问题 W0001，或您无权查看。", refused


async def test_what_the_stand_in_decided_on_a_project_handed_away_since_says_whom_it_went_to(
        telegram: TelegramHarness) -> None:
    """刘文华 away 16 to 20 November with 陈建国 standing in: W0001 goes up to 刘文华's level on Tuesday (to 陈建国),
    who writes a 批示 on Wednesday; that afternoon the office gives ZD2026-001 to 孙立新. At 销假 on Thursday the
    list of what 陈建国 did in 刘文华's place keeps the 批示 (it was written in his name) and says the project went
    to 孙立新, whose follow-up it is now; the office's notice says the same."""
    desk = await _away(telegram)
    await bind_directly(telegram, SUN, "孙立新")
    await desk.raise_w0001()
    await desk.escalate_to_lead()
    desk.travel(nov(18, 9, 0))
    assert "批示已送达" in (await telegram.send(CHEN, "/comment W0001 请自然资源局协调")).text
    await desk.deliver()
    desk.travel(nov(18, 15, 0))
    assert "孙立新" in (await telegram.send(ADMIN, "/project_set ZD2026-001 包抓领导 孙立新")).text
    await desk.deliver()

    desk.travel(nov(19, 9, 0))
    assert "代理人 陈建国" in (await telegram.send(LIU, "/leave")).text
    back = await telegram.press(LIU, "销假")
    decided = "代理期间 陈建国 代为处理：\n- W0001 批示：请自然资源局协调（2026-11-18 09:00；项目已移交给 孙立新）"
    assert decided in back.text, back
    assert "- ZD2026-001 城北高速连接线 已交由 孙立新 包抓" in back.text, back
    inbox = await desk.deliver()
    assert decided in inbox.text(ADMIN), inbox


async def test_one_standing_in_for_both_leads_of_a_handover_is_told_once(telegram: TelegramHarness) -> None:
    """陈建国 stands in for both 刘文华 and 孙立新, away 16 to 20 November; W0001 waits at 刘文华's level (with
    陈建国). The office gives ZD2026-001 to 孙立新, then hands 刘文华's other projects to him: each time 陈建国 gets
    one notice, not two agreeing ones: the projects went to 孙立新, whom he stands in for too, so what waits on them
    (W0001, with its buttons) is still his; and what he still holds for 刘文华."""
    desk = await _away(telegram)
    await bind_directly(telegram, SUN, "孙立新")
    assert "陈建国" in (await telegram.send(SUN, "/leave 11-16 11-20 陈建国")).text
    await desk.deliver()
    await desk.raise_w0001()
    await desk.escalate_to_lead()

    desk.travel(nov(18, 10, 0))
    assert "孙立新" in (await telegram.send(ADMIN, "/project_set ZD2026-001 包抓领导 孙立新")).text
    inbox = await desk.deliver()
    [told] = inbox.texts(CHEN)
    assert told.startswith("📋 <b>代理变更</b>：管理员已将 刘文华 包抓的 ZD2026-001 城北高速连接线 交由 孙立新 包抓。"
                           "孙立新 2026-11-16 至 2026-11-20 请假，也由您代理：期间这些项目的问题上报、延期申请审批"
                           "和批示仍由您代为处理，改为代 孙立新 处理。"), told
    assert "- 已上报至包抓领导、待您批示或协调的问题（1）：W0001" in told, told
    assert "刘文华 其余包抓项目 ZD2026-006 水刺无纺布新增生产线、" in told, told
    assert "等8个项目 仍由您代为处理至 2026-11-20，发送 /mine 查看全部。" in told, told
    assert inbox.labels(CHEN) == [[["W0001 批示", "W0001 详情"]]], inbox

    desk.travel(nov(18, 11, 0))
    handed = await telegram.send(ADMIN, "/handover 刘文华 孙立新")
    assert "刘文华 和 孙立新 都在请假，代理人均为 陈建国，已告知其这些项目改为代 孙立新 处理。" in handed.text, handed
    assert "不再代为处理" not in handed.text, handed
    inbox = await desk.deliver()
    [told] = inbox.texts(CHEN)
    assert "交由 孙立新 包抓。孙立新 2026-11-16 至 2026-11-20 请假，也由您代理" in told, told
    assert "刘文华 现已没有包抓项目，请假期间您无需再代其处理包抓项目的问题。" in told, told
