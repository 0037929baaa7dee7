"""A fortnight of a 包抓领导 away with a stand-in (代理人), end to end on Telegram: every notice 刘文华 (lead official
of ZD2026-001) and 陈建国 (his stand-in) receive is checked, none missing, none doubled, with the escalation tick
run several times a day.

Monday 16: W0001 raised; 赵芳 asks 刘文华 for an extension. 刘文华 enters his leave Wednesday 18 to Tuesday 24 with
陈建国 standing in. Wednesday: 陈建国 is told what waited (W0001's request) and approves it from that notice; W0002
is raised, not taken up, and goes up to the 包抓领导's level on Thursday: to 陈建国, who writes a 批示 on Friday.
Monday 23: W0003's answer asks for an extension, sent to 陈建国, who leaves it; 刘文华's weekly digest goes to
陈建国. Wednesday 25 (the leave ran out): 刘文华 is told what was decided in his place and what waits for him now
(W0002 at his level, W0003's request) with the buttons to act, and decides W0003 from there; 陈建国 is told his
standing in is over and what went back to 刘文华, and no longer sees 刘文华's problems.
Calendar: November 2026, no holidays (Mon 16 … Fri 20, Mon 23 … Fri 27).
"""

from __future__ import annotations

from pathlib import Path

from jobs import digests
from tests.e2e.harness import TelegramHarness
from tests.e2e.test_lead_stand_in import CHEN, extension_asked
from tests.e2e.test_problems import ADMIN, HAO, LIU, ZHAO, Desk, Inbox, nov


async def _ticks(desk: Desk, day: int, *times: tuple[int, int]) -> Inbox:
    """The escalation tick at each of these times of a November day, each followed by delivery."""
    calls = []
    for hour, minute in times:
        desk.travel(nov(day, hour, minute))
        await desk.tick()
        calls += (await desk.deliver()).calls
    return Inbox(calls)


DAY = ((0, 5), (9, 0), (12, 0), (17, 30), (18, 0))  # a day's ticks: past midnight, morning, noon, end of day


async def test_a_fortnight_of_a_lead_away_with_a_stand_in(telegram: TelegramHarness, tmp_path: Path) -> None:
    desk = await extension_asked(telegram)
    tg = desk.tg
    inbox = await desk.deliver()
    assert len(inbox.texts(LIU)) == 1 and "延期申请" in inbox.text(LIU) and CHEN not in inbox.chats, inbox

    # Monday 11:00: the leave is entered; 陈建国 and the office are told, once each.
    desk.travel(nov(16, 11, 0))
    recorded = await tg.send(LIU, "/leave 11-18 11-24 陈建国")
    assert "已登记请假：2026-11-18 至 2026-11-24，代理人 陈建国" in recorded.text, recorded
    inbox = await desk.deliver()
    assert inbox.chats == {CHEN, ADMIN} and len(inbox.texts(CHEN)) == 1, inbox
    assert (await _ticks(desk, 17, *DAY)).chats <= {ZHAO}  # Tuesday: nothing for either of them

    # Wednesday: the leave's first tick tells 陈建国 what waited, once; he approves W0001 from that notice.
    inbox = await _ticks(desk, 18, (0, 5))
    assert inbox.chats == {CHEN} and len(inbox.texts(CHEN)) == 1, inbox
    assert "待您审批的延期申请（1）：W0001" in inbox.text(CHEN)
    assert inbox.labels(CHEN) == [[["W0001 同意延期", "W0001 不同意", "W0001 详情"]]], inbox
    desk.travel(nov(18, 8, 30))
    assert "W0002" in (await tg.send(HAO, "/issue ZD2026-001 资金 配套资金未到位")).text
    assert (await desk.deliver()).chats == {ZHAO}
    desk.travel(nov(18, 10, 0))
    assert "延期申请已同意" in (await tg.press(CHEN, "W0001 同意延期")).text
    inbox = await desk.deliver()
    assert inbox.chats == {HAO, ZHAO} and "陈建国（代理 刘文华）" in inbox.text(ZHAO), inbox
    inbox = await _ticks(desk, 18, *DAY[1:])
    assert not inbox.chats & {LIU, CHEN}, inbox

    # Thursday 17:30: W0002, not taken up, goes up to the 包抓领导's level: to 陈建国 only, once.
    inbox = await _ticks(desk, 19, *DAY)
    assert LIU not in inbox.chats and len(inbox.texts(CHEN)) == 1, inbox
    assert "W0002 因未按时受理，已上报至包抓领导" in inbox.text(CHEN) and ["批示", "查看详情"] in inbox.labels(CHEN)[0]
    desk.travel(nov(20, 9, 0))
    assert "批示已送达" in (await tg.send(CHEN, "/comment W0002 请财政局协调")).text
    inbox = await desk.deliver()
    assert inbox.chats == {HAO, ZHAO}, inbox
    for day in (20, 21, 22):
        assert not (await _ticks(desk, day, *DAY)).chats & {LIU, CHEN}, day

    # Monday 23: W0003's answer asks for an extension, of 陈建国; he leaves it undecided.
    desk.travel(nov(23, 8, 30))
    assert "W0003" in (await tg.send(HAO, "/issue ZD2026-001 审批手续 规划许可待批")).text
    desk.travel(nov(23, 10, 0))
    assert "延期申请" in (await tg.send(ZHAO, "/answer W0003 12月4日 需省厅批复")).text
    inbox = await desk.deliver()
    assert LIU not in inbox.chats and len(inbox.texts(CHEN)) == 1, inbox
    assert "W0003 责任单位 区住建局（赵芳）申请将办结时限延至 2026-12-04" in inbox.text(CHEN)
    for day in (23, 24):
        assert not (await _ticks(desk, day, *DAY)).chats & {LIU, CHEN}, day
    # The weekly bulletin of that Monday: 刘文华's digest goes to 陈建国, headed as his stand-in's, once.
    desk.travel(nov(23, 18, 30))
    produced = await digests.run_due(tg.core.db, tg.core.deps.renderer, now=tg.clock.now(), files_root=tmp_path,
                                     kinds=("weekly",))
    assert [(p.kind, p.period) for p in produced] == [("weekly", "2026-W47")], produced
    inbox = await desk.deliver()
    assert LIU not in inbox.chats, inbox
    stood = [text for text in inbox.texts(CHEN) if "您是其代理人" in text]
    assert len(stood) == 1 and "以下是 刘文华 包抓项目的周通报" in stood[0] and "ZD2026-001" in stood[0], inbox
    assert "📌 <b>代 刘文华 包抓的项目（周通报 2026-W47" in stood[0], stood

    # Wednesday 25: the leave ran out. 刘文华 is told, once, what was decided in his place and what waits for him;
    # 陈建国, that he no longer stands in and that what waits went back to 刘文华.
    inbox = await _ticks(desk, 25, (0, 5))
    assert inbox.chats == {LIU, CHEN} and len(inbox.texts(LIU)) == len(inbox.texts(CHEN)) == 1, inbox
    over = ("📋 <b>代理结束</b>：刘文华 2026-11-18 至 2026-11-24 的请假已结束，今天起其包抓项目的问题恢复由 刘文华 "
            "本人处理（刘文华 现包抓 ZD2026-001 城北高速连接线、ZD2026-006 水刺无纺布新增生产线、"
            "ZD2026-011 电器厂地块开发等9个项目），您不再代为处理。\n尚待处理的 W0002、W0003 已转交 刘文华。")
    assert inbox.text(CHEN) == over, inbox
    back = inbox.text(LIU)
    assert "代理期间 陈建国 代为处理：\n- W0001 同意延期（延至 2026-11-27）" in back, back
    assert "- W0002 批示：请财政局协调" in back, back
    assert "现待您本人处理的事项：\n- 已上报至包抓领导、待您批示或协调的问题（1）：W0002" in back, back
    assert "- 待您审批的延期申请（1）：W0003\n  W0003：区住建局 申请将办结时限延至 2026-12-04，理由：需省厅批复" in back
    assert inbox.labels(LIU) == [[["W0002 批示", "W0002 详情"], ["W0003 同意延期", "W0003 不同意", "W0003 详情"]]]
    refused = await tg.press(CHEN, "同意延期")  # the request's message to him, pressed after the leave
    assert refused.text == ("W0003 的延期申请由上一层级审批，您不在其中。\n"
                            "刘文华 2026-11-18 至 2026-11-24 的请假已结束，"
                            "此事已交回 刘文华 本人处理，您不再代为处理。"), refused
    assert "没有找到问题 W0002" in (await tg.send(CHEN, "/issue W0002")).text
    desk.travel(nov(25, 9, 30))
    assert "延期申请已同意，办结时限延至 2026-12-04 17:30" in (await tg.press(LIU, "W0003 同意延期")).text
    inbox = await desk.deliver()
    assert inbox.chats == {HAO, ZHAO} and "延期申请已同意：刘文华" in inbox.text(ZHAO), inbox
    assert "代理" not in inbox.text(ZHAO)
    inbox = await _ticks(desk, 25, *DAY[1:])
    assert CHEN not in inbox.chats and len(inbox.texts(LIU)) == 1 and "W0002 的办结时限" in inbox.text(LIU), inbox
    inbox = await _ticks(desk, 26, *DAY)
    assert CHEN not in inbox.chats  # W0002 goes on up, without him
    # W0001's extended deadline is also its promised day (陈建国 approved it): 赵芳 is reminded of it once.
    reminded = [text for text in inbox.texts(ZHAO) if "W0001" in text]
    assert len(reminded) == 1 and "承诺" not in reminded[0], inbox
    assert reminded[0].startswith("⏰ <b>临期提醒</b>：W0001 的办结时限为 2026-11-27 17:30"), reminded

    # The next Monday's bulletin: 刘文华's digest is his own again.
    desk.travel(nov(30, 18, 30))
    await digests.run_due(tg.core.db, tg.core.deps.renderer, now=tg.clock.now(), files_root=tmp_path,
                          kinds=("weekly",))
    inbox = await desk.deliver()
    assert any("您包抓的项目" in text and "ZD2026-001" in text for text in inbox.texts(LIU)), inbox
    assert not any("您是其代理人" in text or "ZD2026-001" in text for text in inbox.texts(CHEN)), inbox
