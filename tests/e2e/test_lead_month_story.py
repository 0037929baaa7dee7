"""A month of a 包抓领导 and his stand-in, end to end on Telegram, every message to either read as they would.

刘文华 (包抓领导 of nine projects, ZD2026-001 among them) is away Thursday 19 to Friday 27 November with 陈建国
standing in. W0001 went up to 刘文华 on Tuesday 17; W0002 goes up on Friday 20, to 陈建国. Monday 23 the office
gives ZD2026-006 to 孙立新 and renames ZD2026-001; Tuesday 24 it hands 孙立新's projects to 刘文华. Neither
problem is solved: both go up to the 区长 during the leave, to the 区委书记 after it. 陈建国 is told what he holds
and what he no longer holds as it changes; back on Saturday 28, 刘文华 is told which projects are his now, that
and which of them changed hands (a few named, the others counted, and where to see them all), that
his stand-in decided nothing, and that W0001 and W0002 went past his level while he was away (of which he heard
nothing, and whose next notices are his). Calendar: November and December 2026, no holidays.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.e2e.harness import TelegramHarness
from tests.e2e.test_lead_stand_in import CHEN
from tests.e2e.test_problems import ADMIN, HAO, LIU, Desk, Inbox, bind_directly, bind_everyone, nov

SUN = 4003  # 孙立新, 副区长(社会事业), another 包抓领导
TOP = "已在最高层级，请区委书记/领导小组高位统筹。"
TIMES = ((0, 5), (9, 0), (17, 30))  # the escalation tick past midnight, in the morning, at the end of the day


async def _days(desk: Desk, first: datetime, count: int = 1) -> Inbox:
    """The ticks of `count` days from `first`, each followed by delivery."""
    calls = []
    for n in range(count):
        day = first + timedelta(days=n)
        for hour, minute in TIMES:
            desk.travel(day.replace(hour=hour, minute=minute))
            await desk.tick()
            calls += (await desk.deliver()).calls
    return Inbox(calls)


async def test_a_month_of_a_lead_and_his_stand_in(telegram: TelegramHarness) -> None:
    desk = await bind_everyone(telegram)
    await bind_directly(telegram, CHEN, "陈建国")
    await bind_directly(telegram, SUN, "孙立新")
    await desk.raise_w0001()
    inbox = await desk.escalate_to_lead()
    assert "W0001 因未按时受理，已上报至包抓领导" in inbox.text(LIU) and CHEN not in inbox.chats, inbox

    desk.travel(nov(18, 9, 0))
    recorded = await telegram.send(LIU, "/leave 11-19 11-27 陈建国")
    assert "已登记请假：2026-11-19 至 2026-11-27，代理人 陈建国" in recorded.text, recorded
    inbox = await desk.deliver()
    told = inbox.text(CHEN)
    assert "期间 刘文华 包抓项目的问题上报、延期申请审批、批示和包抓领导的定期通报由 陈建国 代为处理" in told, told
    inbox = await _days(desk, nov(19))  # the leave's first day: what waited is told to 陈建国, once
    assert LIU not in inbox.chats and len(inbox.texts(CHEN)) == 1, inbox
    told = inbox.text(CHEN)
    assert "请假前已报 刘文华、尚待处理的事项：\n- 已上报至包抓领导、待您批示或协调的问题（1）：W0001" in told, told
    desk.travel(nov(19, 8, 30))
    assert "W0002" in (await telegram.send(HAO, "/issue ZD2026-001 资金 配套资金未到位")).text
    await desk.deliver()
    inbox = await _days(desk, nov(20), 3)
    assert LIU not in inbox.chats and len(inbox.texts(CHEN)) == 1, inbox
    assert "W0002 因未按时受理，已上报至包抓领导" in inbox.text(CHEN)

    # Monday 23: ZD2026-006 goes to 孙立新; 陈建国 is told he no longer holds it, and what he still holds.
    desk.travel(nov(23, 10, 0))
    assert "刘文华 → <b>孙立新</b>" in (await telegram.send(ADMIN, "/project_set ZD2026-006 包抓领导 孙立新")).text
    inbox = await desk.deliver()
    assert inbox.chats == {SUN, CHEN, LIU}, inbox  # 刘文华, away, is told the project left him
    assert "交由 孙立新 包抓" in inbox.text(LIU) and "不再通知您" in inbox.text(LIU), inbox
    taken = inbox.text(CHEN)
    assert "管理员已将 刘文华 包抓的 ZD2026-006 水刺无纺布新增生产线 交由 孙立新 包抓" in taken, taken
    assert "您不再代 刘文华 处理这些项目的问题。" in taken, taken
    assert "刘文华 其余包抓项目 ZD2026-001 城北高速连接线、ZD2026-011 " in inbox.text(CHEN), inbox
    desk.travel(nov(23, 11, 0))
    renamed = await telegram.send(ADMIN, "/project_set ZD2026-001 名称 城北高速连接线（一期）")
    assert "城北高速连接线（一期）" in renamed.text, renamed
    assert not (await desk.deliver()).chats & {LIU, CHEN}
    inbox = await _days(desk, nov(23))
    assert LIU not in inbox.chats and "W0001 的办结时限为 2026-11-24 17:30" in inbox.text(CHEN), inbox

    # Tuesday 24: 孙立新's projects (ZD2026-006 back among them) are handed to 刘文华: 陈建国 holds them for him.
    desk.travel(nov(24, 10, 0))
    handed = await telegram.send(ADMIN, "/handover 孙立新 刘文华")
    assert "刘文华 正在请假，其代理人 陈建国 已一并告知" in handed.text, handed
    inbox = await desk.deliver()
    [given] = inbox.texts(CHEN)
    assert "管理员已将 ZD2026-003 名城二期、ZD2026-006 水刺无纺布新增生产线、" in given, given
    assert "交由 刘文华 包抓（原包抓领导：孙立新）" in given, given
    assert "期间这些项目的问题上报、延期申请审批和批示由您代为处理" in given, given
    inbox = await _days(desk, nov(24), 4)
    assert LIU not in inbox.chats, inbox
    assert [t.split("\n")[0] for t in inbox.texts(CHEN)] == [
        "🔺 W0001 因未按时办结，已上报至区长。",
        "⏰ <b>临期提醒</b>：W0002 的办结时限为 2026-11-27 17:30，请抓紧办理，逾期将上报区长。",
        "🔺 W0002 因未按时办结，已上报至区长。"], inbox

    # Saturday 28: the leave ran out. Both are told what is true now.
    inbox = await _days(desk, nov(28))
    assert len(inbox.texts(LIU)) == len(inbox.texts(CHEN)) == 1, inbox
    back, over = inbox.text(LIU), inbox.text(CHEN)
    named = "ZD2026-001 城北高速连接线（一期）、ZD2026-003 名城二期、ZD2026-006 水刺无纺布新增生产线等17个项目"
    assert f"恢复由您本人处理（您现包抓 {named}，发送 /mine 查看全部）。" in back, back
    # what changed hands while he was away, grouped: 孙立新's eight; ZD2026-006, gone and back, is not news
    assert ("请假期间包抓项目的调整：\n- ZD2026-003 名城二期、ZD2026-008 实验学校、ZD2026-013 酒业技改扩能等8个项目 "
            "交由您包抓（原包抓领导：孙立新）\n代理期间") in back, back
    assert "ZD2026-011" not in back and "ZD2026-016" not in back, back  # the others are counted, not listed
    assert "代理期间 陈建国 未代为审批或批示。" in back, back
    assert "请假期间已上报至区长及以上、尚未解决的问题（2）：W0001（区长）、W0002（区长）" in back, back
    assert f"恢复由 刘文华 本人处理（刘文华 现包抓 {named}）" in over and "已转交" not in over, over

    # After it, 刘文华 follows W0001 and W0002 up; 陈建国 hears no more of them.
    inbox = await _days(desk, nov(29), 14)
    assert CHEN not in inbox.chats, inbox
    assert [t.split("\n")[0] for t in inbox.texts(LIU)] == [
        "🔺 W0001 因未按时办结，已上报至区委书记/领导小组。",
        "🔺 W0002 因未按时办结，已上报至区委书记/领导小组。",
        *(f"🚨 <b>问题已超期</b>：{number} 已超过办结时限（2026-12-{day} 17:30），{TOP}"
          for number, day in (("W0001", "08"), ("W0002", "11")))
    ], inbox
    assert "代 刘文华" not in (await telegram.send(CHEN, "/mine")).text
