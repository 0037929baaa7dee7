"""Group chats through the real PTB Application and the fake Bot API: in a group the bot acts only on what
is meant for a group (`Command.in_group`), binds nobody, leaks nothing, and ignores other bots' commands.

Every registered command is tried in a group (the registry is walked, so a command added later is
covered without touching this file), as an admin, a liaison and a stranger, in a "group" and in a
"supergroup": each private one must answer only the "请私聊我" line with a button opening the private chat,
show no name, phone number or invite code, and change nothing in the database.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.channels.telegram import CHANNEL, TelegramChannel
from bot.channels.wecom.render import reply_parts
from bot.config import Settings
from bot.domain.messages import Button, Incoming, Reply
from handlers.commands import Command
from storage import outbox, people
from storage.models import (
    AuditEntry,
    BulletinGroup,
    ChatAccount,
    Conversation,
    Invite,
    OutboxMessage,
    Person,
    Problem,
    Report,
)
from storage.outbox import payload_from, reply_from_payload
from tests.e2e.harness import Replies, TelegramHarness

HAO = 1001  # 郝芳, liaison of ZD2026-001
ADMIN = 9001
STRANGER = 7777  # never bound
ADMIN_NAME = "管理员(区重大项目办)"
GROUPS = {"group": -4001, "supergroup": -1001234567890}
BOT_LINK = "https://t.me/diaodu_bot"
PRIVATE_LINE = "请私聊我"
PHONE = re.compile(r"1[3-9][0-9]{9}")
# Arguments that would make each command act, or show the most, in a private chat (a command not listed
# is tried without arguments).
ARGS = {
    "report": "ZD2026-001 1.2亿 主体结构完成60%",
    "project": "ZD2026-001",
    "issue": "W0001",
    "accept": "W0001",
    "answer": "W0001 已协调住建部门加快审批",
    "reassign": "W0001 不属于本单位职责",
    "resolved": "W0001 已取得施工许可",
    "confirm": "W0001",
    "reopen": "W0001 仍未解决",
    "comment": "W0001 请加快办理",
    "invite": "liaison 郝芳",
    "person": "郝芳",
    "people": "区住建局",
    "deactivate": "郝芳",
    "handover": "郝芳 武杰",
    "project_set": "ZD2026-001 年度计划 50000",
    "approval": "ZD2026-001 环评 done 2026-11-20",
    "assign": "W0001 区发改局",
    "broadcast": "all 明天上午九点开调度会",
    "decide": "征地拆迁 区住建局 2026-12-20",
    "sla": "category 审批手续 3",
    "calendar": "2026-12-31 off 测试",
    "schedule": "remind 17:00",
}
ROW_COUNTS = (AuditEntry, BulletinGroup, ChatAccount, Conversation, Invite, OutboxMessage, Problem, Report)


async def bind_directly(tg: TelegramHarness, user: int, name: str) -> None:
    """Bind a Telegram user to a roster person (who has their roles from the sample roster already)."""
    tg.fake.user(user, first_name=name)
    async with tg.session() as session:
        [person] = await people.find_people_by_name(session, name=name)
        await people.bind_account(session, person=person, channel=CHANNEL, external_id=str(user),
                                  chat_id=str(user), display_name=name, now=tg.clock.now())


async def snapshot(tg: TelegramHarness) -> dict[str, int]:
    """How many rows each table that a command could write holds."""
    async with tg.session() as session:
        return {model.__name__: int(await session.scalar(select(func.count()).select_from(model)) or 0)
                for model in ROW_COUNTS}


async def roster_names(tg: TelegramHarness) -> list[str]:
    async with tg.session() as session:
        return list((await session.scalars(select(Person.name))).all())


def url_buttons(replies: Replies) -> list[dict[str, str]]:
    return [button for call in replies.messages
            for row in (call.get("reply_markup") or {}).get("inline_keyboard", []) for button in row]


def assert_private_line(replies: Replies, *, link: str = BOT_LINK) -> None:
    """One message, the "请私聊我" line, one button opening the private chat and nothing to press."""
    assert len(replies.messages) == 1, replies
    assert replies.text.startswith(PRIVATE_LINE), replies
    assert len(replies.text) < 60, replies
    assert url_buttons(replies) == [{"text": "打开私聊", "url": link}], replies


@pytest.fixture
async def tg(telegram: TelegramHarness) -> TelegramHarness:
    """The admin and 郝芳 bound; 郝芳 has raised W0001 in her private chat."""
    await bind_directly(telegram, ADMIN, ADMIN_NAME)
    await bind_directly(telegram, HAO, "郝芳")
    raised = await telegram.send(HAO, "/issue ZD2026-001 审批手续 施工许可迟迟未批")
    assert "W0001" in raised, raised
    for kind, chat_id in GROUPS.items():
        telegram.fake.group(chat_id, kind=kind, title=f"城北片区调度{kind}")
    return telegram


def private_commands(tg: TelegramHarness) -> list[Command]:
    commands = [c for c in tg.core.router.commands if not c.in_group]
    assert len(commands) > 25 and {"mine", "issues", "issue", "person", "people", "export", "audit",
                                   "invite", "start"} <= {c.name for c in commands}
    return commands


@pytest.mark.parametrize("kind", sorted(GROUPS))
@pytest.mark.parametrize("caller", [ADMIN, HAO, STRANGER])
async def test_every_private_command_answers_only_the_private_line_in_a_group(
        tg: TelegramHarness, kind: str, caller: int) -> None:
    group = GROUPS[kind]
    names, before = await roster_names(tg), await snapshot(tg)
    mark = len(tg.fake.calls)
    for command in private_commands(tg):
        text = f"/{command.name} {ARGS.get(command.name, '')}".strip()
        replies = await tg.send(caller, text, chat_id=group)
        assert_private_line(replies)
        assert not PHONE.search(replies.text), (text, replies)
        assert not [n for n in names if n in replies.text], (text, replies)
    # Nothing was sent anywhere but to the group (no notice, no file), and nothing was written.
    sent = [c for c in tg.fake.calls[mark:] if c.method.startswith(("send", "edit"))]
    assert sent and all(int(c["chat_id"]) == group and c.method == "sendMessage" for c in sent), sent
    assert await snapshot(tg) == before


async def test_commands_addressed_to_us_count_and_other_bots_commands_get_nothing(tg: TelegramHarness) -> None:
    group = GROUPS["supergroup"]
    assert_private_line(await tg.send(ADMIN, "/person@diaodu_bot 郝芳", chat_id=group))
    assert "在群里可以使用" in await tg.send(ADMIN, "/help@DiaoDu_Bot", chat_id=group)
    mark = len(tg.fake.calls)
    for text in ("/help@other_bot", "/person@other_bot 郝芳", "/start@other_bot", "/rank@other_bot"):
        assert not (await tg.send(ADMIN, text, chat_id=group)).messages
        assert not (await tg.send(STRANGER, text, chat_id=group)).messages
    assert not (await tg.send(HAO, "/mine@other_bot")).messages  # in a private chat too
    assert not [c for c in tg.fake.calls[mark:] if c.method.startswith("send")]


async def test_group_talk_unknown_commands_and_bare_codes_are_left_alone(tg: TelegramHarness) -> None:
    group = GROUPS["group"]
    not_a_live_code = "Ab3_" * 6  # looks like an invite code, but is none
    before, mark = await snapshot(tg), len(tg.fake.calls)
    for user in (ADMIN, HAO, STRANGER):
        for text in ("大家好,明天几点开会?", "ZD2026-001 1.2亿 主体结构完成60%", not_a_live_code, "/no_such_command"):
            assert not (await tg.send(user, text, chat_id=group)).messages, (user, text)
    photo = tg.fake.enqueue_photo(HAO, caption="ZD2026-001 850万 桩基完成", chat_id=group)
    await tg.wait_processed(photo["update_id"])
    assert not [c for c in tg.fake.calls[mark:] if c.method.startswith("send")]
    assert await snapshot(tg) == before


@pytest.mark.parametrize(("kind", "typed"), [("group", "/start {code}"), ("supergroup", "/start@diaodu_bot {code}"),
                                             ("group", "{code}"), ("group", "{code} 多余"),
                                             ("group", "/start 邀请码 {code}")])
async def test_a_code_typed_in_a_group_is_revoked_and_the_admin_told_to_issue_a_new_one(
        tg: TelegramHarness, kind: str, typed: str) -> None:
    group = GROUPS[kind]
    code = await tg.invite("武杰")

    replies = await tg.send(STRANGER, typed.format(code=code), chat_id=group)

    assert len(replies.messages) == 1 and replies.text.startswith(PRIVATE_LINE), replies
    assert "已作废" in replies.text and "武杰" not in replies.text and code not in replies.text
    assert url_buttons(replies) == [{"text": "打开私聊", "url": BOT_LINK}]  # the button carries no code
    async with tg.session() as session:
        [invite] = (await session.scalars(select(Invite))).all()
        caller = await people.get_caller(session, channel=CHANNEL, external_id=str(STRANGER),
                                         chat_id=str(group))
        [admin] = await people.find_people_by_name(session, name=ADMIN_NAME)
        told = (await session.scalars(select(OutboxMessage).where(OutboxMessage.person_id == admin.id))).all()
        revoked = (await session.scalars(select(AuditEntry).where(AuditEntry.action == "invite.revoke"))).all()
    assert invite.used_at is not None and invite.used_by_account_id is None and not caller.bound
    [notice] = [reply_from_payload(row.payload).html for row in told if "邀请码在群聊中公开" in
                reply_from_payload(row.payload).html]
    assert "武杰" in notice and "/invite 联络员 武杰" in notice and code not in notice
    assert len(revoked) == 1 and revoked[0].detail["chat"] == str(group)
    # Nobody can redeem it any more, not even in a private chat.
    refused = await tg.send(STRANGER, f"/start {code}")
    assert "已在群聊中公开" in refused and "已绑定" not in refused
    # A fresh code, sent privately, binds.
    fresh = await tg.invite("武杰")
    assert "已绑定" in await tg.send(STRANGER, f"/start {fresh}")


async def test_start_with_an_unknown_code_in_a_group_only_points_to_the_private_chat(tg: TelegramHarness) -> None:
    before = await snapshot(tg)
    replies = await tg.send(STRANGER, "/start " + "Zz9-" * 6, chat_id=GROUPS["group"])
    assert replies.text.startswith(PRIVATE_LINE) and "作废" not in replies.text
    assert url_buttons(replies) == [{"text": "打开私聊", "url": BOT_LINK}]
    assert await snapshot(tg) == before
    assert_private_line(await tg.send(STRANGER, "/start", chat_id=GROUPS["group"]))


async def test_help_in_a_group_is_short_and_lists_the_group_commands_the_caller_may_use(
        tg: TelegramHarness) -> None:
    group = GROUPS["supergroup"]
    group_commands = {c.name for c in tg.core.router.commands if c.in_group}
    assert group_commands == {"help", "rank", "groups"}

    admin = await tg.send(ADMIN, "/help", chat_id=group)
    liaison = await tg.send(HAO, "/help", chat_id=group)

    assert set(re.findall(r"^/(\w+)", admin.text, re.M)) == {"help", "rank", "groups"}
    assert set(re.findall(r"^/(\w+)", liaison.text, re.M)) == {"help", "rank"}
    for replies in (admin, liaison):
        assert url_buttons(replies) == [{"text": "打开私聊", "url": BOT_LINK}]
        assert "/mine" not in replies.text and "/report" not in replies.text
    assert_private_line(await tg.send(STRANGER, "/help", chat_id=group))  # not the help text
    # The command menu of every group chat shows the same commands.
    await tg.channel.publish_default_menu(tg.application)
    assert tg.fake.menu({"type": "all_group_chats"}) == ["help", "rank", "groups"]
    assert tg.fake.menu() == ["start", "help"]


async def test_rank_in_a_group_shows_the_public_standings_only(tg: TelegramHarness) -> None:
    group = GROUPS["group"]
    private = await tg.send(HAO, "/rank")
    public = await tg.send(HAO, "/rank", chat_id=group)

    assert "我的项目" in private.text and "我的项目" not in public.text
    assert "当前排名" in public.text and "前五" in public.text
    assert not PHONE.search(public.text)
    assert_private_line(await tg.send(STRANGER, "/rank", chat_id=group))


async def test_rank_participation_in_a_group_shows_the_units_only(tg: TelegramHarness) -> None:
    """/rank 填报 in a group: the district's and every unit's 填报率 with the units' heat map, nobody's own."""
    public = await tg.send(HAO, "/rank 填报", chat_id=GROUPS["group"])

    [photo] = [c for c in public.calls if c.method == "sendPhoto" and c.ok]
    shown = "\n".join([*public.texts, photo["caption"] or ""])
    assert "近四周填报率" in shown and "各牵头单位" in shown and "区住建局" in shown
    assert "本人" not in shown and not PHONE.search(shown)
    assert photo["chat_id"] == GROUPS["group"] and not photo.get("reply_markup")


async def test_groups_add_in_a_group_registers_it_and_shows_no_other_group(tg: TelegramHarness) -> None:
    async with tg.session() as session:
        session.add(BulletinGroup(channel=CHANNEL, chat_id="-555", name="领导小组", created_at=tg.clock.now(),
                                  created_by="test"))
    group = GROUPS["supergroup"]

    added = await tg.send(ADMIN, "/groups add 城北片区", chat_id=group)
    listed = await tg.send(ADMIN, "/groups", chat_id=group)
    refused = await tg.send(HAO, "/groups add 城北片区", chat_id=group)

    assert "已将本群添加为通报群「城北片区」" in added
    for replies in (added, listed):
        assert "城北片区" in replies and "领导小组" not in replies and "-555" not in replies
    assert "您没有权限使用 /groups" in refused
    async with tg.session() as session:
        chats = set((await session.scalars(select(BulletinGroup.chat_id))).all())
    assert chats == {"-555", str(group)}
    assert "领导小组" in await tg.send(ADMIN, "/groups")  # the private chat lists every group


async def test_an_anonymous_admin_is_told_who_the_bot_cannot_see_and_a_channels_posts_are_left_alone(
        tg: TelegramHarness) -> None:
    """A group admin who posts anonymously (in the group's name) sending /groups add was pointed to a private chat
    with an anonymous account; the bot says it cannot tell who they are, and the way on (not anonymous, or the
    group's id in a private chat). A linked channel's posts forwarded into the group are nobody to answer."""
    group = GROUPS["supergroup"]
    chat = tg.fake.group(group, kind="supergroup", title="城北片区调度群")
    anonymous = {"id": 1087968824, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"}
    before = await snapshot(tg)
    for text in ("/groups add 城北片区", "/rank"):
        told = await tg.message(ADMIN, {"text": text, "from": anonymous, "sender_chat": chat}, chat_id=group)
        assert "您正以匿名管理员身份（以本群名义）发言，我无法确认您是谁" in told, told
        assert f"/groups add {group} 群名称" in told and PRIVATE_LINE not in told.text and told.buttons == []
    channel = {"id": -1007770001, "type": "channel", "title": "城北发布"}
    post = {"text": "/rank", "from": {"id": 777000, "is_bot": False, "first_name": "Telegram"},
            "sender_chat": channel, "is_automatic_forward": True}
    assert (await tg.message(ADMIN, post, chat_id=group)).messages == []
    assert await snapshot(tg) == before  # no group added, nothing written
    added = await tg.send(ADMIN, f"/groups add {group} 城北片区")  # the way on, from the private chat
    assert "已添加 Telegram 通报群「城北片区」" in added, added


async def test_buttons_pressed_in_a_group_answer_the_private_line(tg: TelegramHarness) -> None:
    group = GROUPS["supergroup"]
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("ZD2026-001 城北高速连接线", callback_data="pj:ZD2026-001"),
                                    InlineKeyboardButton("受理", callback_data="pb:acc:1")]])
    for label in ("ZD2026-001 城北高速连接线", "受理"):
        await tg.application.bot.send_message(group, "项目", reply_markup=markup)
        replies = await tg.press(ADMIN, label, chat_id=group)
        assert_private_line(replies)
        assert "城北高速连接线" not in replies.text
    async with tg.session() as session:
        problem = await session.get(Problem, 1)
    assert problem is not None and problem.status == "open"


async def test_deactivated_people_are_told_so_in_private_and_in_groups(tg: TelegramHarness) -> None:
    assert "已停用 <b>郝芳</b>" in await tg.send(ADMIN, "/deactivate 郝芳")
    line = "您的账号已停用，请联系项目办。"

    for text in ("/mine", "/help", "/report ZD2026-001 1.2亿 主体结构完成60%", "你好"):
        assert (await tg.send(HAO, text)).texts == [line], text
    assert (await tg.send(HAO, "/rank", chat_id=GROUPS["group"])).texts == [line]
    assert_private_line(await tg.send(HAO, "/mine", chat_id=GROUPS["group"]))
    assert "您还没有绑定账号" in await tg.send(STRANGER, "/mine")  # strangers are still told to bind


def test_incoming_knows_whom_a_command_is_for() -> None:
    def msg(text: str, bot: str = "diaodu_bot") -> Incoming:
        return Incoming(channel="telegram", user_id="1", chat_id="-2", text=text, chat_type="group",
                        bot_username=bot)

    assert msg("/rank@diaodu_bot 本周").command == ("rank", "本周")
    assert not msg("/rank@Diaodu_Bot").for_another_bot
    assert msg("/rank@other_bot").for_another_bot and msg("/rank@other_bot").command == ("rank", "")
    assert not msg("/rank").for_another_bot and not msg("rank@other_bot").for_another_bot
    assert not msg("/rank@other_bot", bot="").for_another_bot  # unknown name: cannot tell, so ours
    assert msg("/rank").in_group and not Incoming(channel="console", user_id="1", chat_id="1").in_group


def test_link_buttons_survive_the_outbox_and_are_left_out_in_wecom() -> None:
    link = Button("打开私聊", "", url=BOT_LINK)
    reply = Reply(html="请私聊我", buttons=((link,), (Button("取消", "rp:cancel"),)))
    assert reply_from_payload(payload_from(reply)) == reply
    parts, numbered = reply_parts(reply)
    assert not numbered and [b.label for p in parts for b in p.buttons] == ["取消"]
    assert reply_parts(Reply(html="请私聊我", buttons=((link,),)))[0][0].msgtype != "template_card"


async def test_a_bulletin_group_upgraded_to_a_supergroup_is_followed_to_its_new_id(tg: TelegramHarness) -> None:
    """Telegram gives a group made public (or given some admin settings) a new id as a supergroup, and refuses
    messages to the old one; it tells both chats. The bulletin group, and what waits for it, move along."""
    old, new = GROUPS["group"], -1009876543210
    assert "已将本群添加为通报群「城北片区」" in await tg.send(ADMIN, "/groups add 城北片区", chat_id=old)
    async with tg.session() as session:
        await outbox.enqueue_for_chat(session, channel=CHANNEL, chat_id=str(old), reply=Reply(html="<b>本周通报</b>"),
                                      key="weekly:test", now=tg.clock.now())

    for update_ in tg.fake.migrate_group(old, new, user_id=ADMIN):
        await tg.wait_processed(update_["update_id"])

    async with tg.session() as session:
        assert list((await session.scalars(select(BulletinGroup.chat_id))).all()) == [str(new)]
        assert (await session.scalars(select(OutboxMessage.chat_id).where(
            OutboxMessage.channel == CHANNEL, OutboxMessage.person_id.is_(None)))).all() == [str(new)]
        told = (await session.scalars(select(OutboxMessage).where(OutboxMessage.person_id.is_not(None)))).all()
    told = [row for row in told if row.chat_id == str(ADMIN)]
    assert len(told) == 1  # the admin told once, of the two updates
    assert "通报群「城北片区」已升级为超级群" in told[0].payload["html"]
    async with tg.session() as session:
        [moved] = (await session.scalars(select(AuditEntry).where(AuditEntry.action == "group.move"))).all()
    assert moved.detail == {"name": "城北片区", "from": str(old), "to": str(new)}
    listed = await tg.send(ADMIN, "/groups", chat_id=new)
    assert "城北片区" in listed
    assert "城北片区：群号" in await tg.send(ADMIN, "/audit")
    assert not tg.fake.calls_of("sendMessage", chat_id=old, ok=False)


async def test_the_bot_added_to_a_group_says_what_it_does_there_and_other_newcomers_get_nothing(
        tg: TelegramHarness) -> None:
    group = GROUPS["group"]
    bot = dict(tg.fake.bot_user)
    newcomer = tg.fake.user(4242, first_name="新同事")

    joined = await tg.message(ADMIN, {"new_chat_members": [bot]}, chat_id=group)
    [greeting] = joined.texts
    assert "/rank" in greeting and "/groups add 群名称" in greeting and "私聊" in greeting
    assert url_buttons(joined) == [{"text": "打开私聊", "url": BOT_LINK}]
    assert (await tg.message(ADMIN, {"new_chat_members": [newcomer]}, chat_id=group)).messages == []
    created = await tg.message(ADMIN, {"group_chat_created": True}, chat_id=GROUPS["supergroup"])
    assert created.texts == [greeting]


async def test_groups_add_in_private_clears_a_group_marked_out_only_when_telegram_says_the_bot_is_back(
        tg: TelegramHarness) -> None:
    """The bot taken out of a bulletin group: its id typed again in a private chat asks Telegram about the bot's
    own membership (getChatMember). Still out: the reply says the group stays 已移出 and how it comes back; Telegram
    not answering: the reply says it cannot tell; back in it (the update telling so lost): it is cleared at once."""
    await bind_directly(tg, ADMIN, ADMIN_NAME)
    group = GROUPS["supergroup"]
    tg.fake.group(group, kind="supergroup", title="领导小组")
    assert "已将本群添加为通报群「领导小组」" in await tg.send(ADMIN, "/groups add 领导小组", chat_id=group)
    await tg.wait_processed(tg.fake.bot_standing(group, "kicked", user_id=ADMIN)["update_id"])

    still = await tg.send(ADMIN, f"/groups add {group} 领导小组")
    assert "但机器人仍不在该群，该群仍为「已移出」，暂不发送通报" in still and "机器人被拉回该群后" in still, still
    assert tg.fake.calls_of("getChatMember", chat_id=group, user_id=tg.fake.bot_id)
    tg.fake.bot_standing(group, "member", user_id=ADMIN, told=False)
    tg.fake.inject_fault("getChatMember", status=502, times=1)
    unknown = await tg.send(ADMIN, f"/groups add {group} 领导小组")
    assert "暂时无法确认机器人是否已回到该群，该群仍为「已移出」" in unknown, unknown

    back = await tg.send(ADMIN, f"/groups add {group} 领导小组")
    assert "机器人已回到该群，此后的定期通报照常发到该群" in back and "已移出" not in back, back
    async with tg.session() as session:
        [row] = (await session.scalars(select(BulletinGroup))).all()
        actions = (await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id))).all()
    assert row.left_at is None and [a for a in actions if a in ("group.left", "group.back")] == [
        "group.left", "group.back"]


async def test_groups_add_for_a_group_marked_out_before_getme_answered_says_it_cannot_tell(
        tg: TelegramHarness, tg_settings: Settings) -> None:
    """Right after start, while getMe has not answered yet, the bot does not know its own id: typing a group
    marked 已移出 again says it cannot tell whether the bot is back, instead of failing."""
    await bind_directly(tg, ADMIN, ADMIN_NAME)
    group = GROUPS["supergroup"]
    tg.fake.group(group, kind="supergroup", title="领导小组")
    assert "已将本群添加为通报群「领导小组」" in await tg.send(ADMIN, "/groups add 领导小组", chat_id=group)
    await tg.wait_processed(tg.fake.bot_standing(group, "kicked", user_id=ADMIN)["update_id"])
    not_started = TelegramChannel(tg_settings, tg.core.router)  # asks Telegram through a bot never initialized
    assert tg.core.router.deps.group_standing[CHANNEL] == not_started.may_send_in
    mark = len(tg.fake.calls)

    unknown = await tg.send(ADMIN, f"/groups add {group} 领导小组")
    assert "暂时无法确认机器人是否已回到该群，该群仍为「已移出」" in unknown, unknown
    assert tg.fake.calls_of("getChatMember", since=mark) == []
    async with tg.session() as session:
        [row] = (await session.scalars(select(BulletinGroup))).all()
    assert row.left_at is not None
