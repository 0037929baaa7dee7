"""A 包抓领导 on leave with a stand-in (代理人), end to end through the real PTB Application and the fake Bot API.

刘文华 (lead official of ZD2026-001) is away Monday 16 to Friday 20 November with 陈建国 (常务副区长, another
包抓领导) standing in. While the leave runs 陈建国 holds 刘文华's level on ZD2026-001's problems: he gets the
extension request and decides it (recorded as 「由代理人 陈建国 代为审批」 in the history and the audit), he gets
W0001 when it goes up, sees and writes 批示 on it; 刘文华 gets none of it. At 销假 刘文华 is told what his stand-in
decided and holds his level again. Same people and calendar as tests/e2e/test_problems.py.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.config import Settings
from handlers import lookup
from storage.models import AuditEntry, Leave
from tests.e2e.harness import TelegramHarness
from tests.e2e.test_digests import (  # noqa: F401  (fixtures used by name)
    SUN,
    WANG,
    Office,
    at,
    cloned,
    data_dir,
    settings,
    texts,
)
from tests.e2e.test_problems import ADMIN, LI, LIU, ZHAO, Desk, bind_directly, bind_everyone, nov
from tests.reads import reads_of

CHEN = 4005  # 陈建国, 常务副区长, a 包抓领导 of other projects


async def _away(telegram: TelegramHarness) -> Desk:
    """Everyone bound; 刘文华 records his leave with 陈建国 standing in (Monday 08:00)."""
    desk = await bind_everyone(telegram)
    await bind_directly(telegram, CHEN, "陈建国")
    recorded = await telegram.send(LIU, "/leave 11-16 11-20 陈建国")
    assert "已登记请假：2026-11-16 至 2026-11-20，代理人 陈建国" in recorded.text, recorded
    assert "改由 陈建国 代为处理" in recorded.text, recorded
    inbox = await desk.deliver()
    told = inbox.text(CHEN)
    assert "期间 刘文华 包抓项目的问题上报、延期申请审批、批示和包抓领导的定期通报由 陈建国 代为处理" in told, inbox
    assert ADMIN in inbox.chats
    return desk


async def extension_asked(telegram: TelegramHarness) -> Desk:
    """Everyone bound, 陈建国 too; W0001 raised and 赵芳 asking on Monday 16 November at 10:00 for an extension
    (下周五), which goes to 刘文华 while no leave runs."""
    desk = await bind_everyone(telegram)
    await bind_directly(telegram, CHEN, "陈建国")
    await desk.raise_w0001()
    desk.travel(nov(16, 10, 0))
    await telegram.send(ZHAO, "/answer W0001 下周五 需协调省厅")
    return desk


async def test_a_stand_in_holds_the_absent_leads_level_until_the_leave_ends(telegram: TelegramHarness) -> None:
    desk = await _away(telegram)
    tg = desk.tg
    await desk.raise_w0001()
    desk.travel(nov(16, 10, 0))
    await tg.send(ZHAO, "/answer W0001 下周五 需协调省厅")  # Friday 27 Nov: after Thursday 19's deadline
    inbox = await desk.deliver()
    assert LIU not in inbox.chats and inbox.labels(CHEN)[-1] == [["同意延期", "不同意"]], inbox
    assert "同意延期" not in (await tg.send(LIU, "/issue W0001")).buttons  # not his to decide while away
    approved = await tg.press(CHEN, "同意延期")
    assert "延期申请已同意，办结时限延至 2026-11-27 17:30" in approved.text, approved
    inbox = await desk.deliver()
    assert "延期申请已同意：陈建国（代理 刘文华）" in inbox.text(ZHAO), inbox
    card = await tg.send(ZHAO, "/issue W0001")
    assert "同意延期（延至 2026-11-27）（包抓领导 刘文华 请假，由代理人 陈建国 代为审批）" in card.text, card
    async with tg.session() as session:
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "problem.extend"))
    assert entry is not None and entry.detail["stand_in_for"] == "刘文华"
    assert "由代理人代为审批" in (await tg.send(ADMIN, "/audit W0001")).text

    # He sees the absent lead's projects' problems, and writes 批示 on them in his place.
    seen = await tg.send(CHEN, "/issue W0001")
    assert "W0001" in seen.text and "批示" in seen.buttons, seen
    assert "W0001" in (await tg.send(CHEN, "/issues")).text
    assert "批示已送达" in (await tg.send(CHEN, "/comment W0001 请住建局倒排工期")).text
    inbox = await desk.deliver()
    assert ZHAO in inbox.chats and LIU not in inbox.chats, inbox
    assert "（包抓领导 刘文华 请假，由代理人 陈建国 代为批示）" in (await tg.send(ZHAO, "/issue W0001")).text

    # 刘文华 is back on Wednesday: told what was decided in his place; 陈建国 no longer sees ZD2026-001's problems.
    desk.travel(nov(18, 9, 0))
    back = await tg.press(LIU, "销假")
    assert "刘文华 已销假：请假到 2026-11-17 为止，今天起恢复由本人处理包抓项目的问题" in back.text, back
    assert "代理期间 陈建国 代为处理：\n- W0001 同意延期（延至 2026-11-27）" in back.text, back
    assert "- W0001 批示：请住建局倒排工期" in back.text, back
    inbox = await desk.deliver()
    assert "陈建国 不再代为处理其包抓项目的问题" in inbox.text(CHEN), inbox
    assert "W0001" not in (await tg.send(CHEN, "/issues")).text
    assert "没有找到问题 W0001" in (await tg.send(CHEN, "/issue W0001")).text


async def test_escalation_goes_to_the_stand_in_and_the_lead_is_told_when_his_leave_has_run_out(
        telegram: TelegramHarness) -> None:
    desk = await _away(telegram)
    await desk.raise_w0001()
    inbox = await desk.escalate_to_lead()  # nobody accepts W0001: at Tuesday 17:30 it goes up to the lead's level
    assert CHEN in inbox.chats and LIU not in inbox.chats, inbox
    assert "批示" in inbox.labels(CHEN)[-1][0], inbox
    await desk.tg.press(CHEN, "批示")
    assert "批示已送达" in (await desk.tg.send(CHEN, "请住建局今天受理")).text
    await desk.deliver()
    desk.travel(nov(18, 9, 0))
    await desk.tick()  # W0001 reached him during the leave: not told again as waiting from before it
    assert not any("尚待处理" in text for text in (await desk.deliver()).texts(CHEN))

    desk.travel(nov(21, 9, 0))  # Saturday: the leave ran to Friday 20, without 销假
    await desk.tick()
    told = (await desk.deliver()).text(LIU)
    back = "您 2026-11-16 至 2026-11-20 的请假已结束，今天起包抓项目的问题上报、延期申请审批和批示恢复由您本人处理"
    assert back in told, told
    assert "代理期间 陈建国 代为处理：\n- W0001 批示：请住建局今天受理" in told, told
    await desk.tick()  # told once
    assert LIU not in (await desk.deliver()).chats
    assert "没有找到问题 W0001" in (await desk.tg.send(CHEN, "/issue W0001")).text  # his again


async def test_a_lead_back_early_is_told_what_waits_at_his_level_now_with_the_acts(
        telegram: TelegramHarness) -> None:
    """W0001 went up to the 包抓领导's level during the leave, to 陈建国, who did nothing with it. 刘文华 back on
    Wednesday by 销假 is told it waits for him now, with 批示 on it; when the office ends his leave instead, his
    notice says it (the office's and 陈建国's do not)."""
    desk = await _away(telegram)
    tg = desk.tg
    await desk.raise_w0001()
    inbox = await desk.escalate_to_lead()
    assert CHEN in inbox.chats and LIU not in inbox.chats, inbox
    desk.travel(nov(18, 9, 0))
    back = await tg.press(LIU, "销假")
    assert "现待您本人处理的事项：\n- 已上报至包抓领导、待您批示或协调的问题（1）：W0001" in back.text, back
    assert back.buttons == ["W0001 批示", "W0001 详情"], back
    inbox = await desk.deliver()
    assert "陈建国 不再代为处理其包抓项目的问题" in inbox.text(CHEN) and "现待您本人处理" not in inbox.text(CHEN)
    assert "尚待处理的 W0001 已转交 刘文华。" in inbox.text(CHEN) and "已转交" not in inbox.text(ADMIN), inbox
    assert "现待您本人处理" not in inbox.text(ADMIN) and not inbox.labels(ADMIN)[0], inbox
    assert "W0001 请输入批示内容" in (await tg.press(LIU, "W0001 批示")).text
    refused = await tg.press(CHEN, "批示")  # on the escalation notice he got during the leave
    assert "刘文华 2026-11-16 至 2026-11-17 的请假已结束，此事已交回 刘文华 本人处理" in refused.text, refused


async def test_a_lead_cancelling_his_leave_the_day_it_began_is_told_what_waits_at_his_level(
        telegram: TelegramHarness) -> None:
    """刘文华's leave began this Tuesday: its first tick gave 陈建国 W0001's request. 刘文华 cancels the leave at noon
    (销假 the day it began cancels it): the request is his to decide again, and his reply says so, with the acts."""
    desk = await extension_asked(telegram)
    tg = desk.tg
    assert "已登记请假" in (await tg.send(LIU, "/leave 11-17 11-20 陈建国")).text
    await desk.deliver()
    desk.travel(nov(17, 0, 5))
    await desk.tick()
    assert "待您审批的延期申请（1）：W0001" in (await desk.deliver()).text(CHEN)
    desk.travel(nov(17, 12, 0))
    back = await tg.press(LIU, "销假")
    assert "已取消 刘文华 2026-11-17 至 2026-11-20 的请假" in back.text, back
    assert "现待您本人处理的事项：\n- 待您审批的延期申请（1）：W0001" in back.text, back
    assert back.buttons == ["W0001 同意延期", "W0001 不同意", "W0001 详情"], back
    assert "尚待处理的 W0001 已转交 刘文华。" in (await desk.deliver()).text(CHEN)
    refused = await tg.press(CHEN, "W0001 同意延期")  # the button of the tick's notice, pressed after 销假
    assert "刘文华 已销假，此事已交回 刘文华 本人处理，您不再代为处理。" in refused.text, refused


async def test_a_lead_whose_leave_the_office_ends_is_told_what_waits_at_his_level(telegram: TelegramHarness) -> None:
    desk = await _away(telegram)
    tg = desk.tg
    await desk.raise_w0001()
    await desk.escalate_to_lead()
    desk.travel(nov(18, 9, 0))
    listed = await tg.send(ADMIN, "/leave 全部")
    assert "销假 刘文华 11-16起" in listed.buttons, listed
    assert "刘文华 已销假" in (await tg.press(ADMIN, "销假 刘文华 11-16起")).text
    inbox = await desk.deliver()
    told = inbox.texts(LIU)
    assert len(told) == 1 and "现待您本人处理的事项" in told[0] and "W0001" in told[0], inbox
    assert inbox.labels(LIU) == [[["W0001 批示", "W0001 详情"]]], inbox
    assert "现待您本人处理" not in inbox.text(CHEN) and not inbox.labels(CHEN)[0], inbox


async def test_the_absent_leads_digest_goes_to_his_stand_in(cloned: TelegramHarness,  # noqa: F811
                                                            settings: Settings) -> None:  # noqa: F811
    office = Office(cloned, settings)
    await office.setup((LIU, "刘文华", "lead"), (SUN, "孙立新", "lead"), (WANG, "王立军", "top"), monthly=False)
    office.travel(at(10, 9, 9, 0))
    assert "已登记请假" in (await cloned.send(LIU, "/leave 10-12 10-14 孙立新")).text
    office.travel(at(10, 12, 9, 0))
    with reads_of(cloned.core.db, "leaves") as reads:
        await office.tick()
    # Whose level is held by whom, for every 包抓领导 with a digest, in one read of their leaves.
    assert len([r for r in reads if "leaves.person_id" in r.partition("WHERE")[2]]) == 1, reads
    calls = await office.deliver()
    assert not any("您包抓的项目" in text for text in texts(LIU, calls)), texts(LIU, calls)
    sun = "\n".join(texts(SUN, calls))
    assert ("（刘文华 请假，您是其代理人：以下是 刘文华 包抓项目的周通报，请代为跟进。）\n"
            "📌 <b>代 刘文华 包抓的项目（周通报") in sun, sun
    assert "ZD2026-001" in sun and sun.count("您包抓的项目") == 1, sun  # his own, headed as his
    assert sun.count("📌 <b>代 刘文华 包抓的项目") == 1, sun  # 刘文华's, headed as whose


async def test_the_absent_leads_monthly_digest_is_named_so_for_his_stand_in(cloned: TelegramHarness,  # noqa: F811
                                                                            settings: Settings) -> None:  # noqa: F811
    """The digest sent with the monthly bulletin (the 1st) says it is the 月通报, not a weekly one; the leave's
    notice says the stand-in takes the lead's bulletins of every period."""
    office = Office(cloned, settings)
    await office.setup((LIU, "刘文华", "lead"), (SUN, "孙立新", "lead"))
    office.travel(at(10, 29, 9, 0))
    assert "已登记请假" in (await cloned.send(LIU, "/leave 10-30 11-03 孙立新")).text
    office.travel(at(11, 1, 9, 0))
    await office.tick()
    sun = "\n".join(texts(SUN, await office.deliver()))
    assert ("（刘文华 请假，您是其代理人：以下是 刘文华 包抓项目的月通报，请代为跟进。）\n"
            "📌 <b>代 刘文华 包抓的项目（月通报") in sun, sun
    assert "包抓领导的定期通报由 孙立新 代为处理" in sun, sun  # the leave's notice: not only weekly ones


async def test_a_top_official_standing_in_lists_what_went_up_to_the_absent_lead_among_his_escalated_problems(
        telegram: TelegramHarness) -> None:
    """`/issues 上报` lists for 王立军 (区长) what reached the 区长; standing in for 刘文华 he holds the 包抓领导's
    level on 刘文华's projects, so W0001, gone up to it, is listed too, as for a lead stand-in; not after the leave."""
    desk = await bind_everyone(telegram)
    tg = desk.tg
    assert "已登记请假" in (await tg.send(LIU, "/leave 11-16 11-20 王立军")).text
    await desk.deliver()
    await desk.raise_w0001()
    assert WANG in (await desk.escalate_to_lead()).chats
    listed = (await tg.send(WANG, "/issues 上报")).text
    heading = "<b>已上报区长及以上（您代理的包抓领导的项目：已上报包抓领导及以上）、尚未解决的问题</b>（1 个）"
    assert heading in listed, listed
    assert "W0001 ZD2026-001 审批手续，待受理，已上报包抓领导" in listed, listed
    assert "没有已上报区长及以上、尚未解决的问题。" in (await tg.send(LI, "/issues 上报")).text  # the 书记: not his
    desk.travel(nov(21, 9, 0))
    assert "没有已上报区长及以上、尚未解决的问题。" in (await tg.send(WANG, "/issues 上报")).text


async def test_a_top_official_standing_in_gets_the_absent_leads_digest_as_a_lead_stand_in_does(
        cloned: TelegramHarness, settings: Settings) -> None:  # noqa: F811
    """王立军 (区长) standing in for 刘文华 gets, besides the top officials' summary, 刘文华's digest headed as his
    stand-in's; 刘文华 gets none."""
    office = Office(cloned, settings)
    await office.setup((LIU, "刘文华", "lead"), (WANG, "王立军", "top"), monthly=False)
    office.travel(at(10, 9, 9, 0))
    assert "已登记请假" in (await cloned.send(LIU, "/leave 10-12 10-14 王立军")).text
    office.travel(at(10, 12, 9, 0))
    await office.tick()
    calls = await office.deliver()
    assert not any("您包抓的项目" in text for text in texts(LIU, calls)), texts(LIU, calls)
    wang = texts(WANG, calls)
    assert any(text.startswith("📊 <b>周通报摘要") for text in wang), wang
    stood = [text for text in wang if "您是其代理人" in text]
    assert len(stood) == 1 and stood[0].startswith(
        "（刘文华 请假，您是其代理人：以下是 刘文华 包抓项目的周通报，请代为跟进。）\n"
        "📌 <b>代 刘文华 包抓的项目（"), wang
    assert not any("您包抓的项目" in text for text in wang), wang  # 区长: no projects of his own
    assert "ZD2026-001" in "\n".join(wang)


async def test_a_stand_in_is_not_the_lead_himself_nor_away_himself(telegram: TelegramHarness) -> None:
    desk = await bind_everyone(telegram)
    tg = desk.tg
    await bind_directly(tg, CHEN, "陈建国")
    assert "代理人不能是请假人本人" in (await tg.send(LIU, "/leave 11-16 11-20 刘文华")).text
    assert "包抓领导的代理人须是在职的区领导或包抓领导" in (await tg.send(LIU, "/leave 11-16 11-20 赵芳")).text
    assert "已登记请假" in (await tg.send(CHEN, "/leave 11-19 11-23")).text
    refused = await tg.send(LIU, "/leave 11-16 11-20 陈建国")
    assert "代理人 陈建国 本人 2026-11-19 至 2026-11-23 请假，与这次的日期重叠，不能代理" in refused.text, refused
    assert "已登记 刘文华 的请假" in (await tg.send(ADMIN, "/leave 刘文华 11-16 11-18 王立军")).text


async def test_a_stand_in_cannot_go_on_leave_while_he_stands_in(telegram: TelegramHarness) -> None:
    """陈建国 stands in for 刘文华 Monday 16 to Friday 20; his own leave from Thursday 19 would leave 刘文华's level to
    someone away (the escalations, extension requests and digest would reach nobody present): it is refused, by
    himself or by the office, saying whose stand-in he is and how to go on; from Saturday 21 it is recorded."""
    desk = await _away(telegram)
    tg = desk.tg
    refused = await tg.send(CHEN, "/leave 11-19 11-23 王立军")
    assert ("陈建国 是 刘文华 2026-11-16 至 2026-11-20 请假的代理人，与这次的日期重叠：请假期间无法代理，未登记"
            in refused.text), refused
    assert "先由 刘文华 或管理员销假后另选代理人" in refused.text, refused
    by_office = await tg.send(ADMIN, "/leave 陈建国 11-20 11-23")
    assert "陈建国 是 刘文华 2026-11-16 至 2026-11-20 请假的代理人" in by_office.text, by_office
    async with tg.session() as session:
        leaves = (await session.scalars(select(Leave).order_by(Leave.id))).all()
    assert [(le.person_id, le.start.day, le.end.day) for le in leaves] == [(leaves[0].person_id, 16, 20)]
    assert "已登记请假" in (await tg.send(CHEN, "/leave 11-21 11-23")).text  # after the leave he stands in for


async def test_the_stand_in_reads_in_his_leave_list_what_he_does_in_the_leads_place(telegram: TelegramHarness) -> None:
    """/leave lists the leaves 陈建国 stands in for: for a 包抓领导's he handles the problems of the lead's projects
    (a liaison's substitute reports for his projects: tests/e2e/test_leave.py), which the line says."""
    desk = await _away(telegram)
    listed = (await desk.tg.send(CHEN, "/leave")).text
    assert "1. 刘文华 2026-11-16 至 2026-11-20，代理人 我（代为处理其包抓项目的问题）" in listed, listed
    assert "填报" not in listed, listed


LIU_HOLDS = ("ZD2026-001", "ZD2026-006", "ZD2026-011", "ZD2026-016", "ZD2026-021", "ZD2026-026", "ZD2026-031",
             "ZD2026-036", "ZD2026-041")  # 刘文华's projects in the sample ledger


async def test_the_stand_in_has_the_absent_leads_projects_in_his_lists_until_the_leave_ends(
        telegram: TelegramHarness) -> None:
    """/mine and /project's list give 陈建国 刘文华's projects while the leave runs, marked whose; from Saturday
    (the day after its last day) they are gone; 刘文华's own lists say nothing of a stand-in."""
    desk = await _away(telegram)
    tg = desk.tg
    desk.travel(nov(20, 10, 0))  # Friday, the leave's last day
    with reads_of(tg.core.db, "leaves") as reads:
        mine = (await tg.send(CHEN, "/mine")).text
    assert len(reads) == 2, reads  # today's leaves (who owes a report) and whose names him, each read once
    head = "<b>代 刘文华（请假至11月20日）</b>包抓的项目："
    assert head in mine, mine
    stood = mine.split(head)[1]
    assert all(code in stood for code in LIU_HOLDS), mine
    assert "ZD2026-005" in mine.split(head)[0] and "ZD2026-005" not in stood  # his own, above
    listed = await tg.send(CHEN, "/project")
    assert "您代 刘文华（请假至11月20日）包抓的项目也在下方，标有「代 刘文华」。" in listed.text, listed
    assert "ZD2026-001 城北高速连接线（代 刘文华）" in listed.buttons, listed.buttons
    assert "ZD2026-005 精密机床新产品开发" in listed.buttons
    shown = await tg.press(CHEN, "ZD2026-001 城北高速连接线（代 刘文华）")
    assert "城北高速连接线" in shown.text
    own = await tg.send(LIU, "/mine")
    assert "代 " not in own.text and "ZD2026-001" in own.text, own
    assert not any("代 " in b for b in (await tg.send(LIU, "/project")).buttons)

    desk.travel(nov(21, 9, 0))  # Saturday: the leave is over
    mine = (await tg.send(CHEN, "/mine")).text
    assert "代 刘文华" not in mine and "ZD2026-001" not in mine and "ZD2026-005" in mine, mine
    listed = await tg.send(CHEN, "/project")
    assert "代 刘文华" not in listed.text and not any("ZD2026-001" in b for b in listed.buttons), listed


async def test_a_top_official_standing_in_has_the_absent_leads_projects_marked_in_his_lists(
        telegram: TelegramHarness) -> None:
    """王立军 (区长) follows every project; standing in for 刘文华 he is given 刘文华's projects as a 包抓领导's
    stand-in is: under 「代 刘文华」 in /mine (below the district's count) and first in /project's list, marked, each
    once; from the day after the leave they are gone."""
    desk = await bind_everyone(telegram)
    tg = desk.tg
    assert "已登记请假" in (await tg.send(LIU, "/leave 11-16 11-20 王立军")).text
    desk.travel(nov(20, 10, 0))
    mine = (await tg.send(WANG, "/mine")).text
    assert "<b>全区项目今日填报</b>" in mine, mine
    head = "<b>代 刘文华（请假至11月20日）</b>包抓的项目："
    assert head in mine, mine
    stood = mine.split(head)[1]
    assert [line.split()[1] for line in stood.strip().splitlines()] == list(LIU_HOLDS), mine
    listed = await tg.send(WANG, "/project")
    assert "您代 刘文华（请假至11月20日）包抓的项目也在下方，标有「代 刘文华」。" in listed.text, listed
    assert listed.buttons[:len(LIU_HOLDS)] == [b for b in listed.buttons if b.endswith("（代 刘文华）")], listed
    assert len(listed.buttons) == len(set(b.split()[0] for b in listed.buttons)), listed.buttons  # each once
    assert "ZD2026-001 城北高速连接线（代 刘文华）" in listed.buttons and "ZD2026-002 滨江四期沿江路" in listed.buttons

    desk.travel(nov(21, 9, 0))
    assert "代 刘文华" not in (await tg.send(WANG, "/mine")).text
    listed = await tg.send(WANG, "/project")
    assert "代 刘文华" not in listed.text and "ZD2026-001 城北高速连接线" in listed.buttons, listed


async def test_the_projects_held_as_a_stand_in_are_among_projects_buttons_however_many_his_own_are(
        telegram: TelegramHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    """/project's buttons are few (here as if there were room for 10, or for 5): the text says 刘文华's projects
    are below, so they come first, 陈建国's own after them as room is left; when even they do not all fit the
    text says how many are shown."""
    desk = await _away(telegram)
    tg = desk.tg
    desk.travel(nov(20, 10, 0))
    monkeypatch.setattr(lookup, "PROJECT_BUTTONS", len(LIU_HOLDS) + 1)
    listed = await tg.send(CHEN, "/project")
    assert "您代 刘文华（请假至11月20日）包抓的项目也在下方，标有「代 刘文华」。" in listed.text, listed
    assert len(listed.buttons) == len(LIU_HOLDS) + 1, listed.buttons
    assert all(any(b.startswith(f"{code} ") and b.endswith("（代 刘文华）") for b in listed.buttons)
               for code in LIU_HOLDS), listed.buttons
    assert "代 " not in listed.buttons[-1]  # one of his own, in the room left
    monkeypatch.setattr(lookup, "PROJECT_BUTTONS", 5)
    listed = await tg.send(CHEN, "/project")
    assert (f"您代 刘文华（请假至11月20日）包抓的项目共 {len(LIU_HOLDS)} 个，下方列出其中 5 个，标有「代 刘文华」；"
            "其余请按编号或名称查看。") in listed.text, listed
    assert len(listed.buttons) == 5 and all(b.endswith("（代 刘文华）") for b in listed.buttons), listed.buttons


async def test_a_problems_card_reads_its_history_once(telegram: TelegramHarness) -> None:
    """The card 陈建国 opens with the extension request waiting for him reads W0001's history once: the request
    and his 同意延期 / 不同意 come from it."""
    desk = await _away(telegram)
    tg = desk.tg
    await desk.raise_w0001()
    desk.travel(nov(16, 10, 0))
    await tg.send(ZHAO, "/answer W0001 下周五 需协调省厅")
    await desk.deliver()
    with reads_of(tg.core.db, "problem_events") as reads:
        card = await tg.send(CHEN, "/issue W0001")
    assert "同意延期" in card.buttons and "不同意" in card.buttons, card
    assert len(reads) == 1, reads


async def test_what_waits_for_the_lead_when_his_leave_begins_is_told_to_the_stand_in_that_day(
        telegram: TelegramHarness) -> None:
    """赵芳 asks for an extension on W0001 on Monday, 刘文华 gets it; he then enters his leave from Tuesday with
    陈建国 standing in. Nothing is told 陈建国 of it on Monday; Tuesday's first escalation tick tells him, once,
    with the day asked and the buttons to decide it there (and one opening W0001's card)."""
    desk = await extension_asked(telegram)
    tg = desk.tg
    assert LIU in (await desk.deliver()).chats
    desk.travel(nov(16, 11, 0))
    assert "已登记请假" in (await tg.send(LIU, "/leave 11-17 11-20 陈建国")).text
    told = (await desk.deliver()).text(CHEN)
    assert "代理人 陈建国" in told and "待您审批" not in told, told  # the leave is told, not yet what waits
    await desk.tick()
    assert CHEN not in (await desk.deliver()).chats

    desk.travel(nov(17, 0, 5))  # Tuesday, the leave's first day
    await desk.tick()
    inbox = await desk.deliver()
    told = inbox.text(CHEN)
    assert "刘文华 2026-11-17 至 2026-11-20 请假，由您代为处理其包抓项目的问题" in told, inbox
    assert "待您审批的延期申请（1）：W0001" in told and "已上报至包抓领导" not in told, told
    assert "W0001：区住建局 申请将办结时限延至 2026-11-27，理由：需协调省厅" in told, told
    assert inbox.labels(CHEN)[-1] == [["W0001 同意延期", "W0001 不同意", "W0001 详情"]], inbox
    assert inbox.callback_data(CHEN)[-1] == [["pb:exy:1", "pb:exn:1", "pb:show:1"]], inbox  # the card's own
    assert LIU not in inbox.chats
    desk.travel(nov(17, 9, 0))
    await desk.tick()  # told once
    assert CHEN not in (await desk.deliver()).chats

    # He decides it from the notice itself, in 刘文华's place.
    approved = await tg.press(CHEN, "W0001 同意延期")
    assert "延期申请已同意，办结时限延至 2026-11-27 17:30" in approved.text, approved
    inbox = await desk.deliver()
    assert "延期申请已同意：陈建国（代理 刘文华）" in inbox.text(ZHAO) and LIU not in inbox.chats, inbox
    assert "（包抓领导 刘文华 请假，由代理人 陈建国 代为审批）" in (await tg.send(ZHAO, "/issue W0001")).text


async def test_a_leave_entered_the_day_it_begins_tells_the_stand_in_at_once_what_waits(
        telegram: TelegramHarness) -> None:
    """W0001 went up to 刘文华 on Tuesday; on Wednesday morning he enters his leave from that day with 陈建国
    standing in: 陈建国 is told at once that W0001 waits at the 包抓领导's level, and not again by the tick."""
    desk = await bind_everyone(telegram)
    tg = desk.tg
    await bind_directly(tg, CHEN, "陈建国")
    await desk.raise_w0001()
    assert LIU in (await desk.escalate_to_lead()).chats
    desk.travel(nov(18, 9, 0))
    assert "已登记请假" in (await tg.send(LIU, "/leave 11-18 11-20 陈建国")).text
    inbox = await desk.deliver()
    told = inbox.texts(CHEN)
    waiting = [t for t in told if "请假前已报 刘文华、尚待处理的事项" in t]
    assert len(waiting) == 1 and "已上报至包抓领导、待您批示或协调的问题（1）：W0001" in waiting[0], told
    assert inbox.labels(CHEN)[-1] == [["W0001 批示", "W0001 详情"]], inbox
    desk.travel(nov(18, 9, 10))
    await desk.tick()
    assert not any("尚待处理" in t for t in (await desk.deliver()).texts(CHEN))
    assert "W0001 请输入批示内容" in (await tg.press(CHEN, "W0001 批示")).text
    assert "批示已送达" in (await tg.send(CHEN, "请住建局今天受理")).text
    assert "（包抓领导 刘文华 请假，由代理人 陈建国 代为批示）" in (await tg.send(ZHAO, "/issue W0001")).text


async def test_the_stand_in_notices_buttons_are_refused_once_the_leave_is_over(telegram: TelegramHarness) -> None:
    """The acts on 陈建国's notice are the card's: pressed after 刘文华's leave (Tuesday only) has ended, they are
    refused as the card's would be, and nothing is decided or written in 刘文华's place."""
    desk = await extension_asked(telegram)
    tg = desk.tg
    await desk.deliver()
    assert "已登记请假" in (await tg.send(LIU, "/leave 11-17 11-17 陈建国")).text
    desk.travel(nov(17, 0, 5))
    await desk.tick()
    assert ["W0001 同意延期", "W0001 不同意", "W0001 详情"] in (await desk.deliver()).labels(CHEN)[-1]

    desk.travel(nov(18, 9, 0))  # Wednesday: 刘文华 holds his level again
    refused = await tg.press(CHEN, "W0001 同意延期")
    back = "刘文华 2026-11-17 至 2026-11-17 的请假已结束，此事已交回 刘文华 本人处理，您不再代为处理。"
    assert refused.text == f"W0001 的延期申请由上一层级审批，您不在其中。\n{back}", refused
    assert (await tg.send(CHEN, "/issue W0001")).text == f"没有找到问题 W0001，或您无权查看。\n{back}"
    assert (await tg.send(ZHAO, "/issue W0099")).text == "没有找到问题 W0099，或您无权查看。"
    assert await desk.events() == ["raised", "answered", "extension_requested"]
    card = await tg.send(LIU, "/issue W0001")
    assert "同意延期" in card.buttons, card  # still his to decide
