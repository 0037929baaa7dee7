"""What Telegram itself makes hard, through the real python-telegram-bot Application and the fake Bot API: page
buttons of a search too long for a button's data, forum topics, and a user pressing and typing what the bot
does not expect.

郝芳 (1001) is the liaison of ZD2026-001; the clock is Friday 2026-11-20 10:00, a working day.
"""

from __future__ import annotations

from datetime import time

import pytest
from sqlalchemy import func, select, update

from bot.channels.telegram_transport import TelegramTransport
from bot.domain.messages import Reply
from bot.services.outbox import OutboxSender
from jobs import reminders
from storage import people
from storage.models import BulletinGroup, Project, ReportPhoto
from tests.e2e.harness import START, Replies, TelegramHarness
from tests.e2e.test_group_chats import ADMIN, ADMIN_NAME, bind_directly

HAO = 1001
WU = 1002  # 武杰, liaison of ZD2026-002
LONG_WORDS = "城市更新老旧小区改造提升工程配套基础设施"  # 20 characters, 60 bytes of UTF-8


@pytest.fixture
async def tg(telegram: TelegramHarness) -> TelegramHarness:
    await telegram.bind(HAO, "郝芳")
    return telegram


async def _name_projects(tg: TelegramHarness, words: str, count: int) -> None:
    async with tg.session() as session:
        projects = (await session.scalars(select(Project).order_by(Project.code).limit(count))).all()
        for project in projects:
            project.name = f"{words}{project.name}"


async def test_a_search_too_long_for_a_button_still_pages_and_an_old_one_says_it_expired(tg: TelegramHarness) -> None:
    await _name_projects(tg, LONG_WORDS, 12)
    first = await tg.send(HAO, f"/project {LONG_WORDS}")
    assert "第 1/2 页" in first.text, first
    assert "下一页" in first.buttons, first.buttons  # the words are kept by the bot, the button carries a key
    second = await tg.press(HAO, "下一页")
    assert "第 2/2 页" in second.text and LONG_WORDS in second.text, second
    assert "上一页" in second.buttons
    back = await tg.press(HAO, "上一页")
    assert "第 1/2 页" in back.text
    await _name_projects(tg, "~城北", 12)  # a search that starts like a key
    tilde = await tg.send(HAO, "/project ~城北")
    assert "第 1/2 页" in tilde.text and "下一页" in tilde.buttons
    assert "第 2/2 页" in (await tg.press(HAO, "下一页")).text
    back = await tg.press(HAO, "上一页")
    tg.clock.advance(days=31)
    expired = await tg.press(HAO, "下一页")
    assert "已过期" in expired.text and "/project" in expired.text, expired
    tg.assert_nothing_failed()


FORUM = -1005550001


async def test_a_forum_is_answered_in_the_topic_asked_from_and_gets_its_bulletins_there(tg: TelegramHarness) -> None:
    """In a forum supergroup a command typed in a topic is answered in that topic (not in General); a group
    added as a bulletin group from a topic gets its bulletins there, and in General once the topic is deleted."""
    tg.fake.group(FORUM, kind="supergroup", title="重点项目调度", forum=True)
    topic = tg.fake.topic(FORUM, "周通报")
    await bind_directly(tg, ADMIN, ADMIN_NAME)

    ranked = await tg.send(HAO, "/rank", chat_id=FORUM, thread_id=topic)
    assert ranked.messages and all(c.get("message_thread_id") == topic for c in ranked.messages), ranked.calls
    general = await tg.send(HAO, "/rank", chat_id=FORUM)
    assert general.messages and all(c.get("message_thread_id") is None for c in general.messages)
    private = await tg.send(HAO, "/mine", chat_id=FORUM, thread_id=topic)  # the pointer to the private chat too
    assert "请私聊我" in private.text and private.last.get("message_thread_id") == topic

    assert "已将本群添加为通报群「周通报」" in await tg.send(ADMIN, "/groups add 周通报", chat_id=FORUM)
    added = await tg.send(ADMIN, "/groups add", chat_id=FORUM, thread_id=topic)  # moved to the topic
    assert "通报群「周通报」此后的定期通报改发到这里" in added.text and added.last.get("message_thread_id") == topic
    assert "周通报" in await tg.send(ADMIN, "/groups", chat_id=FORUM)  # the same group, seen from General
    async with tg.session() as session:
        [group] = (await session.scalars(select(BulletinGroup))).all()
    transport = TelegramTransport(tg.application.bot)
    await transport.send(group.chat_id, Reply(html="<b>本周通报</b>"))
    [bulletin] = tg.fake.calls_of("sendMessage", chat_id=FORUM, text="<b>本周通报</b>", ok=True)
    assert bulletin.get("message_thread_id") == topic

    tg.fake.delete_topic(FORUM, topic)
    mark = len(tg.fake.calls)
    await transport.send(group.chat_id, Reply(html="<b>下周通报</b>"))
    refused, sent = tg.fake.calls_of("sendMessage", since=mark, chat_id=FORUM)
    assert refused.error and "message thread not found" in refused.error
    assert sent.ok and sent.get("message_thread_id") is None  # in General rather than lost
    tg.fake.calls = tg.fake.calls[:mark]  # the refusal above was the point

    closed = tg.fake.topic(FORUM, "已关闭的话题")
    tg.fake.close_topic(FORUM, closed)
    await transport.send(f"{FORUM}/{closed}", Reply(html="<b>月度通报</b>"))
    refused, sent = tg.fake.calls_of("sendMessage", since=mark, chat_id=FORUM)
    assert "TOPIC_CLOSED" in str(refused.error) and sent.ok and sent.get("message_thread_id") is None
    tg.fake.calls = tg.fake.calls[:mark]


# Text a hostile (or clumsy) user sends, 4,000 characters long: each answer quotes a short start of it, in one
# message, never the whole text back over several.
FLOODS = [
    "/" + "报" * 4000,
    "/" + "a" * 4000,
    "/project " + "<i>城北" * 800,
    "/issue " + "W" * 4000,
    "/node " + "城北" * 2000,
    "/halfmonth " + "<b>" * 1300,
    "/leave " + "<b>&amp;\u202e" * 400,
    "/report ZD2026-001 " + "9" * 4000 + " 桩基",
]


async def test_a_flood_of_text_is_answered_in_one_short_message(tg: TelegramHarness) -> None:
    for text in FLOODS:
        answer = await tg.send(HAO, text)
        assert len(answer.messages) == 1 and len(answer.text) < 600, (text[:20], answer.texts)
        assert "…" in answer.text, (text[:20], answer.text)
    tg.assert_nothing_failed()


async def test_a_reminder_of_two_projects_keeps_the_second_button_after_the_first_report(
        tg: TelegramHarness) -> None:
    """A liaison reminded of two projects reports the first through its button, then the second from the same
    reminder: the pressed 填报 is marked, the other stays."""
    async with tg.session() as session:
        [hao] = await people.find_people_by_name(session, name="郝芳")
        await session.execute(update(Project).where(Project.code == "ZD2026-002").values(liaison_id=hao.id))
    tg.clock.set(START.replace(hour=16))
    await reminders.run(tg.core.db, tg.clock.now(), tg.core.deps.renderer, slot=time(16, 0))
    await OutboxSender(tg.core.db, tg.clock, {"telegram": TelegramTransport(tg.application.bot)}).drain(10)
    message_id, _ = tg.fake.find_button(HAO, label="填报 ZD2026-001")
    assert "请输入本期完成投资" in await tg.press(HAO, "填报 ZD2026-001")
    await tg.send(HAO, "300")
    await tg.send(HAO, "路面基层施工")
    await tg.press(HAO, "完成（不再上传照片）")
    assert "已记录" in await tg.press(HAO, "确认")
    shown = [b["text"] for row in tg.fake.messages[(HAO, message_id)]["reply_markup"]["inline_keyboard"]
             for b in row]
    assert shown == ["✓ 填报 ZD2026-001", "填报 ZD2026-002"], shown
    assert "请输入本期完成投资" in await tg.press(HAO, "填报 ZD2026-002")


async def _reminded(tg: TelegramHarness, user: int = HAO) -> int:
    """The 16:00 reminders run and are sent; the id of the reminder message `user` (郝芳) got."""
    tg.clock.set(START.replace(hour=16))
    await reminders.run(tg.core.db, tg.clock.now(), tg.core.deps.renderer, slot=time(16, 0))
    await OutboxSender(tg.core.db, tg.clock, {"telegram": TelegramTransport(tg.application.bot)}).drain(10)
    [reminder] = [c for c in tg.fake.calls_of("sendMessage", chat_id=user, ok=True)
                  if c["text"].startswith("⏰ <b>填报提醒")]
    return int(reminder.result["message_id"])


async def _answer(tg: TelegramHarness, message_id: int, text: str, *, user: int = HAO, photo: bool = False
                  ) -> Replies:
    """`user` (郝芳) answers the bot's message `message_id` (Telegram's reply to it) with `text`, typed or (`photo`)
    as the caption of a site photo."""
    picture = {"file_id": tg.fake.add_file(), "file_unique_id": f"u{message_id}", "width": 1280, "height": 960,
               "file_size": 200_000}
    said = {"caption": text, "photo": [picture]} if photo else {"text": text}
    return await tg.message(user, {**said, "reply_to_message": {
        "message_id": message_id, "from": tg.fake.bot_user, "date": 0, "text": "⏰ 填报提醒",
        "chat": {"id": user, "type": "private", "first_name": "郝芳"}}})


async def test_an_answer_to_a_reminder_of_one_project_reports_that_project(tg: TelegramHarness) -> None:
    """A liaison answers the reminder (Telegram's reply) with the figures alone, 「850万 桩基完成」: it is the report
    of the reminder's project; the same words not answering a reminder are still asked for their code."""
    reminder = await _reminded(tg)
    saved = await _answer(tg, reminder, "850万 桩基完成!")
    assert "已记录填报" in saved and "850万 = 850.0 万元，桩基完成!" in saved.text, saved
    [report] = await tg.reports()
    assert (report.amount, report.progress_text) == (850, "桩基完成!")
    other = tg.fake.calls_of("sendMessage", chat_id=HAO, ok=True)[-1].result["message_id"]  # the bot's answer
    again = await _answer(tg, other, "900万 承台施工")
    assert "没有写项目编号，未保存" in again, again
    assert len(await tg.reports()) == 1


async def test_a_captioned_photo_answering_a_reminder_of_one_project_is_that_projects_report(
        tg: TelegramHarness) -> None:
    """The site photo 郝芳 sends in answer to the reminder, captioned with the figures alone, is the report of the
    reminder's project with that photo; the same photo answering another message is still said not saved."""
    reminder = await _reminded(tg)
    saved = await _answer(tg, reminder, "850万 桩基完成", photo=True)
    assert "已记录填报" in saved and "桩基完成，照片 1 张。" in saved.text, saved
    [report] = await tg.reports()
    assert (report.amount, report.progress_text) == (850, "桩基完成")
    async with tg.session() as session:
        assert await session.scalar(select(func.count(ReportPhoto.id)).where(ReportPhoto.report_id == report.id)) == 1
    answer = tg.fake.calls_of("sendMessage", chat_id=HAO, ok=True)[-1].result["message_id"]
    again = await _answer(tg, answer, "900万 承台施工", photo=True)
    assert "照片未保存" in again, again
    assert len(await tg.reports()) == 1


async def test_a_substitutes_answer_to_the_reminder_he_got_for_the_absent_liaison_reports_her_project(
        tg: TelegramHarness) -> None:
    """郝芳 is on leave today with 武杰 (liaison of ZD2026-002) reporting in her place. He has reported his own
    project; at 16:00 he is reminded of hers alone, and answers the reminder with the figures: the report of
    ZD2026-001, made by him for her."""
    await tg.bind(WU, "武杰")
    assert "已登记请假" in await tg.send(HAO, "/leave 11-20 武杰")
    assert "已记录填报" in await tg.send(WU, "ZD2026-002 300 路面施工")
    reminder = await _reminded(tg, WU)
    assert "ZD2026-001" in tg.fake.messages[(WU, reminder)]["text"]
    saved = await _answer(tg, reminder, "850万 桩基完成", user=WU)
    assert "已记录填报" in saved and "代 郝芳 填报" in saved.text, saved
    [report] = await tg.reports()
    assert (report.amount, report.progress_text) == (850, "桩基完成")


async def test_an_answer_to_a_reminder_of_several_projects_asks_which_one(tg: TelegramHarness) -> None:
    async with tg.session() as session:
        [hao] = await people.find_people_by_name(session, name="郝芳")
        await session.execute(update(Project).where(Project.code.in_(["ZD2026-002", "ZD2026-003"]))
                              .values(liaison_id=hao.id))
        await session.execute(update(Project).where(Project.code == "ZD2026-003").values(stage="竣工"))
    reminder = await _reminded(tg)
    asked = await _answer(tg, reminder, "850万 桩基完成")
    assert "您回复的提醒中有多个项目，没有写是哪一个，未保存" in asked, asked
    assert "提醒中的项目：ZD2026-001、ZD2026-002。" in asked.text  # not the finished one, not reminded of
    assert await tg.reports() == [] and await tg.reports("ZD2026-002") == []
