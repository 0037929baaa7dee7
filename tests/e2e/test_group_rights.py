"""A bulletin group where the bot may not send everything, through the real PTB Application, the outbox and the fake
Bot API refusing as Telegram does: a group whose admin set "members may not send messages" (Telegram tells the bot
nothing) is found by the refused bulletin and marked 已禁言; a group where the bot may send text but not photos or
files (told by Telegram, or found by a refused file) gets the bulletin's text with a line in place of each file, and
is marked 不能发图片, 不能发文件 or both. Each mark tells the admins once and goes when the right comes back."""

from __future__ import annotations

from sqlalchemy import select

from bot.config import Settings
from bot.render import Renderer
from storage.audit import entries_for
from storage.digest_queries import bulletin_groups
from storage.group_chats import files_marks
from storage.models import BulletinGroup, OutboxMessage
from storage.outbox import PENDING, SUPERSEDED
from tests.admin.admin_support import ADMIN_NAME
from tests.e2e.harness import TelegramHarness
from tests.e2e.test_digests import (  # noqa: F401 - fixtures
    GROUP,
    HAO,
    WANG,
    Office,
    at,
    cloned,
    data_dir,
    settings,
    texts,
    to,
)
from tests.fakes.bot_api import Call

ADMIN = 9001
FILE_SENDS = ("sendPhoto", "sendDocument")
NOTE = "未能发到本群：机器人在本群没有发送"  # 图片 or 文件, by the file's kind


async def started(office: Office) -> None:
    """The 区长 gets the bulletins, so does the leadership group (a supergroup the bot is a plain member of)."""
    await office.setup((WANG, "王立军", "top"), monthly=False)
    await office.tg.bind(ADMIN, ADMIN_NAME, "admin")
    office.fake.group(GROUP, kind="supergroup", title="重点项目领导小组")


def forget_refused(office: Office) -> None:
    """The refusals a test meant to meet are not the failures the harness looks for at the end."""
    office.fake.calls[:] = [c for c in office.fake.calls if c.status != 400]


def file_calls(calls: list[Call]) -> list[Call]:
    return [c for c in to(GROUP, calls, method=None) if c.method in FILE_SENDS]


async def marks(tg: TelegramHarness) -> tuple[str, str]:
    """What /groups and `diaodu groups list` say of the group."""
    listed = await tg.send(ADMIN, "/groups")
    async with tg.session() as session:
        groups = await bulletin_groups(session)
        cli = Renderer().plain("cli/groups", groups=groups, file_marks=await files_marks(session, groups))
    return listed, cli


async def test_a_group_whose_members_may_not_send_is_marked_muted_when_the_bulletin_is_refused(
        cloned: TelegramHarness, settings: Settings) -> None:  # noqa: F811
    """A group admin set "members may not send messages": Telegram tells the bot nothing, and refuses the bulletin
    ("not enough rights to send text messages to the chat"). The refusal marks the group 已禁言 and tells the admins
    once; the bulletin's other messages are not tried, and wait with it (no try counted), and the next bulletin waits
    too, untried. /groups add asks Telegram (getChatMember, getChat): still refused, it stays marked; allowed again, it
    is cleared; of the two waiting bulletins only the newer is sent (the reply says so), and the group gets the next
    bulletin."""
    office = Office(cloned, settings)
    await started(office)
    office.fake.group_permissions(GROUP, can_send_messages=False, can_send_photos=False, can_send_documents=False)

    office.travel(at(10, 12, 9, 0))
    assert [p.period for p in await office.tick()] == ["2026-W41"]
    calls = await office.deliver()
    assert texts(WANG, calls)
    [tried] = to(GROUP, calls, method=None)  # the first refused: the others are not tried
    assert not tried.ok and "not enough rights to send text messages to the chat" in (tried.error or "")
    async with cloned.session() as session:
        rows = (await session.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == str(GROUP)))).all()
    assert len(rows) > 1 and {(r.state, r.attempts) for r in rows} == {(PENDING, 0)}  # they wait, no try counted
    [told] = texts(ADMIN, calls) + texts(ADMIN, await office.deliver())
    assert "机器人向通报群「重点项目领导小组」发送消息被拒绝" in told and "全体成员禁言" in told, told
    assert "在该群里发送 <code>/groups add</code> 恢复发送" in told
    listed, cli = await marks(cloned)
    assert "⚠️ 已禁言：机器人于 2026-10-12 09:00 在该群被禁言" in listed and "\t已禁言" in cli, (listed, cli)
    forget_refused(office)

    office.travel(at(10, 19, 9, 0))
    assert [p.period for p in await office.tick()] == ["2026-W42"]
    calls = await office.deliver()
    assert texts(WANG, calls) and to(GROUP, calls, method=None) == []  # marked: not tried
    assert texts(ADMIN, calls) == []  # told once

    still = await cloned.send(ADMIN, f"/groups add {GROUP} 重点项目领导小组")
    assert "机器人在该群仍被禁言，该群仍为「已禁言」" in still, still
    assert office.fake.calls_of("getChat", chat_id=GROUP)
    office.fake.group_permissions(GROUP)  # the group admin lets members speak again
    back = await cloned.send(ADMIN, "/groups add 重点项目领导小组", chat_id=GROUP)
    assert "机器人在该群已恢复发送消息的权限" in back, back
    assert "以下通报已过时，不再补发：2026-W41 周通报" in back, back
    assert "暂停期间暂存的 2026-W42 周通报现补发到该群" in back, back
    listed, cli = await marks(cloned)
    assert "已禁言" not in listed and "已禁言" not in cli
    async with cloned.session() as session:
        entries = await entries_for(session, object_key=f"telegram:{GROUP}")
        rows = (await session.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == str(GROUP)))).all()
    assert [e.action for e in entries if e.action != "group.add"] == ["group.unmuted", "group.muted"]
    assert [e.detail["superseded"] for e in entries if e.action == "group.unmuted"] == [["weekly:2026-W41"]]
    assert rows and {r.state for r in rows if ":2026-W41:" in r.dedupe_key} == {SUPERSEDED}
    sent = texts(GROUP, await office.deliver())
    assert "重点项目周通报（2026-W42" in sent[0] and not any("2026-W41" in text for text in sent)

    office.travel(at(10, 26, 9, 0))
    assert [p.period for p in await office.tick()] == ["2026-W43"]
    group = texts(GROUP, await office.deliver())
    assert group and "重点项目周通报（2026-W43" in group[0]


async def test_a_muted_mark_found_by_a_refused_send_goes_when_a_later_send_gets_through(
        cloned: TelegramHarness, settings: Settings) -> None:  # noqa: F811
    """Found muted by a refused bulletin, the group is cleared by the next message that reaches it (a command
    answered there once its members may speak again), and the admins hear of it once."""
    office = Office(cloned, settings)
    await started(office)
    office.fake.group_permissions(GROUP, can_send_messages=False)
    office.travel(at(10, 12, 9, 0))
    await office.tick()
    [told] = texts(ADMIN, await office.deliver()) + texts(ADMIN, await office.deliver())
    assert "发送消息被拒绝" in told, told
    forget_refused(office)

    office.fake.group_permissions(GROUP)
    office.travel(at(10, 13, 10, 0))
    assert "排名" in await cloned.send(ADMIN, "/rank", chat_id=GROUP)  # answered in the group: it got through
    [told] = texts(ADMIN, await office.deliver())
    assert "机器人在通报群「重点项目领导小组」已恢复发送消息的权限" in told, told
    listed, _cli = await marks(cloned)
    assert "已禁言" not in listed


async def test_a_bot_told_it_may_not_send_files_sends_the_text_with_a_line_for_each_file(
        cloned: TelegramHarness, settings: Settings) -> None:  # noqa: F811
    """Restricted with text allowed but not photos nor files (Telegram's my_chat_member update): the group is
    marked 不能发图片和文件 in /groups and `diaodu groups`, the admins told once; each bulletin's text still goes there,
    and a line in place of each chart and workbook says where to get it. Allowed files again: cleared, told once,
    and the next bulletin's files go."""
    office = Office(cloned, settings)
    await started(office)
    office.travel(at(10, 9, 17, 0))
    update = office.fake.bot_standing(GROUP, "restricted", user_id=HAO, photos=False, documents=False)
    await cloned.wait_processed(update["update_id"])
    [told] = texts(ADMIN, await office.deliver())
    assert "机器人在通报群「重点项目领导小组」能发文字，但没有发送图片和文件的权限" in told, told
    listed, cli = await marks(cloned)
    assert "⚠️ 不能发图片和文件：机器人自 2026-10-09 17:00 起不能在该群发送图片和文件" in listed, listed
    assert "\t不能发图片和文件" in cli and "已禁言" not in listed

    office.travel(at(10, 12, 9, 0))
    assert [p.period for p in await office.tick()] == ["2026-W41"]
    calls = await office.deliver()
    refused = file_calls(calls)
    assert refused and not any(c.ok for c in refused)
    group = texts(GROUP, calls)
    assert "重点项目周通报（2026-W41" in group[0]
    notes = [t for t in group if NOTE in t]
    assert len(notes) == len(refused), group
    assert any(".xlsx" in t for t in notes)
    assert texts(ADMIN, calls) == []  # told once, not once per file
    forget_refused(office)

    office.travel(at(10, 14, 11, 0))
    await cloned.wait_processed(office.fake.bot_standing(GROUP, "restricted", user_id=HAO)["update_id"])
    [told] = texts(ADMIN, await office.deliver())
    assert "机器人在通报群「重点项目领导小组」已能发送图片和文件" in told, told
    listed, cli = await marks(cloned)
    assert "不能发" not in listed and "不能发" not in cli

    office.travel(at(10, 19, 9, 0))
    assert [p.period for p in await office.tick()] == ["2026-W42"]
    calls = await office.deliver()
    assert file_calls(calls) and all(c.ok for c in file_calls(calls))
    assert not [t for t in texts(GROUP, calls) if NOTE in t]
    async with cloned.session() as session:
        entries = await entries_for(session, object_key=f"telegram:{GROUP}")
    assert [e.action for e in entries] == ["group.files_back", "group.no_files"]


async def test_a_group_refusing_the_bots_files_is_found_by_the_bulletin_and_cleared_when_a_file_gets_through(
        cloned: TelegramHarness, settings: Settings) -> None:  # noqa: F811
    """The group's own permissions forbid photos and files (no update to the bot): the first bulletin's files are
    refused, each replaced by its line, and the group is marked 不能发图片和文件, the admins told once. /groups add asks
    Telegram and says it still may not send files; once the group allows them, the next bulletin's files go and
    the mark goes, the admins told."""
    office = Office(cloned, settings)
    await started(office)
    office.fake.group_permissions(GROUP, can_send_photos=False, can_send_documents=False)
    office.travel(at(10, 12, 9, 0))
    await office.tick()
    calls = await office.deliver()
    refused = file_calls(calls)
    assert refused and not any(c.ok for c in refused)
    assert len([t for t in texts(GROUP, calls) if NOTE in t]) == len(refused)
    [told] = texts(ADMIN, calls) + texts(ADMIN, await office.deliver())
    assert "能发文字，但没有发送图片和文件的权限" in told, told
    async with cloned.session() as session:
        [group] = (await session.scalars(select(BulletinGroup))).all()
    assert group.files_refused_at is not None and group.left_at is None
    forget_refused(office)

    still = await cloned.send(ADMIN, f"/groups add {GROUP} 重点项目领导小组")
    assert "机器人在该群仍不能发送图片和文件" in still, still
    office.fake.group_permissions(GROUP)
    office.travel(at(10, 19, 9, 0))
    await office.tick()
    calls = await office.deliver()
    assert file_calls(calls) and all(c.ok for c in file_calls(calls))
    [told] = texts(ADMIN, calls) + texts(ADMIN, await office.deliver())
    assert "机器人在通报群「重点项目领导小组」已能发送图片和文件" in told, told
    listed, _cli = await marks(cloned)
    assert "不能发" not in listed


async def test_groups_add_clears_the_no_files_mark_once_telegram_says_the_bot_may_send_files(
        cloned: TelegramHarness, settings: Settings) -> None:  # noqa: F811
    """Typed in the group once its admin allowed files again, /groups add asks Telegram (getChatMember, getChat)
    and clears the 不能发文件 mark (documents refused) at once, without waiting for the next bulletin."""
    office = Office(cloned, settings)
    await started(office)
    office.fake.group_permissions(GROUP, can_send_documents=False)
    office.travel(at(10, 12, 9, 0))
    await office.tick()
    await office.deliver()
    forget_refused(office)
    listed, _cli = await marks(cloned)
    assert "⚠️ 不能发文件" in listed, listed

    office.fake.group_permissions(GROUP)
    back = await cloned.send(ADMIN, "/groups add 重点项目领导小组", chat_id=GROUP)
    assert "机器人在该群已能发送文件，此后通报的表格照常发到该群" in back, back
    listed, cli = await marks(cloned)
    assert "不能发" not in listed and "不能发" not in cli


async def test_a_group_taking_documents_and_not_photos_is_marked_once_and_stays_marked(
        cloned: TelegramHarness, settings: Settings) -> None:  # noqa: F811
    """Telegram grants photos and documents apart. A group letting members send documents, not photos: the
    bulletin's charts are refused, its workbook goes. The group is marked 不能发图片 (not 不能发文件), the admins
    told so once; the workbook getting through does not clear the mark, and the next bulletin tells nobody and
    writes no audit row."""
    office = Office(cloned, settings)
    await started(office)
    office.fake.group_permissions(GROUP, can_send_photos=False)
    office.travel(at(10, 12, 9, 0))
    await office.tick()
    calls = await office.deliver()
    assert [c.ok for c in file_calls(calls) if c.method == "sendPhoto"] and not any(
        c.ok for c in file_calls(calls) if c.method == "sendPhoto")
    assert [c for c in file_calls(calls) if c.method == "sendDocument" and c.ok]
    notes = [t for t in texts(GROUP, calls) if NOTE in t]
    assert notes and all("没有发送图片的权限" in t and "「下载」页" in t for t in notes), notes
    [told] = texts(ADMIN, calls) + texts(ADMIN, await office.deliver())
    assert "能发文字，但没有发送图片的权限：通报的文字照常发到该群，图表发不出去" in told, told
    assert "已能发送" not in told
    listed, cli = await marks(cloned)
    assert "⚠️ 不能发图片：机器人自 2026-10-12 09:00 起不能在该群发送图片，" in listed, listed
    assert "\t不能发图片" in cli and "不能发文件" not in cli, cli
    forget_refused(office)

    assert len(office.fake.calls_of("getChat")) == 1  # asked once, when the charts were first refused

    office.travel(at(10, 19, 9, 0))
    await office.tick()
    calls = await office.deliver()
    assert [c for c in file_calls(calls) if c.method == "sendDocument" and c.ok]
    assert texts(ADMIN, calls) + texts(ADMIN, await office.deliver()) == []
    assert len(office.fake.calls_of("getChat")) == 1  # marked already: not asked again
    listed, _cli = await marks(cloned)
    assert "⚠️ 不能发图片" in listed, listed
    async with cloned.session() as session:
        entries = await entries_for(session, object_key=f"telegram:{GROUP}")
    assert [e.action for e in entries if e.action != "group.add"] == ["group.no_files"]
    assert entries[0].detail["kinds"] == ["photos"]
    forget_refused(office)


async def test_the_marks_stay_when_telegram_cannot_say_what_the_group_lets_its_members_send(
        cloned: TelegramHarness, settings: Settings) -> None:  # noqa: F811
    """Marked 不能发图片和文件, the bot's own rights change (a my_chat_member update) while getChat fails: what the
    group lets its members send is unknown, so the mark stays and nobody is told; /groups add says it cannot be
    confirmed now (暂时无法确认)."""
    office = Office(cloned, settings)
    await started(office)
    office.fake.group_permissions(GROUP, can_send_photos=False, can_send_documents=False)
    office.travel(at(10, 12, 9, 0))
    await office.tick()
    await office.deliver()
    await office.deliver()
    forget_refused(office)
    listed, _cli = await marks(cloned)
    assert "⚠️ 不能发图片和文件" in listed, listed

    office.fake.inject_fault("getChat", status=500, retry_after=0)
    office.travel(at(10, 13, 10, 0))
    await cloned.wait_processed(office.fake.bot_standing(GROUP, "member", user_id=HAO)["update_id"])
    assert texts(ADMIN, await office.deliver()) == []
    listed, _cli = await marks(cloned)
    assert "⚠️ 不能发图片和文件" in listed, listed
    asked = await cloned.send(ADMIN, "/groups add 重点项目领导小组", chat_id=GROUP)
    assert "暂时无法确认机器人能否在该群发送图片和文件，该群仍标为「不能发图片和文件」" in asked, asked
    office.fake.clear_faults("getChat")
    office.fake.calls[:] = [c for c in office.fake.calls if c.method != "getChat"]


async def test_groups_add_says_still_only_of_a_group_marked_unable_to_send_files(
        cloned: TelegramHarness, settings: Settings) -> None:  # noqa: F811
    """A group the bot was taken out of (已移出, never marked for files) is added back where it may not send
    documents: /groups add says it is back and that it cannot send 文件, not that it still (仍) cannot."""
    office = Office(cloned, settings)
    await started(office)
    office.travel(at(10, 9, 17, 0))
    await cloned.wait_processed(office.fake.bot_standing(GROUP, "left", user_id=HAO)["update_id"])
    await office.deliver()
    listed, _cli = await marks(cloned)
    assert "⚠️ 已移出" in listed, listed
    office.fake.bot_standing(GROUP, "member", user_id=HAO, told=False)
    office.fake.group_permissions(GROUP, can_send_documents=False)
    back = await cloned.send(ADMIN, f"/groups add {GROUP} 重点项目领导小组")
    assert "机器人已回到该群" in back, back
    assert "机器人在该群不能发送文件：通报的文字照常发送，表格以一行说明代替" in back, back
    assert "仍不能" not in back
    listed, _cli = await marks(cloned)
    assert "⚠️ 不能发文件" in listed, listed


async def test_a_chart_refused_in_a_group_outside_the_bulletins_does_not_point_to_the_download_page(
        cloned: TelegramHarness, settings: Settings) -> None:  # noqa: F811
    """/rank 填报 typed in a group that takes no photos: its heat map is not among the web page's downloads, so the
    line in its place says to ask the 区项目办 or to send the command in a private chat."""
    office = Office(cloned, settings)
    await started(office)
    office.fake.group_permissions(GROUP, can_send_photos=False)
    office.travel(at(10, 13, 10, 0))
    answered = await cloned.send(ADMIN, "/rank 填报", chat_id=GROUP)
    [note] = [t for t in answered.texts if NOTE in t]
    assert "没有发送图片的权限" in note and "在与机器人的私聊中发送同一命令获取" in note, note
    assert "下载" not in note
    forget_refused(office)
