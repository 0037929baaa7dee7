"""Commands answer what was typed: a usage naming the command used, extra names refused rather than dropped,
and a deadline typed as a day just past refused rather than read as next year's."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.__main__ import main
from storage import people
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Leave, Person, PersonRole, Problem, Unit
from tests.admin.admin_support import ADMIN_NAME, Desk


@pytest.mark.parametrize(("who", "command", "example"), [
    ("赵芳", "/accept", "/accept W0007"),
    ("赵芳", "/answer", "/answer W0007 [下周五] 办理方案"),
    ("赵芳", "/reassign", "/reassign W0007 理由"),
    ("赵芳", "/resolved", "/resolved W0007 办理结果"),
    ("郝芳", "/confirm", "/confirm W0007"),
    ("郝芳", "/reopen", "/reopen W0007 理由"),
    ("刘文华", "/comment", "/comment W0007 批示内容"),
])
async def test_a_problem_command_without_a_number_shows_its_own_usage(desk: Desk, who: str, command: str,
                                                                      example: str) -> None:
    reply = await desk.send(who, command)
    assert reply == f"请写明问题编号，例如 {example}。"


@pytest.mark.parametrize("command", ["/deactivate 郝芳 武杰", "/deactivate 郝芳 多余", "/person 郝芳 武杰",
                                     "/invite 联络员 郝芳 武杰"])
async def test_a_command_naming_more_than_one_person_changes_nothing(desk: Desk, command: str) -> None:
    reply = await desk.send(ADMIN_NAME, command)
    assert "不止一个人员" in reply and "未做任何修改" in reply, reply
    async with desk.session() as session:
        [hao] = await people.find_people_by_name(session, name="郝芳")
        assert hao.active
    assert await desk.audits("person.deactivate") == []


async def test_a_name_with_its_phone_still_names_one_person(desk: Desk) -> None:
    reply = await desk.send(ADMIN_NAME, "/deactivate 郝芳 13900007919")
    assert "已停用 郝芳" in reply, reply
    assert len(await desk.audits("person.deactivate")) == 1


async def test_a_meeting_deadline_just_past_is_refused_not_moved_to_next_year(desk: Desk) -> None:
    # The desk's day is Friday 2026-11-20: 11月19日 is yesterday, not 19 November 2027.
    reply = await desk.send(ADMIN_NAME, "/decide 协调施工用电 区住建局 11月19日")
    assert "W0001" not in reply and "2027" not in reply, reply
    assert "2026-11-19" in reply, reply
    reply = await desk.send(ADMIN_NAME, "/decide 协调施工用电 区住建局 1月8日")  # early next year: next year's
    assert "办结期限：2027-01-08 17:30" in reply, reply


async def test_a_leave_for_someone_who_is_not_a_liaison_is_refused_with_what_to_do(desk: Desk) -> None:
    """A leave only changes a liaison's reporting and a 包抓领导's level; recorded for a unit handler it promised
    what it does not do (no reminders to stop, notices still going to her), so it is refused, saying how her work
    is covered."""
    reply = await desk.send(ADMIN_NAME, "/leave 赵芳 12-10 12-12")
    assert "赵芳 不是联络员或包抓领导，未登记请假" in reply and "/invite 单位经办人 姓名" in reply, reply
    assert await desk.audits("leave.create") == []
    reply = await desk.send(ADMIN_NAME, "/leave 郝芳 12-10 12-12")  # a liaison's is recorded as before
    assert "已登记 郝芳 的请假" in reply, reply
    assert len(await desk.audits("leave.create")) == 1


def test_cli_invite_refuses_a_deactivated_person(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """As the chat's /invite does: a code for someone deactivated could never be redeemed."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'diaodu.sqlite3'}"
    upgrade(url)
    monkeypatch.chdir(tmp_path)  # no .env file to pick settings up from
    monkeypatch.setenv("DATABASE_URL", url)

    async def add_people() -> None:
        db = Database(url)
        async with db.session() as session:
            now = datetime.now(UTC)
            session.add_all([Person(name="武杰", active=False, created_at=now, roles=[PersonRole(role="liaison")]),
                             Person(name="郝芳", active=True, created_at=now, roles=[PersonRole(role="liaison")])])
        await db.dispose()

    asyncio.run(add_people())
    assert main(["invite", "--role", "liaison", "--person", "武杰"]) == 1
    assert "「武杰」已停用，不能为其生成邀请码" in capsys.readouterr().err
    assert main(["invite", "--role", "liaison", "--person", "郝芳"]) == 0
    assert "邀请码：" in capsys.readouterr().out


@pytest.mark.parametrize(("values", "unread"), [(["node", "3", "多余"], "多余"),
                                                (["category", "审批手续", "5", "天", "以后"], "天 以后"),
                                                (["end-of-day", "18:00", "起"], "起")])
def test_cli_sla_set_names_the_words_it_cannot_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str], values: list[str],
                                                   unread: str) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'diaodu.sqlite3'}"
    upgrade(url)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)

    assert main(["sla", "set", *values]) == 1
    err = capsys.readouterr().err
    assert f"没有看懂「{unread}」，未做修改。用法：sla set {values[0]} " in err, err
    assert main(["sla", "show"]) == 0
    shown = capsys.readouterr().out
    assert "审批手续 3 天" in shown and "每日截止：17:30" in shown, shown  # nothing changed


async def test_words_after_accept_are_said_not_to_be_kept(desk: Desk) -> None:
    await desk.send("郝芳", "/issue ZD2026-001 用地 征地未完成")
    reply = await desk.send("赵芳", "/accept W0001 下周二前办结")
    assert "W0001 已受理" in reply and "「下周二前办结」未保存" in reply and "/answer W0001" in reply, reply
    assert "未保存" not in await desk.send("赵芳", "/resolved W0001 已签约")
    reply = await desk.send("郝芳", "/confirm W0001 谢谢")
    assert "W0001 已确认销号" in reply and "「谢谢」未保存" in reply, reply


async def add_second_hao(desk: Desk) -> int:
    """Another liaison named 郝芳 (区教育局, 13911112222); returns her id."""
    async with desk.session() as session:
        unit = await session.scalar(select(Unit).where(Unit.name == "区教育局"))
        other = Person(name="郝芳", phone="13911112222", unit=unit, active=True, created_at=desk.core.clock.now(),
                       roles=[PersonRole(role="liaison")])
        session.add(other)
        await session.flush()
        return other.id


async def test_an_admins_leave_for_a_shared_name_offers_the_namesakes_and_records_the_one_picked(desk: Desk) -> None:
    other = await add_second_hao(desk)
    reply = await desk.send(ADMIN_NAME, "/leave 郝芳 12-10 12-12")
    assert "人员名单中有多位「郝芳」，请点击下方按钮选择请假人员" in reply, reply
    assert desk.labels(ADMIN_NAME) == ["郝芳 区住建局 139****7919", "郝芳 区教育局 139****2222"]
    assert await desk.audits("leave.create") == []  # nothing recorded before the pick
    reply = await desk.press(ADMIN_NAME, "郝芳 区教育局 139****2222")
    assert "已登记 郝芳 的请假：2026-12-10 至 2026-12-12" in reply, reply
    [entry] = await desk.audits("leave.create")
    assert entry.object_key == str(other)
    again = await desk.tap(ADMIN_NAME, f"lv:p:{other}")  # a second press records nothing
    assert "已登记" not in again
    assert len(await desk.audits("leave.create")) == 1


async def test_a_substitute_sharing_a_name_is_named_by_phone(desk: Desk) -> None:
    other = await add_second_hao(desk)
    reply = await desk.send("武杰", "/leave 12-10 12-12 郝芳")
    assert "无法确定代理人是哪一位" in reply and "手机号" in reply, reply
    reply = await desk.send("武杰", "/leave 12-10 12-12 13911112222")
    assert "已登记" in reply, reply
    [entry] = await desk.audits("leave.create")
    assert entry.detail["substitute"] == "郝芳"
    async with desk.session() as session:
        leave = await session.scalar(select(Leave))
        assert leave is not None and leave.substitute_id == other


async def test_an_admins_reopen_of_a_liaisons_problem_says_only_the_raiser_may_send_it_back(desk: Desk) -> None:
    """An admin may 确认销号 for the raiser but not send it back: the refusal must not say he may do neither."""
    await desk.send("郝芳", "/issue ZD2026-001 用地 征地未完成")
    await desk.send("赵芳", "/resolved W0001 已签约")
    reply = await desk.send(ADMIN_NAME, "/reopen W0001 还有两户")
    assert reply == "只有问题提出人（郝芳）可以退回 W0001（未解决）。", reply
    reply = await desk.send("武杰", "/confirm W0001")
    assert "没有找到问题 W0001" in reply  # not his to see at all


async def test_the_old_units_command_on_a_moved_problem_says_where_it_went(desk: Desk) -> None:
    """As its buttons do: 赵芳 typing /answer after the 项目办 moved W0001 is told it went to 区工信局, not that
    there is no such problem."""
    await desk.send("郝芳", "/issue ZD2026-001 用地 征地未完成")
    await desk.send(ADMIN_NAME, "/assign W0001 区工信局 属工信职能")
    reply = await desk.send("赵芳", "/answer W0001 已协调")
    assert "从 区住建局 改派至 区工信局，不再由 区住建局 办理" in reply, reply
    async with desk.session() as session:
        problem = await session.get(Problem, 1)
        assert problem is not None and problem.answer_text is None
    assert "没有找到问题 W0001" in await desk.send("邓静", "/answer W0001 已协调")  # never her unit's: as before


async def test_a_handover_tells_the_new_raiser_which_problems_already_wait_for_his_confirmation(desk: Desk) -> None:
    await desk.send("郝芳", "/issue ZD2026-001 用地 征地未完成")
    await desk.send("郝芳", "/issue ZD2026-001 资金 拨付未到位")
    await desk.send("赵芳", "/resolved W0001 已签约")
    await desk.send(ADMIN_NAME, "/deactivate 郝芳")
    await desk.send(ADMIN_NAME, "/handover 郝芳 严超")
    async with desk.session() as session:
        [yan] = await people.find_people_by_name(session, name="严超")
    [notice] = [n for n in await desk.notices(yan.id) if "工作移交" in n.payload["html"]]
    html = notice.payload["html"]
    assert "W0001（责任单位已报告解决，待您确认：<code>/confirm W0001</code>" in html, html
    assert "W0002（" not in html  # still with the unit: nothing to confirm yet


@pytest.mark.parametrize(("who", "text", "unread", "usage"), [
    (ADMIN_NAME, "/meeting 2", "2", "发送 /meeting 即可"),
    (ADMIN_NAME, "/export x", "x", "发送 /export 即可"),
    ("郝芳", "/mine ZD2026-001", "ZD2026-001", "发送 /mine 即可"),
    ("郝芳", "/rank 填报 本周", "本周", "用法：/rank 或 /rank 填报"),
    ("郝芳", "/issues 未办", "未办", "用法：/issues、/issues 全部 或 /issues 上报"),
    ("郝芳", "/project ZD2026-001 进度", "进度", "用法：/project 项目编号"),
    ("郝芳", "/node ZD2026-001 路基", "路基", "用法：/node [项目编号]"),
    ("郝芳", "/issue W0001 还没解决", "还没解决", "/issue 问题编号"),
    (ADMIN_NAME, "/import 台账.xlsx", "台账.xlsx", "用法：/import，再发送台账文件"),
    (ADMIN_NAME, "/groups list", "list", "用法：/groups add 群名称"),
    (ADMIN_NAME, "/handover 郝芳 严超 明天起", "明天起", "用法：/handover 原人员 接替人员"),
    (ADMIN_NAME, "/approval ZD2026-001 环评 done 2026-11-20 已盖章", "已盖章", "用法：/approval 项目编号"),
    (ADMIN_NAME, "/approval ZD2026-001 环评 pending 下周", "下周", "用法：/approval 项目编号"),
    (ADMIN_NAME, "/node ZD2026-001 新增 主体封顶 2027-04-30 前", "前", "/node 项目编号 新增"),
    (ADMIN_NAME, "/node ZD2026-001 移出 路基 工程", "工程", "/node 项目编号 新增"),
])
async def test_words_a_command_cannot_use_are_named_with_its_usage_and_nothing_is_done(
        desk: Desk, who: str, text: str, unread: str, usage: str) -> None:
    await desk.send("郝芳", "/issue ZD2026-001 用地 征地未完成")  # W0001
    reply = await desk.send(who, text)
    assert reply.startswith(f"没有看懂「{unread}」，未办理。") and usage in reply, reply
    assert not any(r.attachment for r in desk.last[who].replies)  # no ledger exported
    assert await desk.audits("person.handover") == [] and await desk.audits("approval.set") == []
    assert await desk.audits("node.remove") == []


async def test_every_command_that_reads_no_words_refuses_them(desk: Desk) -> None:
    """Declared once (`Command.words`), checked by the router for every such command."""
    silent = [c for c in desk.router.commands if c.words is not None and not c.words]
    assert {"help", "undo", "mine", "export", "web", "meeting", "outbox"} <= {c.name for c in silent}
    for command in silent:
        who = "郝芳" if "liaison" in command.roles else ADMIN_NAME
        reply = await desk.send(who, f"/{command.name} 多余的话")
        assert reply == f"没有看懂「多余的话」，未办理。发送 /{command.name} 即可，后面不用写其他内容。", reply


async def test_a_guided_flow_goes_on_after_a_command_refused_for_its_words(desk: Desk) -> None:
    assert "请输入本期完成投资" in await desk.send("郝芳", "/report ZD2026-001")
    assert "没有看懂「今天」" in await desk.send("郝芳", "/mine 今天")
    assert "形象进度" in await desk.send("郝芳", "850")  # still the report's amount step


async def test_cancel_with_words_after_it_cancels_all_the_same(desk: Desk) -> None:
    """「/cancel 不填了」: the words are a remark, the wish is plain; refusing it would keep the flow going."""
    assert "请输入本期完成投资" in await desk.send("郝芳", "/report ZD2026-001")
    assert await desk.send("郝芳", "/cancel 不填了") == "已取消。"
    assert await desk.send("郝芳", "/cancel") == "当前没有进行中的操作。"
    assert "形象进度" not in await desk.send("郝芳", "850")


@pytest.mark.parametrize(("text", "unread"), [("/calendar 2027 official extra", "extra"),
                                              ("/calendar 2027 官宣", "官宣"),
                                              ("/calendar 2027-02-06 休假日", "休假日"),
                                              ("/calendar 2027-02-06 auto 春节", "春节"),
                                              ("/schedule 周会 09:00", "周会"),
                                              ("/schedule weekly on 多余", "on 多余")])
async def test_settings_name_the_word_they_did_not_understand(desk: Desk, text: str, unread: str) -> None:
    reply = await desk.send(ADMIN_NAME, text)
    assert reply.startswith(f"没有看懂「{unread}」。"), reply
    assert "已全部录入" not in await desk.send(ADMIN_NAME, "/calendar")  # 2027 was not declared official


async def test_halfmonth_names_the_words_after_the_project_code(desk: Desk) -> None:
    """「/halfmonth ZD2026-001 本期」 was read as the code 「ZD2026-001 本期」 and answered 未找到."""
    reply = await desk.send("郝芳", "/halfmonth ZD2026-001 本期")
    assert reply.startswith("没有看懂「本期」，未办理。"), reply
    assert "/halfmonth" in reply
