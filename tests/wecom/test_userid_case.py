"""WeCom userids are case-insensitive (成员UserID 不区分大小写): an account bound as an admin typed it is the
member whose messages arrive in WeCom's spelling, and keeps WeCom's spelling once they have written."""

from __future__ import annotations

import argparse
from datetime import timedelta

from sqlalchemy import select

from bot.channels.wecom.binding import bind_wecom, cli_bind_wecom
from bot.domain.messages import Button, Reply
from storage import outbox as outbox_repo
from storage import people
from storage.models import ChatAccount, OutboxMessage, Person
from tests.fakes.wecom_api import FakeWeCom
from tests.wecom.harness import HAO, WeComHarness


async def test_a_userid_bound_in_lower_case_is_the_member_writing_in_wecoms_spelling(
        wecom: WeComHarness, fake_wecom: FakeWeCom) -> None:
    fake_wecom.add_user(HAO)  # WeCom spells it "HaoFang"
    out: list[str] = []
    assert await cli_bind_wecom(wecom.core, argparse.Namespace(wecom="haofang", person="郝芳", phone=None),
                                out=out.append) == 0
    assert out == ["已将企业微信账号 haofang 绑定到 郝芳。"]

    mine = await wecom.send(HAO, "/mine")

    assert "ZD2026-001 城北高速连接线" in mine.text
    async with wecom.session() as session:
        [account] = (await session.scalars(select(ChatAccount))).all()
        # WeCom's spelling from now on: shown by /person, used to send
        assert (account.external_id, account.chat_id, account.display_name) == (HAO, HAO, HAO)

    # The admin binding it again in yet another case changes nothing, and says so.
    assert await cli_bind_wecom(wecom.core, argparse.Namespace(wecom="HAOFANG", person="郝芳", phone=None),
                                out=out.append) == 0
    assert out[-1] == f"企业微信账号 {HAO} 已绑定到 郝芳，无需重复绑定。"
    async with wecom.session() as session:
        [account] = (await session.scalars(select(ChatAccount))).all()
        assert account.external_id == HAO


async def test_person_and_notices_use_wecoms_spelling(wecom: WeComHarness, fake_wecom: FakeWeCom) -> None:
    await bind_wecom(wecom.core.db, wecom.clock, userid="admin01", person_name="管理员(区重大项目办)")
    await bind_wecom(wecom.core.db, wecom.clock, userid="haofang", person_name="郝芳")
    fake_wecom.add_user("Admin01", HAO)
    await wecom.send(HAO, "/mine")

    card = await wecom.send("Admin01", "/person 郝芳")
    assert f"- 企业微信应用 {HAO}（绑定于" in card.text
    assert "- 企业微信应用 haofang" not in card.text

    async with wecom.session() as session:
        person = await session.scalar(select(Person).where(Person.name == "郝芳"))
        assert person is not None
        await outbox_repo.enqueue_for_person(session, person_id=person.id, reply=Reply(html="通知：请填报"),
                                             key="notice:case", now=wecom.clock.now())
    mark = len(fake_wecom.calls)
    assert (await wecom.deliver_outbox()).sent == 1
    [body] = fake_wecom.sent_to(HAO, since=mark)
    assert body["touser"] == HAO


async def test_an_invite_code_redeemed_in_another_case_binds_the_same_account(
        wecom: WeComHarness, fake_wecom: FakeWeCom) -> None:
    await bind_wecom(wecom.core.db, wecom.clock, userid="haofang", person_name="郝芳")
    fake_wecom.add_user(HAO)
    code = await wecom.invite("郝芳", "unit")

    replies = await wecom.send(HAO, f"/start {code}")

    assert "已绑定" in replies
    async with wecom.session() as session:
        [account] = (await session.scalars(select(ChatAccount))).all()
        assert account.external_id == HAO
        person = await people.get_person_with_roles(session, person_id=account.person_id)
        assert person is not None and "unit" in person.role_names


async def test_a_numbered_list_sent_to_one_spelling_is_answered_from_another(wecom: WeComHarness,
                                                                           fake_wecom: FakeWeCom) -> None:
    fake_wecom.add_user(HAO)
    buttons = tuple(Button(label=f"选项{i}", data=f"x:{i}") for i in range(1, 10))
    reply = Reply(html="请选择：", buttons=[[b] for b in buttons])
    await wecom.channel.transport.deliver("haofang", reply, max_wait=5)

    assert [b.label for b in await wecom.channel.transport.numbered_choices(HAO)] == [b.label for b in buttons]


async def test_a_notice_to_a_blocked_spelling_marks_the_account_whatever_its_case(
        wecom: WeComHarness, fake_wecom: FakeWeCom) -> None:
    await bind_wecom(wecom.core.db, wecom.clock, userid="GoneUser", person_name="郝芳")
    async with wecom.session() as session:
        account = await session.scalar(select(ChatAccount))
        assert account is not None
        await outbox_repo.enqueue_for_person(session, person_id=account.person_id, reply=Reply(html="通知"),
                                             key="notice:gone", now=wecom.clock.now())
        account.external_id = account.chat_id = "goneuser"  # respelled after the notice was queued

    assert (await wecom.deliver_outbox()).undeliverable == 1
    async with wecom.session() as session:
        account = await session.scalar(select(ChatAccount))
        assert account is not None and account.blocked_at is not None
        assert (await session.scalar(select(OutboxMessage))) is not None


async def test_two_accounts_differing_only_by_case_resolve_the_same_way_every_time(wecom: WeComHarness) -> None:
    """Accounts bound before matching folded case may differ only by case: the exact spelling wins, else the
    oldest account."""
    now = wecom.clock.now()
    async with wecom.session() as session:
        hao = await session.scalar(select(Person).where(Person.name == "郝芳"))
        admin = await session.scalar(select(Person).where(Person.name == "管理员(区重大项目办)"))
        assert hao is not None and admin is not None
        session.add(ChatAccount(channel="wecom", external_id="HaoFang", chat_id="HaoFang", person_id=hao.id,
                                created_at=now - timedelta(days=2)))
        await session.flush()
        session.add(ChatAccount(channel="wecom", external_id="haofang", chat_id="haofang", person_id=admin.id,
                                created_at=now))
    async with wecom.session() as session:
        exact = await people.get_caller(session, channel="wecom", external_id="haofang", chat_id="haofang")
        other = await people.get_caller(session, channel="wecom", external_id="HAOFANG", chat_id="HAOFANG")
        by_account = await people.get_account(session, channel="wecom", external_id="HAOFANG")
    assert (exact.person_id, exact.roles) == (admin.id, frozenset(admin.role_names))
    assert (other.person_id, other.roles) == (hao.id, frozenset(hao.role_names))
    assert by_account is not None and by_account.person_id == hao.id
