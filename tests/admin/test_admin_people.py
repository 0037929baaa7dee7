"""/invite, /people, /person, /deactivate and /handover: through the Router with console accounts, and
/invite end to end through the real Telegram channel against the fake Bot API.

Sample roster: 郝芳 (liaison of ZD2026-001, 区住建局), 赵芳 (the only unit handler of 区住建局),
刘文华 (lead official of ZD2026-001 and others), 严超 (liaison of ZD2026-016), the admin 管理员(区重大项目办).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import Core
from bot.config import Settings
from bot.domain.messages import Incoming
from storage import people
from storage.models import Invite, Person, Problem, Project
from tests.admin.admin_support import ADMIN_NAME, Desk, wire_admin
from tests.e2e.harness import TelegramHarness, e2e_settings
from tests.fakes.bot_api import FakeBotAPI

LINK = re.compile(r"https://t\.me/diaodu_bot\?start=([\w-]+)")


async def _person(desk: Desk, name: str) -> Person:
    async with desk.session() as session:
        [person] = await people.find_people_by_name(session, name=name)
        return person


async def _project(desk: Desk, code: str) -> Project:
    async with desk.session() as session:
        project = await session.scalar(select(Project).where(Project.code == code))
        assert project is not None
        return project


# --- who may ---------------------------------------------------------------------------------------


async def test_non_admins_are_told_they_have_no_permission(desk: Desk) -> None:
    for command in ("/invite 联络员 严超", "/people", "/person 赵芳", "/deactivate 严超", "/handover 郝芳 严超"):
        reply = await desk.send("郝芳", command)
        assert "没有权限" in reply, (command, reply)
    async with desk.session() as session:
        assert await session.scalar(select(Invite)) is None
    assert (await _person(desk, "严超")).active


async def test_a_candidate_button_pressed_by_a_non_admin_is_refused(desk: Desk) -> None:
    target = await _person(desk, "严超")
    liaison = await desk.account("郝芳")
    outcome = await desk.router.handle(Incoming(channel="console", user_id=liaison, chat_id=liaison,
                                                callback_data=f"adp:dea:{target.id}"))
    assert "没有权限" in outcome.replies[0].html
    assert (await _person(desk, "严超")).active


# --- /invite ---------------------------------------------------------------------------------------


async def test_invite_gives_a_link_that_binds_the_person_and_is_audited(desk: Desk) -> None:
    reply = await desk.send(ADMIN_NAME, "/invite 联络员 严超")

    assert "严超" in reply and "联络员" in reply and "有效期至 2026-11-23 10:00" in reply
    code = LINK.search(reply)
    assert code is not None, reply
    assert f"/start {code[1]}" in reply
    bound = await desk.send("严超", f"/start {code[1]}", user_id="phone-of-yanchao")
    assert "已绑定为：联络员" in bound
    [entry] = await desk.audits("invite.create")
    admin = await _person(desk, ADMIN_NAME)
    assert (entry.actor, entry.channel, entry.actor_person_id) == (ADMIN_NAME, "console", admin.id)
    assert entry.object_key == str((await _person(desk, "严超")).id)


async def test_invite_takes_english_roles_and_phones(desk: Desk) -> None:
    reply = await desk.send(ADMIN_NAME, "/invite unit 138-0010-4729")
    assert "赵芳" in reply and "单位经办人" in reply
    zhao = await _person(desk, "赵芳")
    async with desk.session() as session:
        invite = await session.scalar(select(Invite))
    assert invite is not None and (invite.role, invite.person_id) == ("unit", zhao.id)


async def test_invite_refuses_unknown_roles_people_and_inactive_people(desk: Desk) -> None:
    assert "没有「秘书长」这个角色" in await desk.send(ADMIN_NAME, "/invite 秘书长 严超")
    assert "人员名单中没有「诸葛亮」" in await desk.send(ADMIN_NAME, "/invite 联络员 诸葛亮")
    await desk.send(ADMIN_NAME, "/deactivate 严超")
    assert "严超 已停用" in await desk.send(ADMIN_NAME, "/invite 联络员 严超")
    async with desk.session() as session:
        assert await session.scalar(select(Invite)) is None


async def test_namesakes_are_listed_with_masked_phones_and_picked_by_button_or_phone(desk: Desk) -> None:
    async with desk.session() as session:
        session.add(Person(name="严超", phone="13711112222", title=None, active=True, roles=[],
                           created_at=datetime(2026, 1, 1, tzinfo=UTC)))

    reply = await desk.send(ADMIN_NAME, "/invite 联络员 严超")

    assert "多位「严超」" in reply and "139****6704" in reply and "137****2222" in reply
    assert "13711112222" not in reply
    assert len(desk.labels(ADMIN_NAME)) == 2
    picked = await desk.press(ADMIN_NAME, "严超 137****2222")
    assert LINK.search(picked)
    by_phone = await desk.send(ADMIN_NAME, "/invite 联络员 严超 13900126704")
    assert LINK.search(by_phone)
    async with desk.session() as session:
        invites = list((await session.scalars(select(Invite).order_by(Invite.id))).all())
        phones = [(await session.get(Person, i.person_id)).phone for i in invites]  # type: ignore[union-attr]
    assert phones == ["13711112222", "13900126704"]

    await desk.send(ADMIN_NAME, "/deactivate 严超")
    assert "已停用 严超" in await desk.press(ADMIN_NAME, "严超 137****2222")
    async with desk.session() as session:
        rows = await session.execute(select(Person.phone, Person.active).where(Person.name == "严超"))
        states = dict(rows.all())
    assert states == {"13711112222": False, "13900126704": True}


# --- /people and /person ---------------------------------------------------------------------------


async def test_people_filters_by_unit_or_role_and_shows_who_is_bound(desk: Desk) -> None:
    await desk.account("赵芳")  # bound in the console

    by_unit = await desk.send(ADMIN_NAME, "/people 区住建局")
    by_role = await desk.send(ADMIN_NAME, "/people 联络员")
    everyone = await desk.send(ADMIN_NAME, "/people")

    assert "单位：区住建局（共 4 人" in by_unit
    assert "✅ 赵芳 单位经办人 区住建局" in by_unit and "⬜ 郝芳 联络员 区住建局" in by_unit
    assert "严超" in by_unit and "武杰" not in by_unit
    assert "角色：联络员（共 42 人" in by_role and "赵芳" not in by_role
    assert "全部人员（共 67 人" in everyone
    assert "住建局" in (await desk.send(ADMIN_NAME, "/people 住建"))
    assert "既不是单位名称，也不是角色" in await desk.send(ADMIN_NAME, "/people 火星局")


async def test_person_shows_roles_masked_phone_accounts_and_projects(desk: Desk) -> None:
    await desk.account("郝芳")

    card = await desk.send(ADMIN_NAME, "/person 郝芳")
    lead = await desk.send(ADMIN_NAME, "/person 刘文华")

    assert "角色：联络员" in card and "单位/职务：区住建局" in card
    assert "手机：139****7919" in card and "13900007919" not in card
    assert "控制台 郝芳" in card
    assert "联络员项目（1）：ZD2026-001 城北高速连接线" in card
    assert "账号：未绑定" in lead and "包抓项目（" in lead and "ZD2026-001" in lead


# --- /deactivate -----------------------------------------------------------------------------------


async def test_deactivated_people_are_unbound_and_their_open_items_listed(desk: Desk) -> None:
    raised = await desk.send("郝芳", "/issue ZD2026-001 审批手续 施工许可迟迟未批")
    assert "W0001" in raised

    reply = await desk.send(ADMIN_NAME, "/deactivate 郝芳")

    assert "已停用 郝芳" in reply
    assert "联络员项目（1）：ZD2026-001 城北高速连接线" in reply
    assert "其提出的未销号问题（1）：W0001" in reply
    assert "/handover 郝芳 接替人员" in reply
    # She is told her account is deactivated (not that she is unbound), whatever she sends.
    for text in ("/mine", "/help", "你好", "/issue W0001"):
        assert (await desk.send("郝芳", text)).strip() == "您的账号已停用，请联系项目办。"
    assert not (await _person(desk, "郝芳")).active
    [entry] = await desk.audits("person.deactivate")
    assert entry.actor == ADMIN_NAME and entry.channel == "console"
    assert "已经是停用状态" in await desk.send(ADMIN_NAME, "/deactivate 郝芳")


async def test_a_project_names_its_deactivated_people_as_such_until_handed_over(desk: Desk) -> None:
    """/project still names the 包抓领导 and the liaison the ledger holds, but says they are deactivated: their
    problems go to the 项目办 meanwhile, and a reader should not wait for them."""
    await desk.send(ADMIN_NAME, "/deactivate 刘文华")
    await desk.send(ADMIN_NAME, "/deactivate 郝芳")
    card = await desk.send("赵芳", "/project ZD2026-001")
    assert "包抓领导：刘文华（副区长(城建)）（已停用，待项目办移交）" in card
    assert "联络员：郝芳（已停用，待项目办移交）" in card
    await desk.send(ADMIN_NAME, "/handover 郝芳 赵芳")
    assert (await desk.send("赵芳", "/project ZD2026-001")).rstrip().endswith("联络员：赵芳")


async def test_deactivating_a_units_only_handler_lists_what_the_unit_holds(desk: Desk) -> None:
    await desk.send("郝芳", "/issue ZD2026-001 审批手续 施工许可迟迟未批")

    reply = await desk.send(ADMIN_NAME, "/deactivate 赵芳")

    assert "区住建局 只有其一位经办人，该单位在办问题（1）：W0001" in reply
    assert "由管理员代办" in reply
    assert "不能停用您自己" in await desk.send(ADMIN_NAME, f"/deactivate {ADMIN_NAME}")


# --- /handover -------------------------------------------------------------------------------------


async def test_handover_moves_projects_and_problems_grants_roles_and_notifies(desk: Desk) -> None:
    await desk.send("郝芳", "/issue ZD2026-001 审批手续 施工许可迟迟未批")
    await desk.send(ADMIN_NAME, "/deactivate 郝芳")
    zhao = await _person(desk, "赵芳")
    assert "liaison" not in zhao.role_names

    reply = await desk.send(ADMIN_NAME, "/handover 郝芳 赵芳")

    assert "已将 郝芳 的工作移交给 赵芳" in reply
    assert "联络员项目（1）：ZD2026-001" in reply and "未销号问题（1，提出人改为 赵芳）：W0001" in reply
    assert "已为 赵芳 增加角色：联络员" in reply
    assert (await _project(desk, "ZD2026-001")).liaison_id == zhao.id
    async with desk.session() as session:
        problem = await session.get(Problem, 1)
        assert problem is not None and problem.raised_by_id == zhao.id
    assert "liaison" in (await _person(desk, "赵芳")).role_names
    assert [e.object_key for e in await desk.audits("project.update")] == ["ZD2026-001"]
    assert [e.object_key for e in await desk.audits("problem.raiser")] == ["W0001"]
    assert [e.detail["role"] for e in await desk.audits("person.grant_role")] == ["liaison"]
    [notice] = [n for n in await desk.notices(zhao.id) if "工作移交" in n.payload["html"]]
    assert "ZD2026-001 城北高速连接线" in notice.payload["html"] and "W0001" in notice.payload["html"]
    assert "已记录填报" in await desk.send("赵芳", "/report ZD2026-001 100 路基施工")


async def test_handover_of_a_lead_official_and_its_refusals(desk: Desk) -> None:
    reply = await desk.send(ADMIN_NAME, "/handover 刘文华 陈建国")

    chen = await _person(desk, "陈建国")
    assert "包抓项目（" in reply and "ZD2026-001" in reply
    assert (await _project(desk, "ZD2026-001")).lead_official_id == chen.id
    assert "已为" not in reply  # 陈建国 already holds the lead role
    assert "无需移交" in await desk.send(ADMIN_NAME, "/handover 陈建国 陈建国")
    assert "没有需要移交的项目" in await desk.send(ADMIN_NAME, "/handover 刘文华 陈建国")
    await desk.send(ADMIN_NAME, "/deactivate 王立军")
    assert "王立军 已停用" in await desk.send(ADMIN_NAME, "/handover 陈建国 王立军")
    assert "用法" in await desk.send(ADMIN_NAME, "/handover 陈建国")


# --- through Telegram ------------------------------------------------------------------------------

ADMIN_TG, YAN_TG = 9001, 1016


@pytest.fixture
def tg_settings(fake_api: FakeBotAPI, tmp_path: Path) -> Settings:
    return e2e_settings(fake_api, DATA_DIR=str(tmp_path / "data"))


async def test_invite_through_telegram_binds_the_invited_person(
        e2e_core: Core, telegram: TelegramHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    wire_admin(e2e_core.router, monkeypatch)
    await telegram.bind(ADMIN_TG, ADMIN_NAME, "admin")

    replies = await telegram.send(ADMIN_TG, "/invite 联络员 严超")

    code = LINK.search(replies.text)
    assert code is not None, replies
    telegram.fake.user(YAN_TG, first_name="严超")
    bound = await telegram.send(YAN_TG, f"/start {code[1]}")
    assert "已绑定为：联络员" in bound.text
    assert "ZD2026-016" in (await telegram.send(YAN_TG, "/mine")).text
