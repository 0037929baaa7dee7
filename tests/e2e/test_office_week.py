"""A working week of a district office's chat as people type it, through the real python-telegram-bot
Application and the fake Bot API (which refuses what Telegram would: bad HTML, texts over 4,096
characters).

郝芳 (1001, liaison of ZD2026-001, and here of ZD2026-002 too) reports with a paragraph of 下步计划 on several
lines, pastes a row of her own spreadsheet (tabs, the project's name after its code), types in a Chinese
keyboard's full-width mode, sends a captioned photo whose words look like HTML, answers the bot with
figures but no code, raises a problem written in paragraphs, and once a text three times too long. 赵芳
(3003, 区住建局's handler) answers it with the day it will be done by, written as people write it
(「11月27日前」), and reports it solved; 郝芳 confirms it. The 项目办 admin (9001) reads the project and the
problem. A stranger, a forum group and an edit get what they should.

Each day is asserted on what each person was shown (parsed as Telegram shows it) and on what was stored:
the texts as typed, line breaks included; each report counted once in the year's figure /project shows.
Calendar: Monday 2026-11-16 … Friday 2026-11-20, all working days.
"""

from __future__ import annotations

import re
import time
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from storage import people
from storage.models import Problem, Project, ReportPhoto
from tests.e2e import test_problems as base
from tests.e2e.harness import Replies, TelegramHarness
from tests.e2e.test_problems import ADMIN, HAO, ZHAO, Desk
from tests.fakes.bot_api import MAX_TEXT, parse_telegram_html, utf16_len

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
SHANGHAI = ZoneInfo("Asia/Shanghai")
CODE = "ZD2026-001"
NAME = "城北高速连接线"
OTHER = "ZD2026-002"  # 滨江四期沿江路 (前期), which 郝芳 is given as well
STRANGER = 7777
FORUM = -1009876

# Monday's report: the progress, then the next steps, each on its own line; markup-looking words and an emoji.
MONDAY = "主体结构完成60%，<b>二层</b>楼板浇筑中 & 模板安装\n下步计划：\n1. 完成二层楼板浇筑；\n2. 推进幕墙招标😀。"
# A row copied from her own sheet: code, the project's name, amount, progress; the cells are tab-separated.
TUESDAY_ROW = f"{CODE}\t{NAME}\t1,200\t二层楼板浇筑完成\t"
PROBLEM = ("项目红线内还有<b>12户</b>未签订征收补偿协议 &amp; 2处坟墓未迁移，影响路基施工：\n"
           "一、K3+200至K3+800段无法进场；\n"
           "二、施工单位已停工待场，每日窝工损失约3万元。\n"
           "请区住建局协调街道加快签约。")
ANSWER = "已协调区自然资源局<b>加快</b>组卷报批 & 街道入户做工作"
RESULT = "12户已全部签约，坟墓已迁移，<i>施工单位</i>已进场"


def day(d: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, 11, d, hour, minute, tzinfo=SHANGHAI)


def shown(replies: Replies) -> str:
    """What the chat shows of the replies: each message's HTML as Telegram renders it, one after the other."""
    return "\n".join(parse_telegram_html(t) for t in replies.texts)


def ytd(card: str) -> Decimal:
    """The year-to-date completed investment a project card shows (年度累计完成：26,901.0 万元)."""
    match = re.search(r"年度累计完成：([0-9,.]+) 万元", card)
    assert match, card
    return Decimal(match[1].replace(",", ""))


async def problem(tg: TelegramHarness) -> Problem:
    async with tg.session() as session:
        found = list((await session.scalars(select(Problem))).unique().all())
    assert len(found) == 1, found
    return found[0]


@pytest.fixture
async def desk(telegram: TelegramHarness) -> Desk:
    return await base.bind_everyone(telegram)


async def test_a_week_of_real_typing_is_stored_as_typed_and_counted_once(desk: Desk) -> None:
    tg = desk.tg
    async with tg.session() as session:  # 郝芳 follows a second project too, as many liaisons do
        hao = (await people.find_people_by_name(session, name="郝芳"))[0]
        await session.execute(update(Project).where(Project.code == OTHER).values(liaison_id=hao.id))
    baseline = ytd(shown(await tg.send(ADMIN, f"/project {CODE}")))

    # --- Monday: a report with its paragraph of next steps --------------------------------------------------
    desk.travel(day(16))
    saved = await tg.send(HAO, f"/report {CODE} 850万 {MONDAY}")
    assert "已记录填报" in saved and "850万 = 850.0 万元" in saved, saved
    assert MONDAY in shown(saved)  # escaped, and shown on its lines
    assert f"{MONDAY}\n{CODE} {NAME}\n" in shown(saved)  # its own full stop ends the sentence, not doubled
    [monday] = await tg.reports()
    assert monday.progress_text == MONDAY and monday.amount == Decimal(850)
    card = shown(await tg.send(ADMIN, f"/project {CODE}"))
    assert MONDAY in card and ytd(card) == baseline + 850

    # --- Tuesday: a row pasted from her spreadsheet, then a problem in paragraphs ---------------------------
    desk.travel(day(17))
    pasted = await tg.send(HAO, TUESDAY_ROW)
    assert "已记录填报" in pasted, pasted
    assert "1,200（未写单位，按万元计）= 1,200.0 万元，二层楼板浇筑完成。" in shown(pasted)
    assert [r.progress_text for r in await tg.reports()] == [MONDAY, "二层楼板浇筑完成"]
    other = await tg.send(HAO, f"{OTHER}\t滨江四期沿江路\t50\t可研报告已报审")  # her other project's row
    assert "已记录填报" in other and "可研报告已报审。" in shown(other), other
    assert [r.amount for r in await tg.reports(OTHER)] == [50]
    named = await tg.send(HAO, f"{CODE} {NAME}")  # the code and the name only: the guided report asks the amount
    assert "请输入本期完成投资" in named and "无法识别金额" not in named.text, named
    await tg.send(HAO, "/cancel")

    too_long = await tg.send(HAO, f"/issue {CODE} 征地拆迁 " + "十二户未签约" * 500)  # 3,000 characters
    assert "问题描述最多 1000 个字，这次有 3000 个字，未保存" in too_long, too_long
    raised = await tg.send(HAO, f"/issue {CODE} 征地拆迁 {PROBLEM}")
    assert "编号 W0001" in shown(raised) and "已交办 区住建局" in shown(raised), raised
    assert (await problem(tg)).text == PROBLEM  # one problem, its lines kept

    inbox = await desk.deliver()
    notice = parse_telegram_html(inbox.text(ZHAO))
    assert "项目红线内还有<b>12户</b>未签订征收补偿协议 &amp; 2处坟墓未迁移" in notice  # quoted as typed, in part
    assert "请区住建局协调街道加快签约" not in notice and "/issue W0001" in notice
    card = await tg.send(ZHAO, "/issue W0001")
    assert PROBLEM in shown(card), card  # the whole text, on its lines

    # --- Wednesday: the unit answers with the day it will be done by ----------------------------------------
    desk.travel(day(18, 10))
    answered = await tg.send(ZHAO, f"/answer W0001 11月27日前 {ANSWER}")
    assert "W0001 已答复" in answered and "延期" not in answered.text, answered
    held = await problem(tg)
    assert held.answer_text == ANSWER and held.promised_date == date(2026, 11, 27)
    told = parse_telegram_html((await desk.deliver()).text(HAO))
    assert f"内容：{ANSWER}" in told, told  # no stray 前 before the answer, markup shown as typed

    keyboard = await tg.send(HAO, "ＺＤ２０２６－００１\u3000８５０万元；主体完成６０％")  # full-width mode
    assert "已记录填报" in keyboard and "８５０万元 = 850.0 万元，主体完成６０％。" in shown(keyboard), keyboard

    # --- Thursday: a captioned photo, a forum group, a stranger and an edit ---------------------------------
    desk.travel(day(19))
    # She answers the bot's last message with the figures alone, as people answer a reminder: not stored, and
    # told the line to send instead (before, "没有看懂这条消息").
    last = tg.fake.calls_of("sendMessage", chat_id=HAO, ok=True)[-1]
    uncoded = await tg.message(HAO, {"text": "300 幕墙招标挂网", "reply_to_message": {
        "message_id": last.result["message_id"], "from": tg.fake.bot_user, "date": 0, "text": last["text"],
        "chat": {"id": HAO, "type": "private", "first_name": "郝芳"}}})
    assert "没有写项目编号，未保存" in uncoded and f"{CODE} 300 幕墙招标挂网" in shown(uncoded), uncoded
    assert f"您负责的项目：{CODE}、{OTHER}。" in shown(uncoded)
    assert len(await tg.reports()) == 3

    alone = await tg.photo(HAO)  # a site photo with no words: said not saved, and how to send it
    assert "照片未保存" in alone and "在照片说明中写" in alone, alone

    caption = "<i>幕墙</i>招标挂网 &amp; 公示"
    photo = await tg.photo(HAO, caption=f"{CODE} 300 {caption}")
    assert "已记录填报" in photo and f"{caption}，照片 1 张。" in shown(photo), photo
    thursday = (await tg.reports())[-1]
    async with tg.session() as session:
        photos = await session.scalar(select(func.count(ReportPhoto.id)).where(ReportPhoto.report_id == thursday.id))
    assert thursday.progress_text == caption and photos == 1

    tg.fake.group(FORUM, kind="supergroup", title="城北片区调度群", forum=True)
    topic = tg.fake.topic(FORUM, "每日调度")
    ranked = await tg.send(HAO, "/rank@diaodu_bot", chat_id=FORUM, thread_id=topic)
    assert "当前排名" in ranked and all(c["message_thread_id"] == topic for c in ranked.messages), ranked
    assert (await tg.send(HAO, f"{CODE} 999 群里随口说的", chat_id=FORUM, thread_id=topic)).messages == []
    stranger = await tg.send(STRANGER, f"{CODE} 999 桩基")
    assert "您还没有绑定账号" in stranger
    edited = await tg.edit(HAO, f"{CODE} 3000 {caption}")
    assert "不会被重新读取" in edited, edited
    assert [r.amount for r in await tg.reports()] == [850, 1200, 850, 300]  # none of the three counted

    # --- Friday: solved, confirmed; the week's figures ------------------------------------------------------
    desk.travel(day(20, 16))
    solved = await tg.send(ZHAO, f"/resolved W0001 {RESULT}")
    assert "W0001 已报告解决，等待提出人确认销号" in solved, solved
    told = parse_telegram_html((await desk.deliver()).text(HAO))
    assert RESULT in told and "确认销号" in told, told
    closed = await tg.send(HAO, "/confirm W0001")
    assert "销号" in closed.text, closed
    assert (await problem(tg)).status == "closed"

    card = shown(await tg.send(ADMIN, f"/project {CODE}"))
    assert ytd(card) == baseline + 850 + 1200 + 850 + 300  # every day's report once, nothing else
    history = shown(await tg.send(ADMIN, "/audit W0001")).splitlines()
    assert len(history) == 5 and all(line.startswith("2026-11-") for line in history[1:]), history  # a line each
    assert any(f"答复：{ANSWER}" in line for line in history) and "提出：项目红线内" in history[-1]
    assert all(utf16_len(parse_telegram_html(c["text"])) <= MAX_TEXT
               for c in tg.fake.calls_of("sendMessage", ok=True))
    tg.assert_nothing_failed()


def bot_taken_out(tg: TelegramHarness, chat_id: int, *, by: int, status: str = "kicked") -> dict:
    """Telegram's update to the bot when a member removes it from a group (my_chat_member, status left/kicked)."""
    chat = tg.fake.group(chat_id, kind="supergroup", title="城北片区调度群")
    return tg.fake.enqueue_update({"my_chat_member": {
        "chat": chat, "from": tg.fake.user(by), "date": int(time.time()),
        "old_chat_member": {"user": tg.fake.bot_user, "status": "member"},
        "new_chat_member": {"user": tg.fake.bot_user, "status": status, "until_date": 0}}})


async def test_the_admins_are_told_when_the_bot_is_taken_out_of_a_bulletin_group(desk: Desk) -> None:
    """A member tidying the group removes the bot: the bulletins would stop without a word. The admins are
    told at once; a group that gets no bulletins, or a member leaving, tells nobody anything."""
    tg = desk.tg
    tg.fake.group(FORUM, kind="supergroup", title="城北片区调度群")
    assert "已将本群添加为通报群「城北调度群」" in await tg.send(ADMIN, "/groups add 城北调度群", chat_id=FORUM)

    left = tg.fake.text_update(HAO, "", chat_id=FORUM)  # 郝芳 leaves the group: her business
    del left["message"]["text"]
    left["message"]["left_chat_member"] = tg.fake.user(HAO)
    await tg.wait_processed(tg.fake.enqueue_update(left)["update_id"])
    await tg.wait_processed(bot_taken_out(tg, -1005550001, by=HAO)["update_id"])  # no bulletin group
    assert (await desk.deliver()).chats == set()

    taken_out = bot_taken_out(tg, FORUM, by=HAO)
    await tg.wait_processed(taken_out["update_id"])
    inbox = await desk.deliver()
    assert inbox.chats == {ADMIN}, inbox
    told = parse_telegram_html(inbox.text(ADMIN))
    assert "机器人已被移出通报群「城北调度群」（群名「城北片区调度群」）" in told and f"/groups remove {FORUM}" in told
    tg.clock.advance(minutes=3)  # Telegram sends the same change again: the admins were told already
    again = tg.fake.enqueue_update({key: value for key, value in taken_out.items() if key != "update_id"})
    await tg.wait_processed(again["update_id"])
    assert (await desk.deliver()).chats == set()
    assert "已移出" in await tg.send(ADMIN, "/groups")
    # the bot back (Telegram's news of it lost): /groups add typed in the group says it is in, so bulletins go there
    assert "已移出" not in await tg.send(ADMIN, "/groups add 城北调度群", chat_id=FORUM)
    assert "已移出" not in await tg.send(ADMIN, "/groups")
    removed = await tg.send(ADMIN, f"/groups remove {FORUM}")  # the way on the notice gives works as written
    assert "已移除通报群「城北调度群」" in removed, removed
    tg.assert_nothing_failed()
