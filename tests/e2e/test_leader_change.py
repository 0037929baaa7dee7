"""A project given to another 包抓领导 with `/project_set … 包抓领导` while problems wait for its leader, through the
real PTB Application and the fake Bot API: the new one is told the project is his and what waits for him on it,
each problem a button opening its card, where he acts (as /handover tells whoever takes all of a leader's
projects over: tests/wecom/test_leader_story.py)."""

from __future__ import annotations

from tests.e2e.harness import TelegramHarness
from tests.e2e.test_problems import ADMIN, HAO, LIU, WU, ZHAO, bind_directly, bind_everyone, nov

CHEN = 4005  # 陈建国, 常务副区长


async def test_the_new_lead_of_a_project_is_told_what_waits_for_him(telegram: TelegramHarness) -> None:
    desk = await bind_everyone(telegram)
    await bind_directly(telegram, CHEN, "陈建国")
    await desk.raise_w0001()
    await desk.escalate_to_lead()  # W0001 waits at 刘文华's level
    assert "W0002" in await telegram.send(HAO, "/issue ZD2026-001 用地 还有12户未签约")
    assert "延期申请" in await telegram.send(ZHAO, "/answer W0002 12月31日 年底前完成签约")
    await desk.deliver()

    changed = await telegram.send(ADMIN, "/project_set ZD2026-001 包抓领导 陈建国")
    assert "包抓领导：刘文华 → <b>陈建国</b>" in changed.text, changed
    inbox = await desk.deliver()
    [notice] = inbox.texts(CHEN)
    assert "管理员已将 ZD2026-001 城北高速连接线 交由您包抓（原包抓领导：刘文华）" in notice, notice
    assert "待您批示或协调的问题（1）：W0001" in notice and "待您审批的延期申请（1）：W0002" in notice, notice
    assert "W0002：区住建局 申请将办结时限延至 2026-12-31，理由：年底前完成签约" in notice, notice
    # The acts the problems' other notices carry, on the notice itself: the card's own buttons.
    assert inbox.labels(CHEN) == [[["W0001 批示", "W0001 详情"],
                                   ["W0002 同意延期", "W0002 不同意", "W0002 详情"]]], inbox
    assert inbox.callback_data(CHEN) == [[["pb:cmt:1", "pb:show:1"], ["pb:exy:2", "pb:exn:2", "pb:show:2"]]], inbox
    approved = await telegram.press(CHEN, "W0002 同意延期")
    assert "W0002 延期申请已同意，办结时限延至 2026-12-31 17:30" in approved.text, approved
    assert "W0001 请输入批示内容" in (await telegram.press(CHEN, "W0001 批示")).text
    assert "批示已送达" in (await telegram.send(CHEN, "请住建局加快办理")).text


async def test_a_leader_who_hands_his_projects_over_no_longer_hears_of_problems_he_wrote_a_comment_on(
        telegram: TelegramHarness) -> None:
    """刘文华 wrote a 批示 on W0001, then the admin hands his projects over to 陈建国 (/handover): 刘文华 is told once
    what he handed over, and from then on the unit's answer and 已解决 go to 陈建国, not to him."""
    desk = await bind_everyone(telegram)
    await bind_directly(telegram, CHEN, "陈建国")
    await desk.raise_w0001()
    assert "批示已送达" in (await telegram.send(LIU, "/comment W0001 请住建局加快办理")).text
    await desk.deliver()
    assert "W0001" in (await telegram.send(ZHAO, "/answer W0001 已报审批局")).text
    assert LIU in (await desk.deliver()).chats  # he wrote a 批示: he hears of its answers

    handed = await telegram.send(ADMIN, "/handover 刘文华 陈建国")
    assert "陈建国" in handed.text, handed
    inbox = await desk.deliver()
    [told] = inbox.texts(LIU)
    assert "管理员已将您的以下工作交由 陈建国 负责" in told and "ZD2026-001 城北高速连接线" in told, told
    assert "不再通知您" in told, told

    assert "W0001" in (await telegram.send(ZHAO, "/answer W0001 审批局已受理")).text
    inbox = await desk.deliver()
    assert LIU not in inbox.chats and CHEN in inbox.chats, inbox
    assert "审批局已受理" in inbox.text(CHEN)
    assert "W0001" in (await telegram.send(ZHAO, "/resolved W0001 施工许可已核发")).text
    inbox = await desk.deliver()
    assert LIU not in inbox.chats and CHEN in inbox.chats, inbox


async def test_whoever_takes_a_liaisons_work_over_confirms_a_solved_problem_from_the_handover_notice(
        telegram: TelegramHarness) -> None:
    """郝芳 raised W0001, which 区住建局 reports solved; the admin hands her work over to 武杰 (/handover): his notice
    carries the raiser's 确认销号 / 未解决 on W0001, as the unit's 已解决 notice to her did, and he closes it there."""
    desk = await bind_everyone(telegram)
    await desk.raise_w0001()
    assert "W0001" in (await telegram.send(ZHAO, "/resolved W0001 施工许可已核发")).text
    assert ["确认销号", "未解决"] in (await desk.deliver()).labels(HAO)[-1]

    assert "武杰" in (await telegram.send(ADMIN, "/handover 郝芳 武杰")).text
    inbox = await desk.deliver()
    assert "W0001（责任单位已报告解决，待您确认" in inbox.text(WU), inbox
    assert inbox.labels(WU) == [[["W0001 确认销号", "W0001 未解决", "W0001 详情"]]], inbox
    closed = await telegram.press(WU, "W0001 确认销号")
    assert "W0001 已确认销号" in closed.text, closed
    assert (await desk.events())[-1] == "closed"


SUN = 4003  # 孙立新, 副区长(社会事业), another 包抓领导


async def test_projects_given_to_a_lead_on_leave_are_told_to_his_stand_in(telegram: TelegramHarness) -> None:
    """陈建国 is away Tuesday 17 to Friday 20 with 孙立新 standing in. W0001 waits at 刘文华's level when the admin
    hands 刘文华's projects to 陈建国 (/handover), then gives ZD2026-001 back and to 陈建国 again (/project_set): each
    time 孙立新, who holds 陈建国's level meanwhile, is told which projects came and what waits on them, with its
    acts, and writes his 批示 from that notice; the admin's reply says so."""
    desk = await bind_everyone(telegram)
    await bind_directly(telegram, CHEN, "陈建国")
    await bind_directly(telegram, SUN, "孙立新")
    await desk.raise_w0001()
    assert "已登记 陈建国 的请假" in (await telegram.send(ADMIN, "/leave 陈建国 11-17 11-20 孙立新")).text
    await desk.escalate_to_lead()  # Tuesday 17:30: W0001 waits at 刘文华's level
    await desk.deliver()

    handed = await telegram.send(ADMIN, "/handover 刘文华 陈建国")
    assert "陈建国 正在请假，其代理人 孙立新 已一并告知" in handed.text, handed
    inbox = await desk.deliver()
    [told] = inbox.texts(SUN)
    assert "管理员已将 ZD2026-001 城北高速连接线、" in told and "交由 陈建国 包抓（原包抓领导：刘文华）" in told, told
    assert "陈建国 2026-11-17 至 2026-11-20 请假，期间这些项目的问题上报、延期申请审批和批示由您代为处理" in told, told
    assert "待您批示或协调的问题（1）：W0001" in told, told
    assert inbox.labels(SUN) == [[["W0001 批示", "W0001 详情"]]], inbox
    assert "W0001 请输入批示内容" in (await telegram.press(SUN, "W0001 批示")).text
    assert "批示已送达" in (await telegram.send(SUN, "请住建局本周办结")).text
    await desk.deliver()

    desk.travel(nov(18, 9, 0))
    back = await telegram.send(ADMIN, "/project_set ZD2026-001 包抓领导 刘文华")
    assert "包抓领导：陈建国 → <b>刘文华</b>" in back.text, back
    inbox = await desk.deliver()  # 刘文华 is not away: he is told, and 孙立新 that he no longer holds it
    [taken] = inbox.texts(SUN)
    assert ("管理员已将 陈建国 包抓的 ZD2026-001 城北高速连接线 交由 刘文华 包抓，您不再代 陈建国 处理这些项目的问题"
            in taken), taken
    assert "尚待处理的 W0001 已转交 刘文华。" in taken and "仍由您代为处理至 2026-11-20" in taken, taken
    assert inbox.labels(SUN) == [[]], inbox  # no buttons: not his to act on
    desk.travel(nov(18, 10, 0))
    assert "陈建国" in (await telegram.send(ADMIN, "/project_set ZD2026-001 包抓领导 陈建国")).text
    inbox = await desk.deliver()
    [told] = inbox.texts(SUN)
    assert "管理员已将 ZD2026-001 城北高速连接线 交由 陈建国 包抓（原包抓领导：刘文华）" in told, told
    assert inbox.labels(SUN) == [[["W0001 批示", "W0001 详情"]]], inbox
