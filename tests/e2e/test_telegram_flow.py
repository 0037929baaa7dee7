"""End to end through Telegram: the fake Bot API over HTTP, python-telegram-bot polling it, the router,
an in-memory SQLite database with the sample ledger, and the replies as Telegram receives them.

Users: 1001 is 郝芳 (liaison of ZD2026-001 城北高速连接线: total 68,000 万元, 26,051 done before the
year's reports, annual plan 40,800), 2002 is a stranger, 3003 is 赵芳 (a unit handler).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.app import Core
from bot.channels.telegram import webhook_handler
from bot.config import Settings
from storage import projects as project_repo
from storage.models import ChatAccount
from tests.e2e.harness import Replies, TelegramHarness, e2e_settings, serving
from tests.fakes.bot_api import FakeBotAPI, scope_chat
from tests.polling import until

HAO = 1001
STRANGER = 2002
ZHAO = 3003
CODE = "ZD2026-001"


def assert_html(replies: Replies) -> None:
    """Every message went out as Telegram-HTML and was accepted."""
    assert replies.messages, "the bot sent nothing"
    for call in replies.calls:
        if call.method == "sendMessage":
            assert call.ok, call.error
            assert call["parse_mode"] == ParseMode.HTML


@pytest.fixture
async def hao(telegram: TelegramHarness) -> TelegramHarness:
    """郝芳 bound as liaison in chat 1001."""
    await telegram.bind(HAO, "郝芳", "liaison")
    return telegram


# --- binding -----------------------------------------------------------------------------------------


async def test_invite_binds_greets_and_sets_the_chat_menu(telegram: TelegramHarness,
                                                           fake_api: FakeBotAPI) -> None:
    code = await telegram.invite("郝芳", "liaison")

    replies = await telegram.send(HAO, f"/start {code}")

    assert_html(replies)
    assert "<b>郝芳</b>" in replies.text
    assert "已绑定为：联络员" in replies.text
    assert "/report" in replies.text
    menus = fake_api.calls_of("setMyCommands", ok=True, scope=scope_chat(HAO))
    assert len(menus) == 1
    assert {"report", "undo", "mine", "project"} <= {c["command"] for c in menus[0]["commands"]}
    assert fake_api.menu(scope_chat(HAO)) is not None and "report" in fake_api.menu(scope_chat(HAO))


async def test_a_bare_code_binds_in_a_private_chat_never_in_a_group(telegram: TelegramHarness) -> None:
    code = await telegram.invite("郝芳", "liaison")

    shown = await telegram.send(HAO, code, chat_id=-100777)  # typed in a group: nothing is bound,
    assert "已作废" in shown.text  # and the code, which the whole group saw, is revoked
    async with telegram.session() as session:
        assert (await session.scalars(select(ChatAccount))).all() == []
    assert "已在群聊中公开" in (await telegram.send(HAO, code)).text

    fresh = await telegram.invite("郝芳", "liaison")
    assert "已绑定为：联络员" in (await telegram.send(HAO, fresh)).text


@pytest.mark.parametrize("typed", ["/start {code} 多余", "{code} 多余", "邀请码：「{code}」 多余。"])
async def test_words_after_an_invite_code_are_named_and_nothing_is_bound(telegram: TelegramHarness,
                                                                        typed: str) -> None:
    code = await telegram.invite("郝芳", "liaison")

    refused = await telegram.send(HAO, typed.format(code=code))

    assert refused.text == "没有看懂「多余」，未办理。用法：<code>/start 邀请码</code>", refused.text
    async with telegram.session() as session:
        assert (await session.scalars(select(ChatAccount))).all() == []
    assert "已绑定为：联络员" in (await telegram.send(HAO, f"/start {code}")).text  # the code is still good


async def test_a_used_code_is_refused_to_another_user(telegram: TelegramHarness,
                                                       fake_api: FakeBotAPI) -> None:
    code = await telegram.invite("郝芳")
    await telegram.send(HAO, f"/start {code}")

    replies = await telegram.send(STRANGER, f"/start {code}")

    assert_html(replies)
    assert "已被使用" in replies.text
    assert fake_api.menu(scope_chat(STRANGER)) is None
    assert "/start" in (await telegram.send(STRANGER, "/mine")).text  # still unbound


async def test_an_expired_code_is_refused(telegram: TelegramHarness) -> None:
    code = await telegram.invite("郝芳", ttl_hours=72)
    telegram.clock.advance(hours=72, minutes=1)

    replies = await telegram.send(HAO, f"/start {code}")

    assert_html(replies)
    assert "过期" in replies.text
    assert "已绑定" not in replies.text


async def test_an_unknown_code_is_refused(telegram: TelegramHarness) -> None:
    replies = await telegram.send(HAO, "/start NoSuchCode123")

    assert_html(replies)
    assert "无效" in replies.text


@pytest.mark.parametrize("text", [f"/report {CODE} 1.2亿 主体结构完成60%", "/mine", "/undo", "你好",
                                  f"{CODE} 850 桩基完成"])
async def test_unbound_users_are_sent_to_start(telegram: TelegramHarness, text: str) -> None:
    replies = await telegram.send(STRANGER, text)

    assert_html(replies)
    assert len(replies.messages) == 1
    assert "/start" in replies.text
    assert await telegram.report_count() == 0


async def test_an_unbound_photo_is_refused_too(telegram: TelegramHarness) -> None:
    replies = await telegram.photo(STRANGER, f"{CODE} 850 桩基完成")

    assert "/start" in replies.text
    assert await telegram.report_count() == 0


async def test_help_for_the_unbound_lists_only_start_and_help(telegram: TelegramHarness) -> None:
    replies = await telegram.send(STRANGER, "/help")

    assert_html(replies)
    listed = {line.split()[0] for line in replies.text.splitlines() if line.startswith("/")}
    assert listed == {"/start", "/help"}


# --- reporting ---------------------------------------------------------------------------------------


async def test_one_shot_report_is_recorded_and_counted(hao: TelegramHarness) -> None:
    replies = await hao.send(HAO, f"/report {CODE} 1.2亿 主体结构完成60%")

    assert_html(replies)
    assert "已记录" in replies.text
    assert "12,000.0 万元" in replies.text
    assert "主体结构完成60%" in replies.text
    [report] = await hao.reports()
    assert report.amount == 12000

    card = await hao.send(HAO, f"/project {CODE}")
    assert_html(card)
    assert "年度累计完成：38,051.0 万元" in card.text
    assert "序时进度" in card.text
    assert "最近填报" in card.text and "12,000.0" in card.text


async def test_a_progress_text_ending_its_sentence_gets_no_second_mark(hao: TelegramHarness) -> None:
    """「主体封顶!」 is answered 「…，主体封顶!」, not 「主体封顶!。」; so is the guided step given both at once."""
    saved = await hao.send(HAO, f"{CODE} 850 主体封顶!")
    assert "850.0 万元，主体封顶!\n" in saved.text and "!。" not in saved.text
    await hao.send(HAO, "/undo")
    await hao.send(HAO, "/report")
    await hao.press(HAO, f"{CODE} 城北高速连接线")
    both = await hao.send(HAO, "850万 桩基完成了吗？」")
    assert "形象进度：桩基完成了吗？」\n" in both.text and "吗？」。" not in both.text


async def test_photo_with_a_report_caption_is_stored_with_the_photo(hao: TelegramHarness,
                                                                    fake_api: FakeBotAPI) -> None:
    file_id = fake_api.add_file(b"site photo")

    replies = await hao.photo(HAO, f"{CODE} 850万 桩基完成", file_id=file_id)

    assert_html(replies)
    assert "已记录" in replies.text and "850.0 万元" in replies.text and "照片 1 张" in replies.text
    [report] = await hao.reports()
    assert [p.file_id for p in report.photos] == [file_id]  # the largest size Telegram offered
    assert "现场照片：1 张" in (await hao.send(HAO, f"/project {CODE}")).text


async def test_a_photo_without_a_report_caption_is_not_understood(hao: TelegramHarness) -> None:
    replies = await hao.photo(HAO, "工地今天的照片")

    assert "照片说明" in replies.text
    assert await hao.report_count() == 0


async def _guided_until_summary(hao: TelegramHarness, amount: str, progress: str, photos: int) -> Replies:
    """/report, pick ZD2026-001, type amount and progress, send photos, press 完成; returns the summary."""
    picked = await hao.send(HAO, "/report")
    assert_html(picked)
    assert "请选择要填报的项目" in picked.text
    assert picked.buttons == [f"{CODE} 城北高速连接线", "取消"]

    asked = await hao.press(HAO, f"{CODE} 城北高速连接线")
    assert "请输入本期完成投资" in asked.text

    progress_asked = await hao.send(HAO, amount)
    assert "请输入形象进度" in progress_asked.text

    photos_asked = await hao.send(HAO, progress)
    assert photos_asked.buttons == ["完成（不再上传照片）", "取消"]
    for n in range(1, photos + 1):
        assert f"已收到 {n} 张照片" in (await hao.photo(HAO)).text

    summary = await hao.press(HAO, "完成（不再上传照片）")
    assert_html(summary)
    assert summary.buttons == ["确认", "修改", "取消"]
    return summary


async def test_guided_report_confirmed(hao: TelegramHarness) -> None:
    summary = await _guided_until_summary(hao, "3000万元", "路基完成40%", photos=2)
    assert "本期完成投资：3000万元 = 3,000.0 万元" in summary.text
    assert "形象进度：路基完成40%" in summary.text
    assert "现场照片：2 张" in summary.text
    assert await hao.report_count() == 0  # nothing until confirmed

    saved = await hao.press(HAO, "确认")

    assert_html(saved)
    assert "已记录" in saved.text and "3,000.0 万元" in saved.text and "照片 2 张" in saved.text
    [report] = await hao.reports()
    assert (report.amount, report.progress_text, len(report.photos)) == (3000, "路基完成40%", 2)
    with pytest.raises(LookupError):  # the summary's keyboard is gone: it cannot be confirmed twice
        hao.fake.find_button(HAO, label="确认")


async def test_the_guided_report_stores_its_progress_text_as_the_one_shot_line_does(hao: TelegramHarness) -> None:
    """Cells pasted from a spreadsheet (tabs) and blank lines: each line's runs of spaces and tabs one space,
    the lines kept, in whatever way the report was sent, so that bulletins and the Excel ledger read one text."""
    typed = "主体结构\t\t完成60%  \n\n下步计划：\t二层楼板"
    stored = "主体结构 完成60%\n下步计划： 二层楼板"
    await _guided_until_summary(hao, "850", typed, photos=0)
    await hao.press(HAO, "确认")
    [guided] = await hao.reports()
    assert guided.progress_text == stored
    await hao.send(HAO, "/undo")
    await hao.send(HAO, f"{CODE} 850 {typed}")
    [one_shot] = await hao.reports()
    assert one_shot.progress_text == stored and one_shot.id != guided.id


async def test_guided_report_edits_one_field_and_keeps_the_rest(hao: TelegramHarness) -> None:
    await _guided_until_summary(hao, "3000万元", "路基完成40%", photos=2)

    pick = await hao.press(HAO, "修改")
    assert "其余内容（包括已发送的照片）保持不变" in pick.text
    assert pick.buttons == ["金额", "形象进度", "补充照片", "清空照片", "不修改，返回核对", "取消"]
    asked = await hao.press(HAO, "金额")
    assert "请输入本期完成投资" in asked.text
    summary = await hao.send(HAO, "500")  # straight back to the summary: progress and photos are kept
    assert "本期完成投资：500（未写单位，按万元计）= 500.0 万元".replace("(", "（").replace(")", "）") in summary.text
    assert "形象进度：路基完成40%" in summary.text and "现场照片：2 张" in summary.text

    await hao.press(HAO, "修改")
    await hao.press(HAO, "形象进度")
    summary = await hao.send(HAO, "路基完成45%")
    assert "500.0 万元" in summary.text and "形象进度：路基完成45%" in summary.text
    assert "现场照片：2 张" in summary.text

    await hao.press(HAO, "修改")
    await hao.press(HAO, "补充照片")
    assert "已收到 3 张照片" in (await hao.photo(HAO)).text
    summary = await hao.press(HAO, "完成（不再上传照片）")
    assert "现场照片：3 张" in summary.text and "形象进度：路基完成45%" in summary.text
    saved = await hao.press(HAO, "确认")

    assert "500.0 万元" in saved.text and "照片 3 张" in saved.text
    [report] = await hao.reports()
    assert (report.amount, report.progress_text, len(report.photos)) == (500, "路基完成45%", 3)


async def test_guided_report_photos_can_be_cleared(hao: TelegramHarness) -> None:
    await _guided_until_summary(hao, "3000万元", "路基完成40%", photos=1)

    await hao.press(HAO, "修改")
    summary = await hao.press(HAO, "清空照片")
    assert "现场照片：0 张" in summary.text and "3,000.0 万元" in summary.text
    await hao.press(HAO, "确认")

    [report] = await hao.reports()
    assert (report.amount, report.progress_text, len(report.photos)) == (3000, "路基完成40%", 0)


async def test_guided_report_cancelled_stores_nothing(hao: TelegramHarness) -> None:
    await _guided_until_summary(hao, "3000万元", "路基完成40%", photos=1)

    cancelled = await hao.press(HAO, "取消")

    assert_html(cancelled)
    assert "已取消本次填报" in cancelled.text
    assert await hao.report_count() == 0
    card = await hao.send(HAO, f"/project {CODE}")
    assert "最近填报：暂无" in card.text and "年度累计完成：26,051.0 万元" in card.text
    assert "没有看懂" in (await hao.send(HAO, "800")).text  # the flow is over


async def test_pressing_a_button_answers_the_query_and_removes_the_keyboard(hao: TelegramHarness,
                                                                             fake_api: FakeBotAPI) -> None:
    picked = await hao.send(HAO, "/report")
    message_id = picked.last.result["message_id"]

    await hao.press(HAO, f"{CODE} 城北高速连接线")

    assert all(q["answered"] for q in fake_api.callback_queries.values())
    assert "reply_markup" not in fake_api.messages[(HAO, message_id)]


async def test_reporting_someone_elses_project_is_refused(hao: TelegramHarness) -> None:
    replies = await hao.send(HAO, "/report ZD2026-002 100 前期手续办理中")

    assert_html(replies)
    assert "不是项目 ZD2026-002" in replies.text and "联络员" in replies.text
    assert await hao.report_count() == 0


@pytest.mark.parametrize(("amount", "explanation"), [
    ("-5", "负数"),
    ("abc", "无法识别"),
    ("10亿", "剩余总投资 41,949.0 万元"),
])
async def test_bad_amounts_are_explained_and_not_stored(hao: TelegramHarness, amount: str,
                                                        explanation: str) -> None:
    replies = await hao.send(HAO, f"/report {CODE} {amount} 主体结构完成60%")

    assert_html(replies)
    assert explanation in replies.text
    assert "未保存" in replies.text
    assert await hao.report_count() == 0


async def test_a_unit_handler_may_not_report(telegram: TelegramHarness, fake_api: FakeBotAPI) -> None:
    welcome = await telegram.bind(ZHAO, "赵芳", "unit")
    assert "单位经办人" in welcome.text
    assert "report" not in (fake_api.menu(scope_chat(ZHAO)) or [])

    replies = await telegram.send(ZHAO, f"/report {CODE} 100 进度")

    assert_html(replies)
    assert "没有权限" in replies.text
    assert await telegram.report_count() == 0


async def test_undo_withdraws_todays_report_only(hao: TelegramHarness) -> None:
    await hao.send(HAO, f"/report {CODE} 1.2亿 主体结构完成60%")
    hao.clock.advance(days=1)
    await hao.send(HAO, f"/report {CODE} 850 主体结构完成62%")
    assert "年度累计完成：38,901.0 万元" in (await hao.send(HAO, f"/project {CODE}")).text

    first = await hao.send(HAO, "/undo")
    assert_html(first)
    assert "已撤回" in first.text and "850.0 万元" in first.text
    assert "年度累计完成：38,051.0 万元" in (await hao.send(HAO, f"/project {CODE}")).text

    assert "没有可以撤回" in (await hao.send(HAO, "/undo")).text  # yesterday's report stays
    assert "年度累计完成：38,051.0 万元" in (await hao.send(HAO, f"/project {CODE}")).text
    assert len(await hao.reports(withdrawn=True)) == 1


async def test_undo_leaves_yesterdays_report_alone(hao: TelegramHarness) -> None:
    await hao.send(HAO, f"/report {CODE} 850 桩基完成")
    hao.clock.advance(days=1)

    replies = await hao.send(HAO, "/undo")

    assert "没有可以撤回" in replies.text
    assert "/correct" in replies.text  # the way to fix a report of an earlier day (one sent at 23:59…)
    assert len(await hao.reports()) == 1


async def test_mine_marks_the_projects_reported_today(hao: TelegramHarness) -> None:
    before = await hao.send(HAO, "/mine")
    assert_html(before)
    assert f"⬜ {CODE} 城北高速连接线" in before.text and "今日未填报" in before.text

    await hao.send(HAO, f"/report {CODE} 850 桩基完成")
    after = await hao.send(HAO, "/mine")
    assert f"✅ {CODE} 城北高速连接线" in after.text and "今日未填报" not in after.text

    hao.clock.advance(days=3)  # the next working day (Monday): a new day's report is due again
    assert f"⬜ {CODE}" in (await hao.send(HAO, "/mine")).text


# --- HTML escaping -----------------------------------------------------------------------------------


async def test_project_names_are_escaped_in_html_but_not_in_buttons(hao: TelegramHarness) -> None:
    async with hao.session() as session:
        project = await project_repo.get_project_by_code(session, code=CODE)
        assert project is not None
        project.name = "城北<连接线>&二期"

    card = await hao.send(HAO, f"/project {CODE}")
    assert_html(card)  # the fake parses Telegram-HTML and refuses what Telegram would refuse
    assert "城北&lt;连接线&gt;&amp;二期" in card.text

    assert "城北&lt;连接线&gt;&amp;二期" in (await hao.send(HAO, "/mine")).text
    picked = await hao.send(HAO, "/report")
    assert f"{CODE} 城北<连接线>&二期" in picked.buttons  # button labels are plain text
    asked = await hao.press(HAO, f"{CODE} 城北<连接线>&二期")
    assert_html(asked)
    assert "城北&lt;连接线&gt;&amp;二期" in asked.text


async def test_what_users_type_is_escaped(hao: TelegramHarness) -> None:
    replies = await hao.send(HAO, f"/report {CODE} 100 <b>桩基</b>&承台")

    assert_html(replies)
    assert "&lt;b&gt;桩基&lt;/b&gt;&amp;承台" in replies.text
    [report] = await hao.reports()
    assert report.progress_text == "<b>桩基</b>&承台"
    assert_html(await hao.send(HAO, "/report ZD<i>-1 1 x"))
    assert_html(await hao.send(HAO, "/no<such>&command"))


async def test_the_fake_refuses_html_that_telegram_would_refuse(telegram: TelegramHarness,
                                                                 fake_api: FakeBotAPI) -> None:
    bot = telegram.application.bot
    with pytest.raises(BadRequest, match="(?i)can't parse entities"):
        await bot.send_message(HAO, "城北<连接线>&二期", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="(?i)can't parse entities"):
        await bot.send_message(HAO, "<b>未闭合", parse_mode=ParseMode.HTML)
    await bot.send_message(HAO, "城北<连接线>&二期")  # plain text is fine
    fake_api.calls.clear()  # the refusals above were the point; keep the fixture's check quiet


# --- webhook -----------------------------------------------------------------------------------------


WEBHOOK_SECRET = "s3cret-token"
WEBHOOK_HEADERS = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET, "Content-Type": "application/json"}


@asynccontextmanager
async def _webhook(fake: FakeBotAPI, core: Core,
                   settings: Settings) -> AsyncIterator[tuple[TelegramHarness, TestClient]]:
    """The webhook handler served over real HTTP in front of a started harness (no polling); the harness is
    stopped after the block, its records kept for the test to read."""
    harness = TelegramHarness(fake, core, settings)
    await harness.start(polling=False)
    http = web.Application()
    http.router.add_post("/telegram/hook", webhook_handler(harness.application, WEBHOOK_SECRET))
    try:
        async with TestClient(TestServer(http)) as client:
            yield harness, client
    finally:
        await harness.stop()


async def test_webhook_checks_the_secret_token(fake_api: FakeBotAPI, e2e_core: Core,
                                               tg_settings: Settings) -> None:
    async with _webhook(fake_api, e2e_core, tg_settings) as (harness, client):
        forged = fake_api.text_update(STRANGER, "/help")
        wrong = await client.post("/telegram/hook", json=forged,
                                  headers={"X-Telegram-Bot-Api-Secret-Token": "guess"})
        missing = await client.post("/telegram/hook", json=forged)
        garbage = await client.post("/telegram/hook", data=b"{not json",
                                    headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET})
        genuine = fake_api.text_update(HAO, "/help")
        right = await client.post("/telegram/hook", json=genuine,
                                  headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET})

        assert (wrong.status, missing.status, garbage.status, right.status) == (403, 403, 400, 200)
        await harness.wait_processed(genuine["update_id"])
        [reply] = await fake_api.wait_for("sendMessage", chat_id=HAO)
        assert "/start" in reply["text"] and reply["parse_mode"] == "HTML"
        assert forged["update_id"] not in harness.processed
        assert fake_api.calls_of("sendMessage", chat_id=STRANGER) == []
    assert not harness.errors


NOT_UPDATES = [
    b"{}", b"[]", b'"text"', b"42", b"null", b"{not json", b"\xff\xfe", b"",
    b'{"update_id": "7"}', b'{"update_id": true}',
]
# Updates (an integer update_id) that python-telegram-bot cannot read: a newer or older Bot API, a field missing.
UNREADABLE = [
    b'{"update_id": 7, "message": "hello"}',
    b'{"update_id": 8, "message": {"chat": 5}}',
    b'{"update_id": 9, "message": {"message_id": 1, "date": "today", "chat": {"id": 1, "type": "private"}}}',
]


async def test_webhook_answers_400_to_a_body_that_is_not_an_update(fake_api: FakeBotAPI, e2e_core: Core,
                                                                   tg_settings: Settings) -> None:
    async with _webhook(fake_api, e2e_core, tg_settings) as (harness, client):
        statuses = {}
        for body in NOT_UPDATES:
            response = await client.post("/telegram/hook", data=body, headers=WEBHOOK_HEADERS)
            statuses[body] = (response.status, await response.text())
        genuine = fake_api.text_update(HAO, "/help")
        right = await client.post("/telegram/hook", json=genuine, headers=WEBHOOK_HEADERS)
        assert right.status == 200
        await harness.wait_processed(genuine["update_id"])
    assert statuses == {body: (400, "not a Telegram update") for body in NOT_UPDATES}
    assert not harness.errors


async def test_webhook_skips_an_update_it_cannot_read_as_polling_does(fake_api: FakeBotAPI, e2e_core: Core,
                                                                      tg_settings: Settings,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    """Answered 400, Telegram would send such an update again and again for hours, the updates behind it held
    up: it is logged at error level with what it held and answered 200, and the next update is handled."""
    caplog.set_level(logging.ERROR, logger="bot.channels.telegram_updates")
    async with _webhook(fake_api, e2e_core, tg_settings) as (harness, client):
        statuses = [(await client.post("/telegram/hook", data=body, headers=WEBHOOK_HEADERS)).status
                    for body in UNREADABLE]
        genuine = fake_api.text_update(HAO, "/help")
        right = await client.post("/telegram/hook", json=genuine, headers=WEBHOOK_HEADERS)
        assert right.status == 200
        await harness.wait_processed(genuine["update_id"])
        [reply] = await fake_api.wait_for("sendMessage", chat_id=HAO)
        assert "/start" in reply["text"]
    assert statuses == [200] * len(UNREADABLE)
    logged = [r for r in caplog.records if r.levelno == logging.ERROR and "could not be read" in r.getMessage()]
    assert [r.args[0] for r in logged] == [7, 8, 9]  # type: ignore[index]
    assert "'hello'" in logged[0].getMessage() and "'today'" in logged[2].getMessage()  # what each held
    assert not {7, 8, 9} & set(harness.processed)
    assert not harness.errors


@pytest.fixture
async def migrated_settings(fake_api: FakeBotAPI, tmp_path) -> Settings:  # type: ignore[no-untyped-def]
    """Settings for serve(): a migrated SQLite file, and the HTTP server on a port the system picks."""
    from storage.migrate import upgrade

    url = f"sqlite+aiosqlite:///{tmp_path / 'serve.sqlite3'}"
    await asyncio.to_thread(upgrade, url)
    return e2e_settings(fake_api, DATABASE_URL=url, HTTP_HOST="127.0.0.1", HTTP_PORT=0)


async def test_serve_by_webhook_end_to_end(fake_api: FakeBotAPI, migrated_settings: Settings) -> None:
    settings = e2e_settings(
        fake_api, DATABASE_URL=migrated_settings.database_url, HTTP_HOST="127.0.0.1",
        HTTP_PORT=migrated_settings.http_port, TELEGRAM_WEBHOOK_URL="https://bot.example.org/telegram/hook",
        TELEGRAM_WEBHOOK_SECRET="s3cret", METRICS_TOKEN="scrape-me",
    )
    task, stop, port = await serving(settings)
    try:
        metrics = f"http://127.0.0.1:{port}/metrics"
        async with ClientSession() as client:
            async with client.get(metrics) as r:
                assert r.status == 401
            async with client.get(metrics, headers={"Authorization": "Bearer scrape-me"}) as r:
                assert r.status == 200 and "diaodu_leader" in await r.text()
        await fake_api.wait_for("setWebhook", timeout=15)  # Telegram comes in once its Bot API answers
        assert fake_api.webhook is not None
        assert fake_api.webhook["url"] == "https://bot.example.org/telegram/hook"
        assert fake_api.webhook["secret_token"] == "s3cret"
        update = fake_api.text_update(HAO, "/help")
        url = f"http://127.0.0.1:{port}/telegram/hook"
        header = "X-Telegram-Bot-Api-Secret-Token"
        async with ClientSession() as client:
            async with client.post(url, json=update, headers={header: "nope"}) as r:
                assert r.status == 403
            async with client.post(url, json=update, headers={header: "s3cret"}) as r:
                assert r.status == 200
        [reply] = await fake_api.wait_for("sendMessage", chat_id=HAO)
        assert "/start" in reply["text"]
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


@pytest.fixture
def unfrozen_heap() -> Iterator[None]:
    """serve() freezes the garbage collector's view of the heap (settle_heap); give the test process back
    its ordinary collector afterwards."""
    gc.unfreeze()
    yield
    gc.unfreeze()


async def test_serve_by_polling_publishes_the_default_menu(fake_api: FakeBotAPI, migrated_settings: Settings,
                                                           unfrozen_heap: None) -> None:
    """serve() does not use run_polling, so PTB's post_init never runs: it must publish the menu itself."""
    task, stop, _port = await serving(migrated_settings)
    try:
        fake_api.enqueue_text(HAO, "/help")
        [reply] = await fake_api.wait_for("sendMessage", chat_id=HAO)
        assert "/start" in reply["text"]
        assert gc.get_freeze_count() > 0  # polling means start-up is over: the heap was settled
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    assert fake_api.menu() == ["start", "help"]
    assert fake_api.menu({"type": "all_group_chats"}) == ["help", "rank", "groups"]


async def test_serve_refuses_a_token_telegram_refuses_saying_why(fake_api: FakeBotAPI,
                                                                 migrated_settings: Settings) -> None:
    """A revoked or mistyped token at start-up is a configuration error (exit status 78, not restarted),
    said in Chinese without the token."""
    from bot.app import ConfigurationError, serve

    fake_api.token_revoked = True
    with pytest.raises(ConfigurationError) as refused:
        await asyncio.wait_for(serve(migrated_settings, stop=asyncio.Event()), 60)
    assert refused.value.reason == "telegram_token"
    said = str(refused.value)
    assert "TELEGRAM_BOT_TOKEN" in said and "@BotFather" in said and fake_api.token not in said


async def test_a_command_sending_the_outbox_leaves_telegram_notices_while_the_token_is_refused(
        fake_api: FakeBotAPI, migrated_settings: Settings) -> None:
    """`diaodu job …` / `digest --send` deliver the outbox: a refused token does not stop the command, and the
    Telegram notices wait in the outbox, no try counted, for the running bot (which tells the admins)."""
    from datetime import UTC, datetime

    from bot.app import deliver_outbox
    from bot.domain.messages import Reply
    from storage import outbox
    from storage.models import OutboxMessage

    core = Core.build(migrated_settings)
    try:
        async with core.db.session() as session:
            await outbox.enqueue_for_chat(session, channel="telegram", chat_id=str(HAO), reply=Reply(html="通知"),
                                          key="held", now=datetime.now(UTC))
        fake_api.token_revoked = True
        stats = await deliver_outbox(core, timeout=30)
        assert stats is not None and stats.sent == stats.failed == 0
        async with core.db.session() as session:
            [row] = (await session.scalars(select(OutboxMessage))).all()
        assert (row.state, row.attempts) == ("pending", 0)
    finally:
        await core.db.dispose()


async def test_serve_stops_cleanly_after_telegram_refused_the_token_while_polling(
        fake_api: FakeBotAPI, migrated_settings: Settings, unfrozen_heap: None) -> None:
    """Polling ends when the token is revoked (PTB gives up on a 401); stopping the bot afterwards must not
    fail on it."""
    task, stop, _port = await serving(migrated_settings)
    try:
        await fake_api.wait_for("getUpdates", timeout=15)
        mark = len(fake_api.calls)
        fake_api.token_revoked = True
        fake_api.enqueue_text(HAO, "/help")  # ends the long poll under way: the next one meets the 401
        await fake_api.wait_for("getUpdates", since=mark, ok=False, timeout=15)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)  # raises what serve() stopped with
    assert task.exception() is None


# --- edited messages -----------------------------------------------------------------------------------


async def test_editing_a_report_message_does_not_store_it_twice(hao: TelegramHarness,
                                                                fake_api: FakeBotAPI) -> None:
    sent = fake_api.text_update(HAO, f"/report {CODE} 850 桩基完成")
    fake_api.enqueue_update(sent)
    await hao.wait_processed(sent["update_id"])
    mark = len(fake_api.calls)
    edited = {"edited_message": {**sent["message"], "text": f"/report {CODE} 850 桩基完成80%", "edit_date": 1}}
    fake_api.enqueue_update(edited)
    await hao.wait_processed(edited["update_id"])

    assert len(await hao.reports()) == 1
    [told] = fake_api.calls_of("sendMessage", since=mark)  # that edits are not read, and how to correct
    assert "不会被重新读取" in told["text"] and "/correct" in told["text"]



async def test_serve_waits_for_an_unreachable_bot_api_instead_of_exiting(
        fake_api: FakeBotAPI, migrated_settings: Settings, unfrozen_heap: None) -> None:
    """The Bot API (or the proxy in front of it) down at start-up: serve() keeps its HTTP server up and tries
    again with a growing pause, then serves Telegram once it answers. Exiting would let the service manager
    give up after a few quick restarts, taking WeCom and the web pages down with it."""
    fake_api.inject_fault("getMe", status=502, times=2)
    task, stop, _port = await serving(migrated_settings)
    try:
        [*_failed, answered] = await fake_api.wait_for("getMe", count=3, timeout=15)
        assert [c.status for c in fake_api.calls_of("getMe")][:3] == [502, 502, 200] and answered.ok
        fake_api.enqueue_text(HAO, "/help")
        [reply] = await fake_api.wait_for("sendMessage", chat_id=HAO, timeout=15)
        assert "/start" in reply["text"]
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def test_serve_stops_cleanly_while_still_waiting_for_the_bot_api(migrated_settings: Settings,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="bot")
    with socket.socket() as closed:  # bound and kept, never listening: every connection to it is refused
        closed.bind(("127.0.0.1", 0))
        settings = migrated_settings.model_copy(
            update={"telegram_base_url": f"http://127.0.0.1:{closed.getsockname()[1]}/bot"})
        task, stop, _port = await serving(settings)  # its HTTP server (WeCom, the web pages) is up meanwhile
        # until the first try has failed: no connection
        await until(lambda: any("cannot reach the Telegram Bot API" in r.getMessage() for r in caplog.records),
                    "serve() to try the Bot API", 30, every=0.05)
        assert not task.done()
        stop.set()
        await asyncio.wait_for(task, 10)
    # nothing it started is left running: a scheduled job cut short by the stop (the leader's start-up run is under way
    # now) ended before the database was closed under it, else its connection's close never ends and neither does the
    # process (jobs.job_runs)
    left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
    assert left == []
