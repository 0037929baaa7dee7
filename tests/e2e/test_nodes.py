"""Milestones (节点) end to end through the real Application and the fake Bot API, on the frozen clock: an
admin plans nodes, the liaison marks one done on time, two are missed (told on the first working day after
the weekend, one message per person), escalate to the 包抓领导 after the setting's working days, and one is
then marked done late, which closes its problem.

ZD2026-002 (滨江四期沿江路) has liaison 武杰 (1002), lead unit 区城管局 (handler 邓静, 3010) and 包抓领导 周海燕.
"""

from __future__ import annotations

from sqlalchemy import select

from bot.config import Settings
from bot.domain.messages import Incoming
from bot.domain.nodes import node_state
from jobs import escalation
from jobs import nodes as node_job
from storage.models import AuditEntry, NodePhoto, Problem, ProblemEvent, Project, ProjectNode
from tests.e2e.harness import TelegramHarness
from tests.e2e.test_digests import Office, at, data_dir, imported, settings, to  # noqa: F401 - fixtures

WU, DENG, ZHOU, LI_HT, ADMIN = 1002, 3010, 2001, 1003, 9001
CODE = "ZD2026-002"


async def _node(tg: TelegramHarness, name: str) -> ProjectNode:
    async with tg.session() as session:
        project_id = (await session.scalars(select(Project.id).where(Project.code == CODE))).one()
        return (await session.scalars(select(ProjectNode).where(ProjectNode.project_id == project_id,
                                                                ProjectNode.name == name))).one()


async def _node_problems(tg: TelegramHarness) -> list[Problem]:
    """The node problems of ZD2026-002 (the sample ledger's own overdue nodes have theirs)."""
    async with tg.session() as session:
        found = (await session.scalars(select(Problem).join(Project, Project.id == Problem.project_id)
                                       .where(Problem.kind == "node", Project.code == CODE)
                                       .order_by(Problem.id))).unique().all()
        return list(found)


async def test_nodes_done_on_time_missed_escalated_and_done_late(imported: TelegramHarness,  # noqa: F811
                                                                settings: Settings) -> None:  # noqa: F811
    tg = imported
    office = Office(tg, settings)
    await office.setup((WU, "武杰", "liaison"), (DENG, "邓静", "unit"), (ZHOU, "周海燕", "lead"),
                       (LI_HT, "李海涛", "liaison"))
    await tg.bind(ADMIN, "管理员(区重大项目办)", "admin")
    renderer = tg.core.deps.renderer

    # Tuesday 1 December: the office plans three nodes (and is told what it did, in one card)
    office.travel(at(12, 1, 10))
    for name, day in (("场地平整", "2026-12-03"), ("围挡施工", "2026-12-04"), ("临时用电", "2026-12-04")):
        card = await tg.send(ADMIN, f"/node {CODE} 新增 {name} {day}")
        assert f"已新增节点：「{name}」，计划 {day}" in card.text, card.text
    taken = await tg.send(ADMIN, f"/node {CODE} 新增 围挡施工 2026-12-05")
    assert "已有名为「围挡施工」的节点" in taken.text
    found = await tg.send(ADMIN, "/node 滨江")
    assert "滨江四期沿江路 节点计划" in found.text and "◇ 场地平整：计划 2026-12-03" in found.text

    # Wednesday: the liaison marks 场地平整 done today, from /report's flow (节点完成) — on time
    office.travel(at(12, 2, 16))
    asked = await tg.send(WU, f"/report {CODE}")
    assert "节点完成" in asked.buttons
    listed = await tg.press(WU, "节点完成")
    assert "场地平整，计划 2026-12-03" in listed.text and f"{CODE} 场地平整" in listed.buttons
    not_his = await tg.send(LI_HT, f"/node {CODE}")
    assert "不是您联络的项目" in not_his.text
    await tg.press(WU, f"{CODE} 场地平整")
    evidence = await tg.press(WU, "今天完成（2026-12-02）")
    assert "完成日期：2026-12-02" in evidence.text
    done = await tg.press(WU, "完成")
    assert "按期完成" in done.text and "已告知牵头单位区城管局" in done.text, done.text
    [told] = to(DENG, await office.deliver())
    assert "节点完成" in told["text"] and "场地平整" in told["text"] and "（按期）" in told["text"]
    listed = await tg.send(WU, "/node")
    assert "场地平整" not in listed.text and "围挡施工" in listed.text
    node = await _node(tg, "场地平整")
    assert node_state(node.planned_on, node.done_on, at(12, 2).date()) == "done"

    # Friday (the planned day) and the weekend: not overdue yet, then no working day to tell anyone
    for moment in (at(12, 4, 18), at(12, 5, 10), at(12, 6, 10), at(12, 7, 8, 30)):
        office.travel(moment)
        told = (await node_job.run(tg.core.db, tg.clock, renderer)).told
        assert [t for t in told if t.startswith(CODE)] == []  # (the sample ledger's own overdue nodes aside)
    await office.deliver()
    # Monday 09:00, the first working day after: the liaison and the unit are told once, one message each
    office.travel(at(12, 7, 9))
    result = await node_job.run(tg.core.db, tg.clock, renderer)
    assert sorted(t for t in result.told if t.startswith(CODE)) == [f"{CODE}:临时用电", f"{CODE}:围挡施工"]
    sent = await office.deliver()
    [wu], [deng] = to(WU, sent), to(DENG, sent)
    assert "节点逾期提醒" in wu["text"] and "围挡施工" in wu["text"] and "临时用电" in wu["text"]
    assert "节点逾期提醒" in deng["text"] and to(ZHOU, sent) == []
    assert (await node_job.run(tg.core.db, tg.clock, renderer)).told == []  # a second run tells nobody
    assert to(WU, await office.deliver()) == []
    problems = await _node_problems(tg)
    assert [(p.category, p.level, p.status) for p in problems] == [("节点逾期", 0, "open")] * 2
    # 3 working days after Friday the 4th: Wednesday the 9th at the end of the day
    assert {p.resolution_due_at for p in problems} == {at(12, 9, 17, 30)}
    issues = await tg.send(WU, "/issues")
    assert problems[0].number in issues.text and "节点逾期" in issues.text
    refused = await tg.send(DENG, f"/resolved {problems[0].number} 已处理")
    assert "标记节点完成" in refused.text and "自动销号" in refused.text

    # Wednesday after 17:30: not done in time, both go to the 包抓领导 through the escalation tick
    office.travel(at(12, 9, 17, 35))
    ticked = await escalation.run(tg.core.db, tg.clock, renderer)
    assert {f"{p.number}:escalate:1" for p in problems} <= set(ticked.actions)
    sent = await office.deliver()
    [zhou] = to(ZHOU, sent)
    assert "问题办理提醒" in zhou["text"] and "完成节点" in zhou["text"]
    assert [p.level for p in await _node_problems(tg)] == [1, 1]

    # Thursday: the liaison marks 围挡施工 done on the 8th, late, with a photo and a note
    office.travel(at(12, 10, 10))
    await tg.send(WU, "/node")
    await tg.press(WU, f"{CODE} 围挡施工")
    future = await tg.send(WU, "2026-12-11")
    assert "还没到" in future.text
    # a done day is a past day, read as every past day is: 明天 is none, and 12月11日 (tomorrow) not yet come,
    # never the 11 December a year back
    assert "「明天」不是有效的日期" in (await tg.send(WU, "明天")).text
    assert "还没到" in (await tg.send(WU, "12月11日")).text
    assert "完成日期：2026-12-08" in (await tg.send(WU, "周二")).text  # Tuesday of this week
    await tg.photo(WU, file_id="fence-photo")
    noted = await tg.send(WU, "围挡已全部封闭")
    assert "照片 1 张" in noted.text and "逾期完成" in noted.text
    late = await tg.press(WU, "完成")
    assert "逾期 4 天完成" in late.text and "已随之销号" in late.text, late.text
    sent = await office.deliver()
    assert any("已随之销号" in c["text"] for c in to(ZHOU, sent))  # the 包抓领导 it had reached hears it
    assert any("（逾期 4 天）" in c["text"] for c in to(DENG, sent))
    node = await _node(tg, "围挡施工")
    assert node_state(node.planned_on, node.done_on, at(12, 10).date()) == "late" and node.note == "围挡已全部封闭"
    async with tg.session() as session:
        photos = (await session.scalars(select(NodePhoto).where(NodePhoto.node_id == node.id))).all()
        assert [p.file_id for p in photos] == ["fence-photo"]
        problem = await session.get(Problem, node.problem_id)
        assert problem is not None and problem.status == "closed" and problem.next_check_at is None
        kinds = (await session.scalars(select(ProblemEvent.kind).where(ProblemEvent.problem_id == problem.id)
                                       .order_by(ProblemEvent.id))).all()
        assert list(kinds) == ["raised", "escalated", "node_done"]
        actions = set((await session.scalars(select(AuditEntry.action).where(AuditEntry.object_key == CODE))).all())
        assert {"node.add", "node.done"} <= actions
        closing = (await session.scalars(select(ProblemEvent).where(ProblemEvent.problem_id == problem.id,
                                                                    ProblemEvent.kind == "node_done"))).one()
        assert (closing.text, closing.detail) == ("", {"node": "围挡施工", "done_on": "2026-12-08", "late_days": 4})
    card = await tg.send(WU, f"/issue {problem.number}")
    assert "节点完成，自动销号：2026-12-08 完成（逾期 4 天）" in card.text, card.text
    # the other one is still open at the 包抓领导's level, and escalation goes on as for any problem
    still = [p for p in await _node_problems(tg) if p.status != "closed"]
    assert len(still) == 1 and still[0].level == 1

    # the office moves it: the problem closes (its history says why), and a new miss would be told again
    moved = await tg.send(ADMIN, f"/node {CODE} 改期 临时用电 2026-12-18")
    assert "已改期：「临时用电」，计划 2026-12-18" in moved.text
    assert [p.status for p in await _node_problems(tg)] == ["closed", "closed"]
    moved_card = await tg.send(ADMIN, f"/issue {still[0].number}")
    assert "节点计划调整，自动销号：计划完成日期 2026-12-04 → 2026-12-18" in moved_card.text, moved_card.text
    assert (await _node(tg, "临时用电")).overdue_told_on is None
    gone = await tg.send(ADMIN, f"/node {CODE} 移出 临时用电")
    assert "已移出计划" in gone.text and "临时用电" not in gone.text.split("节点计划", 1)[1]
    assert (await _node(tg, "临时用电")).removed_at is not None


async def test_the_setting_is_changed_where_the_other_deadlines_are(imported: TelegramHarness,  # noqa: F811
                                                                    settings: Settings) -> None:  # noqa: F811
    tg = imported
    await tg.bind(ADMIN, "管理员(区重大项目办)", "admin")
    shown = await tg.send(ADMIN, "/sla")
    assert "节点逾期：计划完成日期后 3 个工作日" in shown.text
    changed = await tg.send(ADMIN, "/sla node 5")
    assert "节点逾期：计划完成日期后 5 个工作日" in changed.text
    bad = await tg.send(ADMIN, "/sla node 0")
    assert "1 到 250" in bad.text
    helped = await tg.send(ADMIN, "/help")
    assert "/node" in helped.text


async def test_a_redelivered_done_press_records_the_node_once(imported: TelegramHarness,  # noqa: F811
                                                              settings: Settings) -> None:  # noqa: F811
    tg = imported
    office = Office(tg, settings)
    await office.setup((WU, "武杰", "liaison"), (DENG, "邓静", "unit"))
    office.travel(at(12, 2, 10))
    listed = await tg.send(WU, "/node")
    assert f"{CODE} 施工许可" in listed.buttons  # from the sample ledger's 项目节点计划
    await tg.press(WU, f"{CODE} 施工许可")
    await tg.press(WU, "今天完成（2026-12-02）")
    _message, done_data = tg.fake.find_button(WU, label="完成")
    press = Incoming(channel="telegram", user_id=str(WU), chat_id=str(WU), callback_data=done_data,
                     key="telegram:callback:redelivered")
    first = await tg.core.router.handle(press)
    second = await tg.core.router.handle(press)  # the same press delivered again
    assert "已记录" in first.replies[0].html and second.replies == []
    async with tg.session() as session:
        done = (await session.scalars(select(AuditEntry).where(AuditEntry.action == "node.done"))).all()
    assert [a.detail["name"] for a in done] == ["施工许可"]
    assert len(to(DENG, await office.deliver())) == 1


async def test_while_the_liaison_is_on_leave_his_substitute_is_told_and_marks_the_node(
        imported: TelegramHarness, settings: Settings) -> None:  # noqa: F811
    tg = imported
    office = Office(tg, settings)
    await office.setup((WU, "武杰", "liaison"), (DENG, "邓静", "unit"), (LI_HT, "李海涛", "liaison"))
    await tg.bind(ADMIN, "管理员(区重大项目办)", "admin")
    office.travel(at(12, 4, 10))
    await tg.send(ADMIN, f"/node {CODE} 新增 围挡施工 2026-12-04")
    assert "已登记" in (await tg.send(WU, "/leave 12-07 12-09 李海涛")).text
    await office.deliver()
    office.travel(at(12, 7, 9, 5))
    await node_job.run(tg.core.db, tg.clock, tg.core.deps.renderer)
    sent = await office.deliver()
    assert any("围挡施工" in c["text"] for c in to(LI_HT, sent)) and not any(
        "围挡施工" in c["text"] for c in to(WU, sent))
    await tg.send(LI_HT, "/node")
    await tg.press(LI_HT, f"{CODE} 围挡施工")
    await tg.press(LI_HT, "今天完成（2026-12-07）")
    done = await tg.press(LI_HT, "完成")
    assert "逾期 3 天完成" in done.text and "已随之销号" in done.text, done.text
