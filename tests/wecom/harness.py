"""Drives the real WeCom channel end to end: the fake WeCom server posts signed, encrypted callbacks to
the channel's aiohttp endpoint, the Router handles them, and the replies reach the fake through the API.

Every action posts one callback and then waits until the channel has handled and answered everything it
accepted (``WeComChannel.idle``), so the replies returned are exactly the ones the action produced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.app import Core
from bot.channels.base import RateLimits
from bot.channels.wecom.callback import WeComChannel
from bot.channels.wecom.inbox import Inbox
from bot.channels.wecom.render import CUT_MARKS
from bot.channels.wecom.robot import WeComRobotTransport
from bot.channels.wecom.wiring import add_wecom_routes
from bot.clock import FrozenClock
from bot.config import Settings
from bot.domain.albums import RUN_WAIT
from bot.domain.messages import Incoming, Outcome
from bot.services.outbox import OutboxSender, SendStats
from tests.e2e.harness import ChannelHarness, harness_settings
from tests.fakes.serving import serve_locally
from tests.fakes.wecom_api import Card, FakeWeCom, shown_text

_LISTED = re.compile(rf"^([{CUT_MARKS}]) (.+)$")


def card_labels(card: dict[str, Any], before: str = "") -> list[str]:
    """A card's buttons as a member reads them: a shortened one (「①路面施工完成」) by the line of the card's
    text giving its mark in full (「① ZD2026-001 路面施工完成」), in the card's subtitle or, when the card could
    not hold the text, in the message ``before`` it."""
    listed: dict[str, str] = {}
    for line in [*before.splitlines(), *str(card.get("sub_title_text", "")).splitlines()]:
        found = _LISTED.match(line.strip())
        if found:
            listed[found.group(1)] = found.group(2)
    return [listed.get(b["text"][:1], b["text"]) for b in card["button_list"]]


def read_buttons(messages: list[dict[str, Any]]) -> list[list[str]]:
    """For each message, its card's buttons as a member reads them (``card_labels``; [] for other messages)."""
    read: list[list[str]] = []
    before = ""
    for message in messages:
        if message["msgtype"] == "template_card":
            read.append(card_labels(message["template_card"], before))
        else:
            read.append([])
        before = shown_text(message)
    return read


FAST = RateLimits(global_per_second=10_000, per_chat_per_second=10_000, per_group_per_minute=600_000)
# How long a posted callback may take to be handled before the test fails as hung: a guard, not a measure. A step
# of a week's script runs a whole escalation tick or bulletin; on a machine running several test processes at
# once it took more than 10 s.
IDLE_WAIT = 60.0
# WeCom userids of the sample people used in these tests.
HAO = "HaoFang"  # 郝芳, liaison of ZD2026-001 城北高速连接线
ZHAO = "ZhaoFang"  # 赵芳, unit handler of 区住建局 (lead unit of ZD2026-001)
STRANGER = "Stranger01"


def wecom_settings(fake: FakeWeCom, **overrides: object) -> Settings:
    """Settings pointing the WeCom channel at the fake, ignoring any .env file."""
    return harness_settings({
        "WECOM_CORP_ID": fake.corp_id,
        "WECOM_AGENT_ID": fake.agent_id,
        "WECOM_SECRET": fake.secret,
        "WECOM_TOKEN": fake.callback_token,
        "WECOM_AES_KEY": fake.aes_key,
        "WECOM_API_BASE": fake.base_url,
        "WECOM_ROBOT_KEYS": fake.robot_keys_setting(),
        "TELEGRAM_BOT_TOKEN": None,
    }, overrides)


class SpyRouter:
    """The real router, recording every Incoming it is asked to handle."""

    def __init__(self, router: Any) -> None:
        self.real = router
        self.handled: list[Incoming] = []

    @property
    def deps(self) -> Any:
        return self.real.deps

    @property
    def commands(self) -> Any:
        return self.real.commands

    async def handle(self, msg: Incoming) -> Outcome:
        self.handled.append(msg)
        return await self.real.handle(msg)


@dataclass
class WeComReplies:
    """What one member received while the bot handled one action (message/send bodies)."""

    messages: list[dict[str, Any]]

    @property
    def msgtypes(self) -> list[str]:
        return [m["msgtype"] for m in self.messages]

    @property
    def texts(self) -> list[str]:
        """What the member's client shows for each message."""
        return [shown_text(m) for m in self.messages]

    @property
    def text(self) -> str:
        return "\n\n".join(self.texts)

    @property
    def cards(self) -> list[dict[str, Any]]:
        return [m["template_card"] for m in self.messages if m["msgtype"] == "template_card"]

    @property
    def buttons(self) -> list[str]:
        """Labels of card buttons, and of numbered choices ("[1] 用地"), in order."""
        labels: list[str] = []
        for message, shown, read in zip(self.messages, self.texts, read_buttons(self.messages), strict=True):
            if message["msgtype"] == "template_card":
                labels += read
            else:
                labels += [line.split("] ", 1)[1] for line in shown.splitlines()
                           if line.startswith("[") and "] " in line and line[1:line.index("]")].isdigit()]
        return labels

    def __contains__(self, fragment: str) -> bool:
        return fragment in self.text

    def __repr__(self) -> str:
        return f"WeComReplies({self.texts!r})"


class WeComHarness(ChannelHarness):
    """The WeCom channel served on a local port, the fake WeCom posting to it."""

    def __init__(self, fake: FakeWeCom, core: Core, settings: Settings, *, inbox: Path | Inbox | None = None) -> None:
        """``inbox``: the folder of the channel's journal of answered messages, or the inbox (none without it)."""
        self.fake = fake
        self.core = core
        self.settings = settings
        self.clock: FrozenClock = core.clock  # type: ignore[assignment]
        fake.now = lambda: core.clock.now().timestamp()  # WeCom's limits count on the clock the bot reads
        self.spy = SpyRouter(core.router)
        self.channel = WeComChannel.from_settings(settings, self.spy, inbox=inbox)  # type: ignore[arg-type]
        self.robots = WeComRobotTransport.from_settings(settings, memory=self.channel.memory)
        self.app = web.Application()
        add_wecom_routes(self.app, self.channel)
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        self._runner, port = await serve_locally(self.app)
        self.url = f"http://127.0.0.1:{port}/wecom/callback"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()  # closes the channel (on_shutdown)
        if self.robots is not None:
            await self.robots.close()

    # --- acting as users -----------------------------------------------------------------------------

    async def post(self, inner_xml: str | None = None, **kwargs: Any) -> tuple[int, str]:
        """Post a callback and wait until the channel has handled what it accepted."""
        status, text = await self.fake.post_callback(self.url, inner_xml, **kwargs)
        await self.channel.idle(timeout=IDLE_WAIT)
        return status, text

    async def exchange(self, userid: str, inner_xml: str) -> WeComReplies:
        mark = len(self.fake.calls)
        status, text = await self.post(inner_xml)
        assert (status, text) == (200, ""), (status, text)
        return WeComReplies(self.fake.sent_to(userid, since=mark))

    async def send(self, userid: str, text: str) -> WeComReplies:
        """A member types ``text`` in the app chat."""
        return await self.exchange(userid, self.fake.text_xml(userid, text))

    async def photo(self, userid: str, media_id: str | None = None, *, alone: bool = True) -> WeComReplies:
        """A member sends an image; `alone`: no other after it, so the answer a guided flow puts off for a run of
        images (``bot.domain.albums.RUN_WAIT``) is waited for, the clock moved on by that much."""
        answered = await self.exchange(userid, self.fake.image_xml(userid, media_id))
        if answered.messages or not alone:
            return answered
        mark = len(self.fake.calls)
        self.clock.advance(seconds=RUN_WAIT.total_seconds())
        await self.deliver_outbox()
        return WeComReplies(self.fake.sent_to(userid, since=mark))

    async def click(self, userid: str, key: str) -> WeComReplies:
        """A menu click."""
        return await self.exchange(userid, self.fake.event_xml(userid, "click", key))

    async def enter(self, userid: str) -> WeComReplies:
        return await self.exchange(userid, self.fake.event_xml(userid, "enter_agent"))

    async def press(self, userid: str, label: str) -> WeComReplies:
        """Press the newest pressable card button with this label, or answer a numbered list's number."""
        try:
            card: Card = self.fake.find_card(userid, label)
        except LookupError:
            found = self._card_reading(userid, label)
            if found is not None:
                card, shown = found
                return await self.exchange(userid, self.fake.card_event_xml(userid, card, shown))
            numbered = await self.channel.transport.numbered_choices(userid)
            labels = [b.label for b in numbered]
            if label not in labels:
                raise
            return await self.send(userid, str(labels.index(label) + 1))
        return await self.exchange(userid, self.fake.card_event_xml(userid, card, label))

    def _card_reading(self, userid: str, label: str) -> tuple[Card, str] | None:
        """The newest pressable card with a button a member reads as ``label`` (see ``card_labels``), and
        that button's text."""
        messages = self.fake.sent_to(userid)
        for message, read in reversed(list(zip(messages, read_buttons(messages), strict=True))):
            card = self.fake.cards.get(str(message.get("template_card", {}).get("task_id")))
            if card is not None and card.active and label in read:
                return card, card.labels[read.index(label)]
        return None

    # --- the database and the outbox -----------------------------------------------------------------

    async def bind(self, userid: str, name: str, role: str = "liaison", *,
                   keyword: bool = False) -> WeComReplies:
        """Invite ``name`` and redeem the code as WeCom member ``userid`` ("/start CODE" or "绑定 CODE")."""
        self.fake.add_user(userid)
        code = await self.invite(name, role)
        replies = await self.send(userid, f"绑定 {code}" if keyword else f"/start {code}")
        assert "已绑定" in replies, replies
        return replies

    async def deliver_outbox(self) -> SendStats:
        transports: dict[str, Any] = {"wecom": self.channel.transport}
        if self.robots is not None:
            transports["wecom_robot"] = self.robots
        sender = OutboxSender(self.core.db, self.clock, transports,
                              limits={name: FAST for name in transports})
        return await sender.drain(10)
