"""The fake Bot API itself: that it behaves like Telegram where the end-to-end tests rely on it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import ClientSession
from telegram import Bot, BotCommand, BotCommandScopeChat, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter

from tests.fakes.bot_api import FakeBotAPI, TelegramHtmlError, parse_telegram_html
from tests.fakes.ptb_bot import bot_on


@pytest.mark.parametrize(("source", "plain"), [
    ("<b>粗</b> <i>斜</i> <u>下</u> <s>删</s> <code>x</code> <pre>y</pre>", "粗 斜 下 删 x y"),
    ('<a href="https://t.me/x?a=1&amp;b=2">链接</a>', "链接"),
    ("城北&lt;连接线&gt;&amp;二期 &quot;引号&quot; &#20013;&#x6587;", '城北<连接线>&二期 "引号" 中文'),
    ("<b>外<i>内</i></b>", "外内"),
    ('<span class="tg-spoiler">藏</span><tg-spoiler>藏</tg-spoiler>', "藏藏"),
    ("a > b", "a > b"),
])
def test_accepted_html(source: str, plain: str) -> None:
    assert parse_telegram_html(source) == plain


@pytest.mark.parametrize("source", [
    "城北<连接线>",  # unescaped "<"
    "A&B",  # unescaped "&"
    "&nbsp;",  # named entities other than lt, gt, amp, quot
    "<b>未闭合",
    "<b><i>交错</b></i>",
    "多余</b>",
    "<br>",
    "<br/>",
    "<div>块</div>",
    '<b class="x">属性</b>',
    "<a>无链接</a>",
    '<span class="x">非剧透</span>',
    "<!-- 注释 -->",
])
def test_refused_html(source: str) -> None:
    with pytest.raises(TelegramHtmlError):
        parse_telegram_html(source)


@pytest.fixture
async def bot(fake_api: FakeBotAPI) -> AsyncIterator[Bot]:
    async with bot_on(fake_api) as bot:
        yield bot


async def test_get_updates_confirms_by_offset(fake_api: FakeBotAPI, bot: Bot) -> None:
    for text in ("一", "二", "三"):
        fake_api.enqueue_text(7, text)

    first = await bot.get_updates(timeout=0)
    again = await bot.get_updates(offset=first[1].update_id, timeout=0)
    last = await bot.get_updates(offset=first[-1].update_id + 1, timeout=0)

    assert [u.message.text for u in first] == ["一", "二", "三"]
    assert [u.message.text for u in again] == ["二", "三"]
    assert last == ()
    assert fake_api.updates == []


async def test_long_poll_answers_as_soon_as_an_update_arrives(fake_api: FakeBotAPI, bot: Bot) -> None:
    loop = asyncio.get_running_loop()
    loop.call_later(0.05, fake_api.enqueue_text, 7, "来了")
    started = time.monotonic()

    updates = await bot.get_updates(timeout=4)

    assert [u.message.text for u in updates] == ["来了"]
    assert time.monotonic() - started < 1.0


async def test_long_poll_waits_for_the_timeout_when_there_is_nothing(fake_api: FakeBotAPI, bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=0.3) == ()
    assert 0.25 <= time.monotonic() - started < 2.0


async def test_messages_are_recorded_and_returned_like_telegram(fake_api: FakeBotAPI, bot: Bot) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("确认", callback_data="rp:ok")]])
    sent = await bot.send_message(7, "<b>请核对</b> &amp; 确认", parse_mode=ParseMode.HTML, reply_markup=markup)

    assert sent.text == "请核对 & 确认" and sent.chat.id == 7 and sent.from_user.is_bot
    [call] = await fake_api.wait_for("sendMessage", chat_id=7)
    assert call["text"] == "<b>请核对</b> &amp; 确认"
    assert call["reply_markup"] == {"inline_keyboard": [[{"text": "确认", "callback_data": "rp:ok"}]]}
    assert fake_api.find_button(7, label="确认") == (sent.message_id, "rp:ok")

    await bot.edit_message_reply_markup(7, sent.message_id, reply_markup=None)
    with pytest.raises(LookupError):
        fake_api.find_button(7, label="确认")
    with pytest.raises(BadRequest, match="(?i)not modified"):
        await bot.edit_message_reply_markup(7, sent.message_id, reply_markup=None)
    edited = await bot.edit_message_text("已确认", chat_id=7, message_id=sent.message_id)
    assert edited.text == "已确认"


@pytest.mark.parametrize("rows", [
    [[InlineKeyboardButton(f"{n}", callback_data=f"n:{n}")] for n in range(101)],  # over 100 buttons
    [[InlineKeyboardButton(f"{n}", callback_data=f"n:{n}") for n in range(9)]],  # over 8 to a row
    [[InlineKeyboardButton("城北高速连接线" * 40, callback_data=f"n:{n}")] for n in range(20)],  # over ~10 KB
])
async def test_a_keyboard_too_big_for_telegram_is_refused(fake_api: FakeBotAPI, bot: Bot,
                                                          rows: list[list[InlineKeyboardButton]]) -> None:
    with pytest.raises(BadRequest, match="(?i)reply markup is too long"):
        await bot.send_message(7, "请选择", reply_markup=InlineKeyboardMarkup(rows))
    fitting = [[InlineKeyboardButton(f"{n}", callback_data=f"n:{n}") for n in range(8)] for _ in range(12)]
    assert await bot.send_message(7, "请选择", reply_markup=InlineKeyboardMarkup(fitting[:12]))


async def test_form_and_json_bodies_are_both_understood(fake_api: FakeBotAPI) -> None:
    url = f"{fake_api.base_url}{fake_api.token}/sendMessage"
    async with ClientSession() as client:
        body = {"chat_id": 7, "text": "123", "reply_markup": {"inline_keyboard": []}}
        async with client.post(url, json=body) as r:
            assert r.status == 200
        async with client.post(url, data={"chat_id": "7", "text": "true", "parse_mode": "HTML"}) as r:
            assert r.status == 200
    json_call, form_call = fake_api.calls_of("sendMessage")
    assert json_call["text"] == "123" and json_call["chat_id"] == 7
    assert form_call["text"] == "true" and form_call["chat_id"] == 7  # texts stay strings


async def test_button_presses_carry_the_message_and_are_answered_once(fake_api: FakeBotAPI, bot: Bot) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("项目一", callback_data="rp:p:ZD2026-001")]])
    sent = await bot.send_message(7, "请选择", reply_markup=markup)

    fake_api.enqueue_callback(7, label="项目一")
    [update] = await bot.get_updates(timeout=0)

    query = update.callback_query
    assert query.data == "rp:p:ZD2026-001" and query.message.message_id == sent.message_id
    assert await query.answer()
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await query.answer()


async def test_photos_can_be_downloaded_and_uploaded(fake_api: FakeBotAPI, bot: Bot) -> None:
    fake_api.enqueue_photo(7, caption="ZD2026-001 850 桩基", file_id=fake_api.add_file(b"jpeg bytes"))
    [update] = await bot.get_updates(timeout=0)
    photo = update.message.photo

    assert len(photo) == 3 and photo[-1].width > photo[0].width
    assert update.message.caption == "ZD2026-001 850 桩基"
    downloaded = await (await bot.get_file(photo[-1].file_id)).download_as_bytearray()
    assert bytes(downloaded) == b"jpeg bytes"

    sent = await bot.send_photo(7, photo=b"uploaded", caption="<b>现场</b>", parse_mode=ParseMode.HTML)
    [call] = fake_api.calls_of("sendPhoto")
    assert call.files == {"photo": b"uploaded"} or b"uploaded" in call.files.values()
    assert sent.caption == "现场" and sent.photo


async def test_documents_are_uploaded_with_a_caption_and_can_be_sent_again(fake_api: FakeBotAPI, bot: Bot) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("查看", callback_data="d:1")]])
    sent = await bot.send_document(7, document=b"PK\x03\x04ledger", filename="台账.xlsx",
                                   caption="<b>台账</b> &amp; 附件", parse_mode=ParseMode.HTML, reply_markup=markup)

    [call] = fake_api.calls_of("sendDocument", chat_id=7, ok=True)
    assert call.files == {"document": b"PK\x03\x04ledger"} or b"PK\x03\x04ledger" in call.files.values()
    assert call["caption"] == "<b>台账</b> &amp; 附件" and call["parse_mode"] == "HTML"
    assert sent.caption == "台账 & 附件" and sent.document.file_size == 10
    assert fake_api.files[sent.document.file_id] == b"PK\x03\x04ledger"
    assert fake_api.find_button(7, label="查看") == (sent.message_id, "d:1")

    again = await bot.send_document(8, document=sent.document.file_id)  # by file_id, no upload
    assert again.document.file_id == sent.document.file_id
    with pytest.raises(BadRequest, match="(?i)can't parse entities"):
        await bot.send_document(7, document=b"x", filename="x.txt", caption="<div>块</div>",
                                parse_mode=ParseMode.HTML)
    assert [c.status for c in fake_api.calls_of("sendDocument")] == [200, 200, 400]


async def test_command_menus_are_kept_per_scope(fake_api: FakeBotAPI, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand("start", "绑定"), BotCommand("help", "帮助")])
    await bot.set_my_commands([BotCommand("report", "填报")], scope=BotCommandScopeChat(7))

    assert fake_api.menu() == ["start", "help"]
    assert fake_api.menu({"type": "chat", "chat_id": 7}) == ["report"]
    assert [c.command for c in await bot.get_my_commands(scope=BotCommandScopeChat(7))] == ["report"]
    with pytest.raises(BadRequest):
        await bot.set_my_commands([BotCommand("Bad-Name", "不行")])
    assert await bot.delete_my_commands(scope=BotCommandScopeChat(7))
    assert fake_api.menu({"type": "chat", "chat_id": 7}) is None


@pytest.mark.filterwarnings("ignore:.*retry_after.*")  # PTB's RetryAfter warns about its own attribute type
async def test_faults_can_be_injected(fake_api: FakeBotAPI, bot: Bot) -> None:
    fake_api.inject_fault("sendMessage", status=429, retry_after=3, times=1)
    with pytest.raises(RetryAfter, match="Retry in 3"):
        await bot.send_message(7, "一")
    await bot.send_message(7, "二")  # `times` is used up

    fake_api.inject_fault("sendMessage", status=500)
    with pytest.raises(NetworkError):
        await bot.send_message(7, "三")

    fake_api.inject_fault("sendMessage", status=None, delay=0.2)
    started = time.monotonic()
    await bot.send_message(7, "四")
    assert time.monotonic() - started >= 0.2

    fake_api.clear_faults()
    fake_api.inject_fault("sendMessage", rate=0.5)
    outcomes = []
    for n in range(40):
        try:
            await bot.send_message(7, str(n))
            outcomes.append(True)
        except RetryAfter:
            outcomes.append(False)
    assert 5 < outcomes.count(False) < 35
    assert [c.status for c in fake_api.calls_of("sendMessage")][:4] == [429, 200, 500, 200]


async def test_a_wrong_token_is_unauthorized(fake_api: FakeBotAPI) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("999:wrong", base_url=fake_api.base_url):
            pass


async def test_wait_for_explains_what_it_got(fake_api: FakeBotAPI) -> None:
    with pytest.raises(AssertionError, match="got 0"):
        await fake_api.wait_for("sendMessage", chat_id=7, timeout=0.05)


async def test_a_group_where_the_bot_is_muted_or_out_refuses_its_messages(fake_api: FakeBotAPI, bot: Bot) -> None:
    """As Telegram: muted (restricted without the right to send), a bot's message is refused 400 "not enough
    rights"; taken out, 403; allowed to send again, it goes through. getChatMember tells the bot's standing, and
    each change queues the my_chat_member update Telegram sends."""
    fake_api.group(-1001, kind="supergroup", title="领导小组")
    update = fake_api.bot_standing(-1001, "restricted", user_id=7, can_send=False)
    assert update["my_chat_member"]["new_chat_member"]["can_send_messages"] is False
    with pytest.raises(BadRequest, match="(?i)not enough rights to send text messages to the chat"):
        await bot.send_message(-1001, "周通报")
    with pytest.raises(BadRequest, match="(?i)not enough rights to send photos"):
        await bot.send_photo(-1001, b"\xff\xd8\xff\xe0fake-jpeg")
    member = await bot.get_chat_member(-1001, fake_api.bot_id)
    assert member.status == "restricted" and member.can_send_messages is False  # type: ignore[attr-defined]
    fake_api.bot_standing(-1001, "kicked", user_id=7)
    with pytest.raises(Forbidden, match="(?i)bot was kicked from the supergroup chat"):
        await bot.send_message(-1001, "周通报")
    with pytest.raises(Forbidden):
        await bot.get_chat_member(-1001, fake_api.bot_id)
    fake_api.bot_standing(-1001, "restricted", user_id=7, can_send=True)
    assert (await bot.send_message(-1001, "周通报")).text == "周通报"
    assert (await bot.get_chat_member(-1001, fake_api.bot_id)).status == "restricted"


async def test_a_bot_without_the_right_to_send_files_or_in_a_silenced_group_is_refused_as_telegram_does(
        fake_api: FakeBotAPI, bot: Bot) -> None:
    """Restricted with text allowed but not photos nor files, the bot's texts go and its files are refused; a group
    whose admin set "members may not send messages" (no update to the bot) refuses a member bot's texts, not an
    admin bot's, and getChat says the group's permissions."""
    fake_api.group(-1002, kind="supergroup", title="领导小组")
    update = fake_api.bot_standing(-1002, "restricted", user_id=7, photos=False, documents=False)
    assert update["my_chat_member"]["new_chat_member"]["can_send_photos"] is False
    assert (await bot.send_message(-1002, "周通报")).text == "周通报"
    with pytest.raises(BadRequest, match="(?i)not enough rights to send photos to the chat"):
        await bot.send_photo(-1002, b"\xff\xd8\xff\xe0fake-jpeg")
    with pytest.raises(BadRequest, match="(?i)not enough rights to send documents to the chat"):
        await bot.send_document(-1002, b"xlsx", filename="a.xlsx")

    fake_api.group(-1003, kind="supergroup", title="调度群")
    before = len(fake_api.updates)
    fake_api.group_permissions(-1003, can_send_messages=False)
    with pytest.raises(BadRequest, match="(?i)not enough rights to send text messages to the chat"):
        await bot.send_message(-1003, "周通报")
    chat = await bot.get_chat(-1003)
    assert chat.permissions is not None and chat.permissions.can_send_messages is False
    assert chat.permissions.can_send_photos is True
    assert (await bot.get_chat_member(-1003, fake_api.bot_id)).status == "member"
    assert len(fake_api.updates) == before  # Telegram tells the bot nothing of it
    fake_api.bot_standing(-1003, "administrator", user_id=7)
    assert (await bot.send_message(-1003, "周通报")).text == "周通报"  # an admin is above the group's permissions
