"""Admin side of WeCom: binding a userid to a person, publishing the app menu, configuration."""

from __future__ import annotations

import argparse
import json

import pytest
from sqlalchemy import select

from bot.app import Core
from bot.channels.base import PermanentError
from bot.channels.wecom.answers import errcode_of
from bot.channels.wecom.binding import bind_wecom, cli_bind_wecom
from bot.channels.wecom.callback import WeComChannel
from bot.channels.wecom.robot import RobotKeysError, parse_robot_keys
from bot.channels.wecom.wiring import (
    app_menu,
    cli_wecom_menu,
    make_api,
    publish_menu,
    wecom_configured,
    wecom_outbox_transports,
)
from bot.config import load_settings
from bot.services.admin_ops import AdminInputError
from storage.models import AuditEntry, ChatAccount, Person
from tests.fakes.wecom_api import FakeWeCom
from tests.wecom.harness import HAO, WeComHarness, wecom_settings


async def test_an_admin_binds_a_userid_and_the_member_is_recognised(wecom: WeComHarness,
                                                                    fake_wecom: FakeWeCom) -> None:
    fake_wecom.add_user(HAO)
    out: list[str] = []
    args = argparse.Namespace(wecom=HAO, person="郝芳", phone=None)

    assert await cli_bind_wecom(wecom.core, args, out=out.append) == 0
    assert await cli_bind_wecom(wecom.core, args, out=out.append) == 0

    assert out == [f"已将企业微信账号 {HAO} 绑定到 郝芳。",
                   f"企业微信账号 {HAO} 已绑定到 郝芳，无需重复绑定。"]
    async with wecom.session() as session:
        [account] = (await session.scalars(select(ChatAccount))).all()
        assert (account.channel, account.external_id, account.chat_id) == ("wecom", HAO, HAO)
        actions = (await session.scalars(select(AuditEntry.action))).all()
        assert actions.count("account.bind") == 2
    mine = await wecom.send(HAO, "/mine")
    assert "ZD2026-001 城北高速连接线" in mine.text


async def test_person_names_each_wecom_account_by_its_userid(wecom: WeComHarness, fake_wecom: FakeWeCom) -> None:
    """Bound by an invite code in the app or by the admin's command, a WeCom account is shown as its userid
    (the name WeCom knows the member by, and what `diaodu people bind --wecom` takes), never blank."""
    await wecom.bind(HAO, "郝芳")
    await bind_wecom(wecom.core.db, wecom.clock, userid="Admin01", person_name="管理员(区重大项目办)")
    fake_wecom.add_user("Admin01")

    card = await wecom.send("Admin01", "/person 郝芳")
    admin = await wecom.send("Admin01", "/person 管理员(区重大项目办)")

    assert f"- 企业微信应用 {HAO}（绑定于 2026-11-20 10:00）" in card.text
    assert "- 企业微信应用 Admin01（绑定于 2026-11-20 10:00）" in admin.text


async def test_binding_errors_are_explained_in_chinese(wecom_core: Core) -> None:
    db, clock = wecom_core.db, wecom_core.clock
    with pytest.raises(AdminInputError, match="人员名单中没有「无此人」"):
        await bind_wecom(db, clock, userid="Someone", person_name="无此人")
    with pytest.raises(AdminInputError, match="账号「-bad id」无效"):
        await bind_wecom(db, clock, userid="-bad id", person_name="郝芳")

    async with db.session() as session:  # a namesake, and a person who left
        session.add(Person(name="郝芳", phone="13700000001", active=True, created_at=clock.now()))
        session.add(Person(name="离职者", phone="13700000002", active=False, created_at=clock.now()))
    with pytest.raises(AdminInputError, match="有 2 位「郝芳」，请用 --phone 指定") as ambiguous:
        await bind_wecom(db, clock, userid="HaoFang", person_name="郝芳")
    assert "13900007919" in str(ambiguous.value) and "13700000001" in str(ambiguous.value)
    with pytest.raises(AdminInputError, match="已停用"):
        await bind_wecom(db, clock, userid="Left01", person_name="离职者")

    bound = await bind_wecom(db, clock, userid="HaoFang", person_name="郝芳", phone="13900007919")
    moved = await bind_wecom(db, clock, userid="HaoFang", person_name="郝芳", phone="13700000001")
    assert bound.previous_person is None and moved.previous_person == "郝芳"
    assert moved.person_id != bound.person_id


async def test_the_menu_is_published_within_wecom_limits(wecom_core: Core, fake_wecom: FakeWeCom) -> None:
    out: list[str] = []

    assert await cli_wecom_menu(wecom_core, argparse.Namespace(dry_run=False), out=out.append) == 0

    assert fake_wecom.menu == app_menu()
    [call] = fake_wecom.calls_of("menu/create", ok=True)
    assert call.query["agentid"] == str(fake_wecom.agent_id)
    keys = [b.get("key") for top in app_menu()["button"] for b in [top, *top.get("sub_button", [])] if "key" in b]
    assert keys == ["/report", "/issues", "/issue", "/mine", "/rank", "/help"]
    names = [b["name"] for top in fake_wecom.menu["button"] for b in [top, *top.get("sub_button", [])]]
    assert names == ["填报进度", "问题", "我的问题清单", "反映问题", "我的", "我的项目", "排名", "帮助"]
    assert out == ["已发布企业微信应用菜单：填报进度、问题、我的。"]

    printed: list[str] = []
    await cli_wecom_menu(wecom_core, argparse.Namespace(dry_run=True), out=printed.append)
    assert json.loads(printed[0]) == app_menu() and len(fake_wecom.calls_of("menu/create")) == 1


async def test_five_top_level_buttons_are_more_than_wecom_takes(wc_settings, fake_wecom: FakeWeCom) -> None:  # type: ignore[no-untyped-def]
    flat = {"button": [{"type": "click", "name": n, "key": k} for n, k in
                       [("填报进度", "/report"), ("我的项目", "/mine"), ("问题", "/issue"), ("排名", "/rank"),
                        ("帮助", "/help")]]}
    async with make_api(wc_settings) as api:
        with pytest.raises(PermanentError) as refused:
            await publish_menu(api, flat)
    assert errcode_of(refused.value) == 40016


async def test_menu_errors_are_explained(wecom_core: Core, fake_wecom: FakeWeCom) -> None:
    fake_wecom.inject_fault("menu/create", errcode=60020, errmsg="not allow to access from your ip")
    with pytest.raises(AdminInputError, match="发布企业微信应用菜单失败"):
        await cli_wecom_menu(wecom_core, argparse.Namespace(dry_run=False))
    unconfigured = Core.build(wecom_settings(fake_wecom, WECOM_SECRET=None), db=wecom_core.db,
                              clock=wecom_core.clock)
    with pytest.raises(AdminInputError, match="WECOM_SECRET"):
        await cli_wecom_menu(unconfigured, argparse.Namespace(dry_run=False))


async def test_configuration(fake_wecom: FakeWeCom, wecom_core: Core,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    settings = wecom_settings(fake_wecom)
    assert wecom_configured(settings)
    assert not wecom_configured(wecom_settings(fake_wecom, WECOM_AES_KEY=None))
    assert settings.wecom_agent_id == 5_000_000_001  # over 32 bits
    with pytest.raises(ValueError, match="WECOM_CORP_ID"):
        WeComChannel.from_settings(wecom_settings(fake_wecom, WECOM_TOKEN=None), wecom_core.router)
    monkeypatch.setenv("WECOM_API_BASE", "")  # as left empty in .env
    monkeypatch.setenv("WECOM_AGENT_ID", "1000002")
    from_env = load_settings(_env_file=None)
    assert from_env.wecom_api_base == "https://qyapi.weixin.qq.com" and from_env.wecom_agent_id == 1000002
    async with wecom_outbox_transports(settings) as transports:
        assert sorted(transports) == ["wecom", "wecom_robot"]
    async with wecom_outbox_transports(wecom_settings(fake_wecom, WECOM_ROBOT_KEYS=None,
                                                      WECOM_SECRET=None)) as transports:
        assert transports == {}


def test_robot_keys() -> None:
    assert parse_robot_keys("领导小组=key1， 项目办 = key2\uff0c城建组=https://qyapi.weixin.qq.com/cgi-bin/webhook/"
                            "send?key=abc-123") == {"领导小组": "key1", "项目办": "key2", "城建组": "abc-123"}
    assert parse_robot_keys("") == {}
    for bad in ("领导小组", "领导小组=", "=key", "a=1,a=2"):
        with pytest.raises(RobotKeysError):
            parse_robot_keys(bad)
    with pytest.raises(RobotKeysError) as malformed:
        parse_robot_keys("领导小组")
    assert str(malformed.value) == "WECOM_ROBOT_KEYS： 「领导小组」应写成 名称=key"
    with pytest.raises(RobotKeysError) as repeated:
        parse_robot_keys("a=1,a=2")
    assert str(repeated.value) == "WECOM_ROBOT_KEYS： 机器人名称「a」重复"


async def test_an_invite_made_where_there_is_no_telegram_has_no_telegram_link(wecom: WeComHarness,
                                                                             fake_wecom: FakeWeCom) -> None:
    """Without TELEGRAM_BOT_TOKEN a link to t.me/<the default bot name> would hand the code to somebody else's
    bot: the admin gets the code to forward, which the person sends to the app."""
    await bind_wecom(wecom.core.db, wecom.clock, userid="Admin01", person_name="管理员(区重大项目办)")
    fake_wecom.add_user("Admin01", "WuJie")

    invite = await wecom.send("Admin01", "/invite liaison 武杰")

    assert "t.me" not in invite.text and "链接" not in invite.text
    assert "已为 武杰（联络员）生成邀请码，请转发给本人，由本人向机器人（如企业微信应用）发送：" in invite.text
    command = invite.text.split("发送：\n", 1)[1].split("\n", 1)[0].strip()
    assert command.startswith("/start ")
    assert "已绑定为：联络员" in await wecom.send("WuJie", command)
