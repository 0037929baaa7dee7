"""/project_set, /approval (前期手续 shown on /project) and /assign (改派), through the Router with console
accounts on a copy of the sample ledger.

ZD2026-001 城北高速连接线: 在建, total 68,000, annual plan 40,800 万元, 2026-07-01 to 2027-12-30, lead official
刘文华, lead unit 区住建局 (handler 赵芳), supporting 区工信局、区发改局、城北街道, liaison 郝芳.
区发改局's handler is 王刚. ZD2026-003 is 前期, ZD2026-005 在建.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from bot.domain.workdays import WorkCalendar
from bot.services.standings import compute_standings
from storage import people, stage_events
from storage.models import OutboxMessage, Person, Problem, ProblemEvent, Project, ProjectApproval, StageEvent
from tests.admin.admin_support import ADMIN_NAME, Desk

CODE = "ZD2026-001"


async def admin(desk: Desk, text: str) -> str:
    return await desk.send(ADMIN_NAME, text)


async def project(desk: Desk, code: str = CODE) -> Project:
    async with desk.session() as session:
        found = await session.scalar(select(Project).where(Project.code == code))
        assert found is not None
        return found


async def person(desk: Desk, name: str) -> Person:
    async with desk.session() as session:
        [found] = await people.find_people_by_name(session, name=name)
        return found


async def test_non_admins_have_no_permission_and_nothing_changes(desk: Desk) -> None:
    for command in (f"/project_set {CODE} 年度计划 1", f"/approval {CODE} 环评 done", "/assign W0001 区发改局"):
        assert "没有权限" in await desk.send("郝芳", command), command
    assert (await project(desk)).annual_plan == Decimal(40800)
    async with desk.session() as session:
        assert await session.scalar(select(ProjectApproval)) is None


# --- /project_set ----------------------------------------------------------------------------------


async def test_money_fields_take_chinese_or_english_names_and_are_audited(desk: Desk) -> None:
    reply = await admin(desk, f"/project_set {CODE} 年度计划 45000")
    assert "年度计划投资：40,800.0 万元 → 45,000.0 万元" in reply
    assert (await project(desk)).annual_plan == Decimal(45000)

    await admin(desk, f"/project_set {CODE} total 7.2亿")
    assert (await project(desk)).total_investment == Decimal(72000)

    [plan, total] = await desk.audits("project.update")
    assert plan.detail == {"field": "plan", "before": "40,800.0 万元", "after": "45,000.0 万元"}
    trail = await admin(desk, f"/audit {CODE}")
    assert f"{ADMIN_NAME}（控制台） 修改项目信息：年度计划投资 40,800.0 万元 → 45,000.0 万元" in trail
    assert "总投资 68,000.0 万元 → 72,000.0 万元" in trail
    assert (plan.actor, plan.channel, plan.object_key) == (ADMIN_NAME, "console", CODE)
    assert total.detail["field"] == "total"


async def test_bad_values_are_refused_in_chinese(desk: Desk) -> None:
    assert "没有「颜色」这个字段" in await admin(desk, f"/project_set {CODE} 颜色 红")
    assert "无法识别金额「abc」" in await admin(desk, f"/project_set {CODE} plan abc")
    assert "不能超过总投资（68,000.0 万元）" in await admin(desk, f"/project_set {CODE} 年度计划 9亿")
    assert "只能是：谋划、前期、在建、竣工、投产" in await admin(desk, f"/project_set {CODE} 建设阶段 完工")
    assert "不是有效日期" in await admin(desk, f"/project_set {CODE} 计划竣工 明年")
    assert "不能晚于计划竣工（2027-12-30）" in await admin(desk, f"/project_set {CODE} start 2028-01-01")
    assert "没有找到项目「ZD2099-001」" in await admin(desk, "/project_set ZD2099-001 stage 在建")
    assert "用法" in await admin(desk, f"/project_set {CODE} stage")
    assert "已经是 在建" in await admin(desk, f"/project_set {CODE} stage 在建")
    saved = await project(desk)
    assert (saved.annual_plan, saved.stage, saved.planned_start) == (Decimal(40800), "在建", date(2026, 7, 1))
    assert await desk.audits("project.update") == []


async def test_stage_and_dates(desk: Desk) -> None:
    await admin(desk, f"/project_set {CODE} 阶段 竣工")
    assert "计划开工：2026-07-01 → 2026-08-01" in await admin(desk, f"/project_set {CODE} 计划开工 2026年8月1日")
    saved = await project(desk)
    assert (saved.stage, saved.planned_start) == ("竣工", date(2026, 8, 1))


async def _stage_events(desk: Desk, code: str) -> list[tuple[str, date, str]]:
    async with desk.session() as session:
        rows = await session.execute(select(StageEvent.kind, StageEvent.day, StageEvent.state)
                                     .join(Project, Project.id == StageEvent.project_id)
                                     .where(Project.code == code).order_by(StageEvent.id))
        return [tuple(row) for row in rows.all()]


async def test_a_project_set_finished_is_so_from_the_day_typed_or_the_day_of_the_change(desk: Desk) -> None:
    """On Friday 2026-11-20: 竣工 with the day it finished typed after it, 投产 with none (finished today); set
    back to 在建, open again from today; the audit says each day and where it came from."""
    reply = await admin(desk, f"/project_set {CODE} 阶段 竣工 2026-11-16")
    assert "建设阶段：在建 → 竣工" in reply
    assert await _stage_events(desk, CODE) == [("finish", date(2026, 11, 16), "confirmed")]
    project_id = (await project(desk)).id
    async with desk.session() as session:
        assert await stage_events.finish_day(session, project_id=project_id) == date(2026, 11, 16)
    await admin(desk, "/project_set ZD2026-005 stage 投产")
    assert await _stage_events(desk, "ZD2026-005") == [("finish", date(2026, 11, 20), "confirmed")]

    assert "不晚于今天" in await admin(desk, "/project_set ZD2026-003 阶段 竣工 2026-11-21")
    assert "只有由谋划、前期改为在建" in await admin(desk, "/project_set ZD2026-003 阶段 谋划 2026-11-19")
    assert (await project(desk, "ZD2026-003")).stage == "前期" and await _stage_events(desk, "ZD2026-003") == []
    assert "已经是 投产" in await admin(desk, "/project_set ZD2026-005 stage 投产")
    assert "竣工 2026-11-20" in await admin(desk, f"/project_set {CODE} stage")  # the usage shows how

    await admin(desk, f"/project_set {CODE} 阶段 在建")
    assert [kind for kind, _, _ in await _stage_events(desk, CODE)] == ["finish", "reopen"]
    [finished, _, reopened] = await desk.audits("project.update")
    assert finished.detail == {"field": "stage", "before": "在建", "after": "竣工", "stage_move": "finish",
                               "stage_day": "2026-11-16", "stage_day_from": "typed"}
    assert reopened.detail["stage_move"] == "reopen" and reopened.detail["stage_day_from"] == "change"
    trail = await admin(desk, f"/audit {CODE}")
    assert "建设阶段 在建 → 竣工；竣工日期 2026-11-16（管理员填写）" in trail, trail
    assert "建设阶段 竣工 → 在建；恢复跟踪自 2026-11-20（未给出日期，按修改当天）" in trail, trail
    assert "竣工日期 2026-11-20（未给出日期，按修改当天）" in await admin(desk, "/audit ZD2026-005")


async def test_a_project_set_started_is_so_from_the_day_typed_or_the_day_of_the_change(desk: Desk) -> None:
    """On Friday 2026-11-20: 前期 → 在建 with the day it started typed records its 开工 from that day, and the
    audit says so; 在建 with no day, today."""
    assert "建设阶段：前期 → 在建" in await admin(desk, "/project_set ZD2026-003 阶段 在建 2026-11-19")
    assert await _stage_events(desk, "ZD2026-003") == [("start", date(2026, 11, 19), "confirmed")]
    assert "开工日期 2026-11-19（管理员填写）" in await admin(desk, "/audit ZD2026-003")
    await admin(desk, "/project_set ZD2026-003 阶段 前期")  # a mistake: set back, its 开工 taken back
    await admin(desk, "/project_set ZD2026-003 阶段 在建")
    assert await _stage_events(desk, "ZD2026-003") == [("start", date(2026, 11, 19), "withdrawn"),
                                                        ("start", date(2026, 11, 20), "confirmed")]
    assert "在建 2026-03-01" in await admin(desk, "/project_set ZD2026-003 stage")  # the usage shows how


async def _start_figures(desk: Desk, code: str) -> tuple[int, int, bool, date | None]:
    """开工率 (started, counted) of today's standings, whether ``code`` is listed 应开工未开工, and its 开工 day."""
    today = desk.core.clock.now().date()
    async with desk.session() as session:
        s = await compute_standings(session, period="x", cutoff=today, window_start=today, calendar=WorkCalendar())
    [found] = [p for p in s.projects if p.code == code]
    return s.start_rate.numerator, s.start_rate.denominator, found in s.not_started, found.started_on


async def test_a_started_project_set_back_before_its_start_has_its_start_taken_back(desk: Desk) -> None:
    """An admin who set ZD2026-003 在建 by mistake sets it back to 前期: its 开工 is taken back (kept, marked 撤销,
    and the audit says which), so that it is 前期 on every day: no 开工 day, 开工率 as before the mistake (a
    project planned to start next year is not counted in this year's for a 开工 that never was), listed
    应开工未开工 once its planned start is past. A project with a 竣工 after its 开工 cannot go back before it."""
    await admin(desk, "/project_set ZD2026-003 计划开工 2027-03-01")
    before = await _start_figures(desk, "ZD2026-003")
    assert before[2:] == (False, None)
    await admin(desk, "/project_set ZD2026-003 阶段 在建 2026-11-19")
    assert await _start_figures(desk, "ZD2026-003") == (before[0] + 1, before[1] + 1, False, date(2026, 11, 19))

    reply = await admin(desk, "/project_set ZD2026-003 阶段 前期")
    assert "建设阶段：在建 → 前期" in reply and "撤销 2026-11-19 的开工登记" in reply, reply
    assert (await project(desk, "ZD2026-003")).stage == "前期"
    assert await _stage_events(desk, "ZD2026-003") == [("start", date(2026, 11, 19), "withdrawn")]
    assert await _start_figures(desk, "ZD2026-003") == before
    assert "建设阶段 在建 → 前期；撤销开工 2026-11-19" in await admin(desk, "/audit ZD2026-003")
    await admin(desk, "/project_set ZD2026-003 计划开工 2026-11-01")
    assert (await _start_figures(desk, "ZD2026-003"))[2] is True  # 应开工未开工, as it is

    await admin(desk, "/project_set ZD2026-005 阶段 竣工 2026-11-18")  # 在建 with no 开工 recorded: finished
    await admin(desk, "/project_set ZD2026-005 阶段 在建")
    refused = await admin(desk, "/project_set ZD2026-005 阶段 前期")
    assert "已登记竣工" in refused and "不能退回开工前" in refused, refused
    assert (await project(desk, "ZD2026-005")).stage == "在建"


async def test_people_fields_name_roster_people_and_grant_their_role(desk: Desk) -> None:
    reply = await admin(desk, f"/project_set {CODE} 联络员 赵芳")
    assert "联络员：郝芳 → 赵芳" in reply and "已为 赵芳 增加角色：联络员" in reply
    zhao = await person(desk, "赵芳")
    assert "liaison" in zhao.role_names and (await project(desk)).liaison_id == zhao.id
    assert [e.detail for e in await desk.audits("person.grant_role")] == [{"role": "liaison"}]

    assert "包抓领导：刘文华 → 陈建国" in await admin(desk, f"/project_set {CODE} lead 陈建国")
    assert (await project(desk)).lead_official_id == (await person(desk, "陈建国")).id
    assert "人员名单中没有「诸葛亮」" in await admin(desk, f"/project_set {CODE} 包抓领导 诸葛亮")
    assert "包抓领导：陈建国 → 刘文华" in await admin(desk, f"/project_set {CODE} 领导 刘文华")  # as README lists it
    await admin(desk, f"/project_set {CODE} lead 陈建国")
    await admin(desk, "/deactivate 严超")
    assert "严超 已停用，不能担任联络员" in await admin(desk, f"/project_set {CODE} liaison 严超")
    assert (await project(desk)).liaison_id == zhao.id


async def test_units_must_exist_and_not_be_both_lead_and_supporting(desk: Desk) -> None:
    assert "不能既是牵头单位又是配合单位" in await admin(desk, f"/project_set {CODE} 牵头单位 区发改局")
    assert "没有名为「火星局」的单位" in await admin(desk, f"/project_set {CODE} 牵头单位 火星局")
    assert "您是否要找：区水务局" in await admin(desk, f"/project_set {CODE} 配合单位 水务")
    assert "牵头单位：区住建局 → 区水务局" in await admin(desk, f"/project_set {CODE} unit 区水务局")

    reply = await admin(desk, f"/project_set {CODE} 配合单位 河西镇、区住建局,河西镇")
    assert "配合单位：区工信局、区发改局、城北街道 → 河西镇、区住建局" in reply
    async with desk.session() as session:
        saved = await session.scalar(select(Project).where(Project.code == CODE))
        assert saved is not None
        assert [s.unit.name for s in saved.supporting] == ["河西镇", "区住建局"]
        assert saved.lead_unit.name == "区水务局"
    assert "→ —" in await admin(desk, f"/project_set {CODE} supporting 无")
    assert (await project(desk)).supporting == []


# --- /approval -------------------------------------------------------------------------------------


async def test_approvals_are_recorded_audited_and_shown_on_project(desk: Desk) -> None:
    reply = await admin(desk, f"/approval {CODE} 环评 done 2026-11-20")
    assert "已登记 ZD2026-001 城北高速连接线 的环评：已办结（2026-11-20）" in reply
    await admin(desk, f"/approval {CODE} 立项 完成 2026-03-02")
    await admin(desk, f"/approval {CODE} 施工许可 done")  # today

    card = await desk.send("郝芳", f"/project {CODE}")

    assert "前期手续：立项✅（2026-03-02） 规划选址⬜ 用地预审⬜ 环评✅（2026-11-20） 能评⬜ 初步设计⬜ " \
           "施工许可✅（2026-11-20） 征地拆迁⬜" in card
    [entry, *_] = await desk.audits("approval.set")
    assert entry.detail == {"item": "环评", "status": "done", "done_on": "2026-11-20", "before": None}
    assert (entry.actor, entry.channel, entry.object_key) == (ADMIN_NAME, "console", CODE)

    assert "环评：未办结" in await admin(desk, f"/approval {CODE} 环评 pending")
    async with desk.session() as session:
        row = await session.scalar(select(ProjectApproval).where(ProjectApproval.item == "环评"))
        assert row is not None and (row.status, row.done_on, row.updated_by) == ("pending", None, ADMIN_NAME)
    last = (await desk.audits("approval.set"))[-1]
    assert last.detail["before"] == {"status": "done", "done_on": "2026-11-20"}
    assert "环评⬜" in await desk.send("郝芳", f"/project {CODE}")


async def test_the_checklist_shows_for_projects_in_preparation_only_unless_recorded(desk: Desk) -> None:
    assert "前期手续：立项⬜ 规划选址⬜" in await desk.send(ADMIN_NAME, "/project ZD2026-003")  # 前期
    assert "前期手续" not in await desk.send(ADMIN_NAME, "/project ZD2026-005")  # 在建, nothing recorded
    assert "前期手续：立项⬜" in await admin(desk, "/approval ZD2026-005")


async def test_approval_refusals(desk: Desk) -> None:
    assert "没有「消防」这项前期手续" in await admin(desk, f"/approval {CODE} 消防 done")
    assert "晚于今天" in await admin(desk, f"/approval {CODE} 环评 done 2026-12-20")
    assert "办结日期「2026-13-01」不是有效日期" in await admin(desk, f"/approval {CODE} 环评 done 2026-13-01")
    assert "用法" in await admin(desk, f"/approval {CODE} 环评 差不多")
    assert "没有找到项目" in await admin(desk, "/approval ZD2099-001 环评 done")
    async with desk.session() as session:
        assert await session.scalar(select(ProjectApproval)) is None


# --- /assign ---------------------------------------------------------------------------------------


async def test_assign_moves_the_problem_restarts_its_clock_and_tells_everyone(desk: Desk) -> None:
    await desk.send("郝芳", f"/issue {CODE} 审批手续 施工许可迟迟未批")
    await desk.send("赵芳", "/accept W0001")
    await desk.send("赵芳", "/reassign W0001 应由发改局牵头")
    desk.core.clock.advance(hours=30)  # Sat 16:00: the fresh clock starts now

    reply = await admin(desk, "/assign W0001 区发改局 属发改职能")

    assert "已将 W0001 从 区住建局 改派至 区发改局" in reply and "已通知 区发改局 的经办人：王刚" in reply
    async with desk.session() as session:
        problem = await session.get(Problem, 1)
        assert problem is not None
        assert (problem.unit.name, problem.status, problem.level) == ("区发改局", "open", 0)
        assert problem.level_started_at == desk.core.clock.now()
        assert problem.response_due_at is not None and problem.response_due_at > desk.core.clock.now()
        query = select(ProblemEvent).where(ProblemEvent.kind == "reassigned")
        events = list((await session.scalars(query)).all())
    assert [(e.text, e.detail["from"], e.detail["to"]) for e in events] == [("属发改职能", "区住建局", "区发改局")]
    [entry] = await desk.audits("problem.assign")
    assert (entry.object_key, entry.actor, entry.channel) == ("W0001", ADMIN_NAME, "console")
    trail = await admin(desk, "/audit W0001")
    assert f"「W0001（{CODE} 的问题）」的修改记录" in trail, trail
    # 赵芳 had asked for it: the assignment answers her request.
    assert f"{ADMIN_NAME}（控制台） 问题改派：从区住建局改派至区发改局（同意单位申请）：属发改职能" in trail
    assert "改派（区住建局→区发改局）：属发改职能" in trail  # worded as on the problem card
    assert "problem" not in trail and "reassigned" not in trail

    wang, zhao, hao = [await person(desk, n) for n in ("王刚", "赵芳", "郝芳")]
    [new] = await desk.notices(wang.id)
    assert "问题改派" in new.payload["html"] and "区发改局" in new.payload["html"]
    assert [b["label"] for row in new.payload["buttons"] for b in row] == ["受理", "答复", "申请改派", "已解决"]
    for told in (zhao, hao):
        moved = [n for n in await desk.notices(told.id) if "改派至" in n.payload["html"]]
        assert len(moved) == 1 and moved[0].payload["buttons"] == [], told.name

    card = await desk.send("郝芳", "/issue W0001")
    assert "改派（区住建局→区发改局）：属发改职能" in card and "责任单位：区发改局" in card
    assert "W0001 已受理" in await desk.send("王刚", "/accept W0001")
    # no longer her unit's: told where it went, as its buttons say
    assert "从 区住建局 改派至 区发改局，不再由 区住建局 办理" in await desk.send("赵芳", "/accept W0001")


async def test_assign_refusals(desk: Desk) -> None:
    await desk.send("郝芳", f"/issue {CODE} 审批手续 施工许可迟迟未批")
    assert "已经由 区住建局 办理" in await admin(desk, "/assign W0001 区住建局")
    assert "对应多个单位" in await admin(desk, "/assign W0001 区")
    assert "没有名为「火星局」的单位" in await admin(desk, "/assign W0001 火星局")
    assert "没有找到问题 W0009" in await admin(desk, "/assign W0009 区发改局")
    assert "用法" in await admin(desk, "/assign W0001")
    await desk.send("赵芳", "/resolved W0001 已协调")
    assert "不能改派" in await admin(desk, "/assign W0001 区发改局")
    async with desk.session() as session:
        problem = await session.get(Problem, 1)
        assert problem is not None and problem.unit.name == "区住建局"
    assert await desk.audits("problem.assign") == []


async def test_amounts_are_kept_to_the_yuan_and_a_tiny_change_is_still_a_change(desk: Desk) -> None:
    reply = await admin(desk, f"/project_set {CODE} plan 40800.04")
    assert "40,800.0 万元 → 40,800.04 万元" in reply
    assert (await project(desk)).annual_plan == Decimal("40800.04")
    assert len(await desk.audits("project.update")) == 1


async def test_the_usage_lists_the_chinese_words_each_field_takes(desk: Desk) -> None:
    usage = await admin(desk, "/project_set")
    assert "- 包抓领导（也可写：领导）" in usage and "- 计划开工（也可写：开工）" in usage, usage
    assert "lead" not in usage and "（name）" not in usage, usage


async def given_notices(desk: Desk, person_id: int) -> list[OutboxMessage]:
    """The notices queued for the person that a project left him (keyed …:given)."""
    return [n for n in await desk.notices(person_id) if n.dedupe_key.partition("|")[0].endswith(":given")]


async def test_the_lead_a_project_leaves_is_told_whom_it_went_to_once_per_change(desk: Desk) -> None:
    """A new 包抓领导 set by /project_set: the previous one is told the project left him and whom it went to (as
    /handover tells the giver), keyed by the change's audit entry: a change back and forth again tells him again."""
    liu, chen = await person(desk, "刘文华"), await person(desk, "陈建国")
    await admin(desk, f"/project_set {CODE} 包抓领导 陈建国")
    [given] = await given_notices(desk, liu.id)
    assert "城北高速连接线 交由 陈建国 包抓" in given.payload["html"] and "不再通知您" in given.payload["html"]
    assert not await given_notices(desk, chen.id)
    await admin(desk, f"/project_set {CODE} 包抓领导 刘文华")
    await admin(desk, f"/project_set {CODE} 包抓领导 陈建国")
    changes = [e.id for e in await desk.audits("project.update") if e.detail.get("field") == "lead"]
    told = sorted(n.dedupe_key.partition("|")[0] for n in await given_notices(desk, liu.id))
    assert told == sorted(f"project:{CODE}:lead:change{c}:given" for c in (changes[0], changes[2])), told
    assert len(await given_notices(desk, chen.id)) == 1
