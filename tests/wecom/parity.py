"""Both channels driven step by step with the same people, and what each person was told compared.

What is compared (and what is left out as belonging to the channel) is described in
``test_parity_script``; the scripts live in the ``test_parity_*`` modules, which take the fixtures
``tg_settings`` and ``wc_settings`` from here (one deployment serving both channels, each side with its files).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.channels.base import RateLimits
from bot.channels.telegram_transport import TelegramTransport
from bot.config import Settings
from bot.domain import labels
from bot.render import html_to_plain
from bot.services.outbox import OutboxSender
from tests.e2e.harness import TelegramHarness, e2e_settings
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.wecom_api import FakeWeCom, shown_text
from tests.wecom.harness import WeComHarness, card_labels, wecom_settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
FAST = RateLimits(global_per_second=10_000, per_chat_per_second=10_000, per_group_per_minute=600_000)
CODE = "ZD2026-001"
PROJECT = f"{CODE} 城北高速连接线"

# name, role, Telegram user id, WeCom userid
PEOPLE = {
    "hao": ("郝芳", "liaison", 1001, "HaoFang"),  # liaison of ZD2026-001 (区住建局, 刘文华)
    "zhao": ("赵芳", "unit", 3003, "ZhaoFang"),  # handler of 区住建局
    "liu": ("刘文华", "lead", 4001, "LiuWenhua"),  # 副区长, lead official of ZD2026-001
    "wang": ("王立军", "top", 5001, "WangLijun"),  # 区长
    "admin": ("管理员(区重大项目办)", "admin", 9001, "XiangMuBan"),
}

# What can only differ by channel, replaced before comparing.
_VOLATILE = [
    (re.compile(r"https?://\S+"), "<链接>"),
    (re.compile(r"/start [A-Za-z0-9_-]{8,}"), "/start <邀请码>"),
]


@pytest.fixture
def tg_settings(fake_api: FakeBotAPI, tmp_path: Path) -> Settings:
    return e2e_settings(fake_api, DATA_DIR=str(tmp_path / "telegram"))


@pytest.fixture
def wc_settings(fake_wecom: FakeWeCom, fake_api: FakeBotAPI, tmp_path: Path) -> Settings:
    """The same deployment: one bot serving Telegram and WeCom (only WeCom is driven on this side)."""
    return wecom_settings(fake_wecom, DATA_DIR=str(tmp_path / "wecom"), TELEGRAM_BOT_TOKEN=fake_api.token,
                          TELEGRAM_BOT_USERNAME=fake_api.username)


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


@dataclass
class Told:
    """What one person was shown for one step, channel formatting removed."""

    lines: list[str] = field(default_factory=list)
    buttons: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.lines or self.buttons or self.files)


def _lines(text: str, channel_name: str, names: dict[str, str] | None = None) -> list[str]:
    text = unicodedata.normalize("NFKC", text)
    # the channel an account or a change came through (/person, /audit)
    text = text.replace(f"({channel_name})", "(<渠道>)").replace(f"- {channel_name} ", "- <渠道> ")
    for account, name in (names or {}).items():  # the name the channel knows the account by
        text = text.replace(account, name)
    for pattern, placeholder in _VOLATILE:
        text = pattern.sub(placeholder, text)
    return [line.strip() for line in text.splitlines() if line.strip()]


# --- Telegram ----------------------------------------------------------------------------------------


class TelegramSide:
    name = "telegram"

    def __init__(self, tg: TelegramHarness, people: dict[str, tuple[str, str, int, str]] = PEOPLE) -> None:
        self.tg = tg
        self.people = people
        self.files = tg.core.settings.data_dir
        self.chats = {str(p[2]): key for key, p in people.items()}

    async def bind(self, who: str) -> None:
        name, role, user, _ = self.people[who]
        await self.tg.bind(user, name, role)

    async def act(self, who: str, action: str, value: str) -> None:
        user = self.people[who][2]
        if action == "send":
            await self.tg.send(user, value)
        elif action == "photo":
            await self.tg.photo(user, caption=value)
        elif action == "other":  # a voice message or a location
            update = self.tg.fake.text_update(user, "")
            del update["message"]["text"]
            update["message"][value] = ({"file_id": "AwACAgFakeVoice", "file_unique_id": "v1", "duration": 3}
                                        if value == "voice" else {"latitude": 36.06, "longitude": 103.83})
            self.tg.fake.enqueue_update(update)
            await self.tg.wait_processed(update["update_id"])
        else:
            await self.tg.press(user, value)

    async def deliver(self) -> None:
        transport = TelegramTransport(self.tg.application.bot, files_root=self.files)
        await OutboxSender(self.tg.core.db, self.tg.clock, {"telegram": transport},
                           limits={"telegram": FAST}).drain(10)

    def mark(self) -> int:
        return len(self.tg.fake.calls)

    def told(self, since: int) -> dict[str, Told]:
        out: dict[str, Told] = {}
        for call in self.tg.fake.calls[since:]:
            if not call.ok or call.method not in ("sendMessage", "sendPhoto", "sendDocument"):
                continue
            who = self.chats.get(str(call.get("chat_id")))
            if who is None:
                continue
            told = out.setdefault(who, Told())
            text = call.get("text") if call.method == "sendMessage" else call.get("caption")
            told.lines += _lines(html_to_plain(text or ""), labels.CHANNELS["telegram"])
            markup = call.get("reply_markup") or {}
            told.buttons += [b["text"] for row in markup.get("inline_keyboard", []) for b in row
                             if "callback_data" in b]
            if call.method != "sendMessage":
                told.files.append("photo" if call.method == "sendPhoto" else "document")
        return out


# --- WeCom -------------------------------------------------------------------------------------------

# a card's words when its text went before it in full: a choice asked for, or an optional button offered
_BUTTONS_BELOW = ("请点击下方按钮选择。", "以上已保存，无需再选择；如需要，可点击下方按钮。")
_NUMBERED = re.compile(r"^\[(\d+)\] (.+)$")


class WeComSide:
    name = "wecom"

    def __init__(self, wc: WeComHarness, people: dict[str, tuple[str, str, int, str]] = PEOPLE) -> None:
        self.wc = wc
        self.people = people
        self.users = {p[3]: key for key, p in people.items()}
        wc.fake.add_user(*self.users)

    async def bind(self, who: str) -> None:
        name, role, _, userid = self.people[who]
        await self.wc.bind(userid, name, role)

    async def act(self, who: str, action: str, value: str) -> None:
        userid = self.people[who][3]
        if action == "send":
            await self.wc.send(userid, value)
        elif action == "photo":
            media = self.wc.fake.add_sent_image(b"\xff\xd8\xff\xe0" + b"\x00" * 64)
            if value:
                raise AssertionError("WeCom images carry no caption")
            await self.wc.photo(userid, media)
        elif action == "other":
            fields = ({"MediaId": "voice-media-1", "Format": "amr"} if value == "voice"
                      else {"Location_X": "36.06", "Location_Y": "103.83", "Scale": "15", "Label": "兰州"})
            await self.wc.exchange(userid, self.wc.fake.message_xml(userid, value, fields))
        else:
            await self.wc.press(userid, value)

    async def deliver(self) -> None:
        await self.wc.deliver_outbox()

    def mark(self) -> int:
        return len(self.wc.fake.calls)

    def told(self, since: int) -> dict[str, Told]:
        out: dict[str, Told] = {}
        before: dict[str, str] = {}  # what each person was shown last
        names = {p[3]: p[0] for p in self.people.values()}
        for call in self.wc.fake.calls_of("message/send", since=since, ok=True):
            who = self.users.get(str(call.body.get("touser")))
            if who is None:
                continue
            told = out.setdefault(who, Told())
            message = call.body
            msgtype = message["msgtype"]
            shown, before[who] = before.get(who, ""), shown_text(message)
            if msgtype in ("image", "file"):
                told.files.append(msgtype)
                continue
            listing: set[str] = set()
            if msgtype == "template_card":
                card = message["template_card"]
                read = card_labels(card, shown)
                told.buttons += read
                # the lines listing in full the labels shortened on the buttons belong to WeCom
                listing = set(_lines("\n".join(f"{b['text'][:1]} {label}" for b, label
                                               in zip(card["button_list"], read, strict=True) if b["text"] != label),
                                     labels.CHANNELS["wecom"], names))
                told.lines = [line for line in told.lines if line not in listing]
                if card.get("sub_title_text") in _BUTTONS_BELOW:
                    continue  # the text went before it in full
            lines = [line for line in _lines(shown_text(message), labels.CHANNELS["wecom"], names)
                     if line not in listing]
            for line in lines:
                numbered = _NUMBERED.match(line)
                if numbered:
                    told.buttons.append(numbered.group(2))
                elif line != "回复序号选择:":
                    told.lines.append(line)
        for told in out.values():  # a document sent as a file, a photo as an image: the same thing
            told.files = ["photo" if f == "image" else "document" for f in told.files]
        return out


# --- the script --------------------------------------------------------------------------------------

Step = tuple[str, str, str]  # who, action (send | photo | press), value
Hook = Callable[["Run"], Any]


@dataclass
class Run:
    """Both channels, acting step by step; ``mismatches`` collects what differed."""

    sides: list[Any]
    mismatches: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    told: dict[str, dict[str, Told]] = field(default_factory=dict)  # Telegram's, by step

    async def step(self, label: str, who: str | None = None, action: str = "", value: str = "",
                   *, job: Callable[[Any], Any] | None = None) -> dict[str, Told]:
        self.sides[0].tg.clock.advance(seconds=20)  # people take their time (and WeCom counts a minute's messages)
        results: list[dict[str, Told]] = []
        for side in self.sides:
            mark = side.mark()
            if job is not None:
                await job(side)
            else:
                assert who is not None
                try:
                    await side.act(who, action, value)
                except LookupError as missing:  # a button one channel offers and the other does not
                    self.mismatches.append(f"[{label}] {side.name}: {missing}")
            await side.deliver()
            results.append(side.told(mark))
        tg, wc = results
        for person in sorted(set(tg) | set(wc)):
            a, b = tg.get(person, Told()), wc.get(person, Told())
            if (a.lines, a.buttons, sorted(a.files)) != (b.lines, b.buttons, sorted(b.files)):
                self.mismatches.append(_describe(label, person, a, b))
        self.log.append(label)
        self.told[label] = tg
        return tg


def _describe(label: str, person: str, tg: Told, wc: Told) -> str:
    only_tg = [line for line in tg.lines if line not in wc.lines]
    only_wc = [line for line in wc.lines if line not in tg.lines]
    return (f"[{label}] {person}:\n  Telegram only: {only_tg}\n  WeCom only: {only_wc}\n"
            f"  buttons: {tg.buttons} | {wc.buttons}\n  files: {tg.files} | {wc.files}")


async def core_of(side: Any) -> Any:
    return side.tg.core if side.name == "telegram" else side.wc.core
