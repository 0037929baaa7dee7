"""Telegram's length limits: the fake Bot API refuses what Telegram refuses, and the transport (direct
replies and outbox notices alike) makes every text fit: split between lines, never inside a tag."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.channels.telegram_transport import CAPTION_MAX, TEXT_MAX, TelegramTransport
from bot.domain.messages import Attachment, Button, Reply
from bot.html_split import utf16_len
from tests.fakes.bot_api import FakeBotAPI, parse_telegram_html
from tests.fakes.ptb_bot import bot_on


@pytest.fixture
async def bot(fake_api: FakeBotAPI) -> AsyncIterator[Bot]:
    async with bot_on(fake_api) as bot:
        yield bot


def sent(fake: FakeBotAPI, method: str) -> list[dict]:
    return [c.params for c in fake.calls if c.method == method and c.ok]


async def test_the_fake_refuses_what_telegram_refuses(fake_api: FakeBotAPI, bot: Bot) -> None:
    with pytest.raises(BadRequest, match="too long"):
        await bot.send_message(7, "字" * (TEXT_MAX + 1))
    with pytest.raises(BadRequest, match="caption is too long"):
        await bot.send_photo(7, photo=b"jpeg bytes", caption="字" * (CAPTION_MAX + 1))
    with pytest.raises(BadRequest, match="(?i)can't parse entities"):
        await bot.send_message(7, "<b>未闭合", parse_mode=ParseMode.HTML)
    await bot.send_message(7, "字" * TEXT_MAX)  # exactly at the limit goes through


async def test_a_long_reply_is_split_between_lines_with_the_buttons_under_the_last_part(
        fake_api: FakeBotAPI, bot: Bot) -> None:
    lines = [f"<b>W{n:04d}</b> 城北高速连接线 <i>征地拆迁</i> 还有{n}户未签约 &amp; 待协调" for n in range(400)]
    html = "<blockquote>" + "\n".join(lines) + "</blockquote>"
    assert utf16_len(html) > 3 * TEXT_MAX
    reply = Reply(html=html, buttons=((Button("下一页", "pg:2"),),))

    await TelegramTransport(bot).send("7", reply)

    parts = sent(fake_api, "sendMessage")
    assert len(parts) >= 4
    assert all(utf16_len(p["text"]) <= TEXT_MAX for p in parts)
    shown = [parse_telegram_html(p["text"]) for p in parts]  # each part is valid on its own
    assert "".join(shown).count("未签约") == 400
    assert [bool(p.get("reply_markup")) for p in parts] == [False] * (len(parts) - 1) + [True]


async def test_a_caption_over_the_limit_follows_the_photo_as_text(fake_api: FakeBotAPI, bot: Bot,
                                                                   tmp_path: Path) -> None:
    (tmp_path / "p.jpg").write_bytes(b"\xff\xd8\xff jpeg bytes")
    reply = Reply(html="现场照片说明" * 300, buttons=((Button("确认", "ok"),),),
                  attachment=Attachment(kind="photo", path="p.jpg"))

    await TelegramTransport(bot, files_root=tmp_path).send("7", reply)

    [photo] = sent(fake_api, "sendPhoto")
    assert not photo.get("caption") and not photo.get("reply_markup")
    texts = sent(fake_api, "sendMessage")
    assert "".join(t["text"] for t in texts) == "现场照片说明" * 300
    assert texts[-1].get("reply_markup")


async def test_a_short_caption_stays_on_the_photo(fake_api: FakeBotAPI, bot: Bot, tmp_path: Path) -> None:
    (tmp_path / "p.jpg").write_bytes(b"\xff\xd8\xff jpeg bytes")
    await TelegramTransport(bot, files_root=tmp_path).send(
        "7", Reply(html="<b>现场</b>", attachment=Attachment(kind="photo", path="p.jpg")))
    [photo] = sent(fake_api, "sendPhoto")
    assert photo["caption"] == "<b>现场</b>"
    assert not sent(fake_api, "sendMessage")
