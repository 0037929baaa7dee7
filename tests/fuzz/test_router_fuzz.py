"""Fuzzing the router with generated messages and button payloads, on SQLite and (with TEST_DATABASE_URL)
PostgreSQL: odd text (control characters, NUL, superscript digits, huge numbers, "$", HTML-like text,
texts of several thousand characters), commands with generated arguments, and button payloads of every
prefix carrying generated ids, sent by a bound person of each role and by strangers, from three places:

- a private chat (the console channel);
- a Telegram group chat: commands meant for a group or not, bare or addressed to this bot or to another
  one, mentions of the bot, replies and chatter between members, and button presses;
- WeCom's app chat, as the callback turns its messages into ``Incoming`` (``bot.channels.wecom.incoming``):
  texts and keywords, numbers answering the numbered list last shown, menu clicks, card presses, entering
  the app, pictures, voice, and message types the bot does not know.

For every message: no exception escapes, nothing is answered "not saved" (and the router logs no failure,
which the suite's autouse check also fails on), and every reply is valid Telegram-HTML whose parts as the
channels send them fit their limits (Telegram 4,096 UTF-16 units per text, 64 bytes of button data; WeCom
2,048 bytes per message). A private or WeCom message is always answered. In a group, exactly what is meant
for the bot is answered (a button, or a command of ours not addressed to another bot); everything else
(chatter, mentions, replies, other bots' commands, commands we do not have) gets no answer at all. The
notices the messages queued are checked the same way at the end.

``FUZZ_BATCHES`` batches of ``BATCH`` messages run per database; see the README for the time it takes.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.app import Core
from bot.channels.console import bind_console
from bot.channels.wecom.binding import bind_wecom
from bot.channels.wecom.incoming import KEYWORDS, pick_number
from bot.channels.wecom.incoming import incoming_from as wecom_incoming
from bot.channels.wecom.markdown import utf8_len
from bot.channels.wecom.render import BUTTON_TEXT_MAX, reply_parts
from bot.clock import FrozenClock
from bot.config import load_settings
from bot.domain.albums import in_a_run
from bot.domain.escalation import CATEGORIES
from bot.domain.messages import Button, Incoming, Reply
from bot.html_split import TELEGRAM_LIMIT, split_html, utf16_len
from bot.services.ledger_import import import_ledger_files
from handlers.routes import BUTTONS
from storage import outbox, people
from storage.models import OutboxMessage
from tests.databases import BACKENDS, fresh_database
from tests.e2e.harness import SAMPLE_LEDGER, START, TEST_ACTOR
from tests.fakes.bot_api import parse_telegram_html

BATCH = 50
FUZZ_BATCHES = int(os.environ.get("FUZZ_BATCHES", "100"))  # 100 × 50 = 5,000 messages per database
CALLBACK_DATA_MAX = 64  # bytes Telegram keeps of a button's callback_data
ROLES = {"liaison": "郝芳", "unit": "赵芳", "lead": "刘文华", "top": "王立军", "admin": "管理员(区重大项目办)"}
STRANGERS = ("stranger-1", "stranger-2")
FAILED = "没有处理成功"
GROUP_CHAT = "-1001234567890"

# --- what is generated ---------------------------------------------------------------------------------

ODD = ["\x00", "\x01", "\x1b", "\x7f", "\r", "\t", "\u200b", "\ufeff", "²", "①", "٣", "１２", "$", "$x^2$",
       "<b>", "</i>", "<script>", "&", "&amp;", "&nbsp;", "\\", "'", '"', "%s", "{{ x }}", "🟢", "\U0001f600",
       "𠀀", "W", "w0", "W0007", "ZD2026-001", "ZD2026-999", "99999999999999999999", "-1", "0", "2147483648",
       "1.2亿", "850万", "3 000", "三千万", "2026-12-10", "2026-02-30", "全部", "all", "@other_bot"]
COMMANDS = ["start", "help", "report", "undo", "mine", "project", "issue", "issues", "accept", "answer",
            "reassign", "resolved", "confirm", "reopen", "comment", "rank", "export", "invite", "people",
            "person", "deactivate", "handover", "project_set", "approval", "assign", "import", "sla", "calendar",
            "schedule", "groups", "broadcast", "audit", "outbox", "meeting", "decide", "cancel", "nosuch"]

# Ids as users and buttons give them: small ones that exist, huge ones, and digits that are not ASCII.
ids = st.one_of(
    st.sampled_from(["0", "1", "2", "3", "7", "-1", "2147483647", "2147483648", "9223372036854775808",
                     "99999999999999999999", "9" * 5000, "²", "1²", "①", "１２", "٣", ""]),
    st.integers(min_value=0, max_value=2**80).map(str),
)
words = st.one_of(
    st.sampled_from(ODD),
    st.text(max_size=12),
    ids,
    ids.map(lambda n: f"W{n}"),
    st.integers(min_value=1, max_value=40).map(lambda n: f"ZD2026-{n:03d}"),
)
phrases = st.lists(words, max_size=8).map(" ".join)
long_texts = st.builds(lambda ch, n: ch * n, st.sampled_from(["字", "a", "<", "&", "\n", "🟢", "$", "进度 "]),
                       st.integers(min_value=400, max_value=6000))
texts = st.one_of(phrases, phrases, long_texts, st.text(max_size=200))
commands = st.builds(lambda name, at, first, rest: f"/{name}{at} {first} {rest}", st.sampled_from(COMMANDS),
                     st.sampled_from(["", "", "@diaodu_bot", "@other_bot"]), st.one_of(ids, ids.map("W{}".format),
                                                                                      words),
                     st.one_of(phrases, long_texts))
# Commands that mostly do something (郝芳 reports and raises problems on ZD2026-001, 赵芳 handles them,
# leaders comment, the admin broadcasts), carrying odd or long texts.
working = st.one_of(
    st.builds("/report ZD2026-001 {} {}".format, st.sampled_from(["850万", "1.2亿", "3 000", "0", "1²", "9" * 30]),
              texts),
    st.builds("/issue ZD2026-001 {} {}".format, st.sampled_from(CATEGORIES), texts),
    st.builds("/{} W{} {}".format, st.sampled_from(["accept", "answer", "resolved", "confirm", "reopen", "comment",
                                                    "reassign", "audit", "issue"]),
              st.integers(min_value=1, max_value=6).map("{:04d}".format), texts),
    st.builds("/broadcast {} {}".format, st.sampled_from(["all", "联络员", "区住建局"]), texts),
    st.builds("/decide {} 区住建局 2026-12-15".format, texts),
)
# What follows a button's prefix: the kinds of button of every prefix, then an id or a word.
KINDS = ["show", "acc", "cfm", "ans", "rea", "rsv", "rop", "cmt", "inv:liaison", "inv:admin", "dea", "dea:", "r",
         "all", "p", "c", "u", "d", "ok", "x", "cancel", "keep", "replace", "edit", "done", "e:amount",
         "e:progress", "e:photos", "e:back", "f", "k", "f:all", "k:all", "zz", ""]
payloads = st.builds(lambda prefix, kind, rest: ":".join([prefix, kind, *rest]),
                     st.sampled_from([*BUTTONS, "zz", ""]), st.sampled_from(KINDS),
                     st.lists(st.one_of(ids, words), max_size=2))


@dataclass(frozen=True)
class Sent:
    """One generated message: who sends it (a role or a stranger), where ("private", "group", or "wecom"
    with the callback's ``fields`` in ``wecom``) and what."""

    who: str
    text: str = ""
    data: str | None = None
    where: str = "private"
    wecom: tuple[tuple[str, str], ...] = ()


senders = st.sampled_from([*ROLES, *STRANGERS])
# A group chat: commands bare or addressed (to us or another bot), mentions, replies, members' chatter.
group_texts = st.one_of(
    commands,
    working,
    st.builds(lambda name, at: f"/{name}{at}", st.sampled_from(COMMANDS),
              st.sampled_from(["", "@diaodu_bot", "@DIAODU_BOT", "@other_bot"])),
    st.builds("@diaodu_bot {}".format, texts),  # a mention
    st.builds("{} @diaodu_bot".format, phrases),
    st.builds("收到,{}".format, phrases),  # what a reply to a bulletin says
    texts,
)
WECOM_KEYS = ["/report", "/issues", "/issue", "/mine", "/rank", "/help", "填报", "我的", "排名", "nosuch", ""]
wecom_fields = st.one_of(
    st.builds(lambda t: (("MsgType", "text"), ("Content", t)),
              st.one_of(texts, commands, working, st.sampled_from(["1", "2", "7", "0", "１", "99"]),
                        st.builds("{} {}".format, st.sampled_from([k for k, _c in KEYWORDS]), phrases),
                        st.builds("\uff0f{}".format, st.sampled_from(COMMANDS)))),
    st.builds(lambda k: (("MsgType", "event"), ("Event", "click"), ("EventKey", k)),
              st.one_of(st.sampled_from(WECOM_KEYS), words)),
    st.builds(lambda k: (("MsgType", "event"), ("Event", "template_card_event"), ("EventKey", k),
                         ("TaskId", "t1"), ("ResponseCode", "rc")), payloads),
    st.sampled_from([(("MsgType", "event"), ("Event", e)) for e in ("enter_agent", "subscribe", "view", "")]),
    st.builds(lambda m: (("MsgType", "image"), ("MediaId", m)), st.one_of(st.just(""), words)),
    st.sampled_from([(("MsgType", t),) for t in ("voice", "video", "file", "location", "link", "weird", "")]),
)
messages = st.one_of(
    st.builds(Sent, senders, text=texts),
    st.builds(Sent, senders, text=commands),
    st.builds(Sent, senders, text=working),
    st.builds(Sent, senders, data=payloads),
    st.builds(Sent, senders, text=group_texts, where=st.just("group")),
    st.builds(Sent, senders, data=payloads, where=st.just("group")),
    st.builds(Sent, senders, where=st.just("wecom"), wecom=wecom_fields),
    st.builds(Sent, senders, where=st.just("wecom"), wecom=wecom_fields),
)

# --- the checks ----------------------------------------------------------------------------------------


def check_reply(reply: Reply) -> None:
    """A reply as the channels send it: valid Telegram-HTML in parts within the limits."""
    for part in split_html(reply.html):
        assert utf16_len(part) <= TELEGRAM_LIMIT
        parse_telegram_html(part)  # raises on what Telegram would refuse
    for row in reply.buttons:
        for button in row:
            assert button.label.strip() and utf8_len(button.data) <= CALLBACK_DATA_MAX, button
    parts, _numbered = reply_parts(reply)
    for part in parts:
        if part.msgtype in ("text", "markdown"):
            assert utf8_len(part.content["content"]) <= 2048
        if part.msgtype == "template_card":
            assert all(len(b["text"]) <= BUTTON_TEXT_MAX for b in part.content["button_list"]), part


class Fuzzer:
    """A core on a fresh database of one backend holding the sample ledger, a person of each role bound."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.runner = asyncio.Runner()
        self.stack = AsyncExitStack()
        self.accounts: dict[str, str] = {}  # console chats
        self.telegram: dict[str, str] = {}  # Telegram user ids (groups)
        self.wecom: dict[str, str] = {}  # WeCom userids
        self.numbered: dict[str, tuple[Button, ...]] = {}  # the numbered list last shown to a WeCom user
        self.places: Counter[str] = Counter()
        self.strangers_photos: set[tuple[str, str]] = set()  # (place, stranger) that sent a photo already
        self.message_ids = itertools.count(1)
        self.count = 0
        self.seconds = 0.0

    def start(self) -> None:
        self.core = self.runner.run(self._start())

    async def _start(self) -> Core:
        db = await self.stack.enter_async_context(fresh_database(self.backend))
        clock = FrozenClock(START)
        summary = await import_ledger_files(db, clock, [SAMPLE_LEDGER], actor=TEST_ACTOR)
        assert not summary.issues, summary.issues
        core = Core.build(load_settings(DATABASE_URL="sqlite+aiosqlite://", TELEGRAM_BOT_USERNAME="diaodu_bot",
                                        _env_file=None), clock=clock, db=db)
        for n, (role, name) in enumerate(ROLES.items()):
            async with db.session() as session:
                [person] = await people.find_people_by_name(session, name=name)
                await people.bind_account(session, person=person, channel="telegram", external_id=str(5001 + n),
                                          chat_id=str(5001 + n), display_name=name, now=clock.now())
            self.accounts[role] = await bind_console(db, person, now=clock.now())
            self.telegram[role] = str(5001 + n)
            await bind_wecom(db, clock, userid=f"wx-{role}", person_name=name)
            self.wecom[role] = f"wx-{role}"
        for n, stranger in enumerate(STRANGERS):
            self.accounts[stranger] = stranger
            self.telegram[stranger] = str(7001 + n)
            self.wecom[stranger] = stranger
        return core

    def close(self) -> None:
        self.runner.run(self.stack.aclose())
        self.runner.close()

    def run(self, batch: list[Sent]) -> None:
        began = time.perf_counter()
        self.runner.run(self._run(batch))
        self.seconds += time.perf_counter() - began
        self.count += len(batch)

    async def _run(self, batch: list[Sent]) -> None:
        for sent in batch:
            msg = self.incoming(sent)
            if msg is None:  # a WeCom message the callback does not answer (an unknown type, a repeated greeting)
                self.places["wecom ignored"] += 1
                continue
            outcome = await self.core.router.handle(msg)
            if sent.where == "group":
                meant = msg.callback_data is not None or (
                    msg.command is not None and not msg.for_another_bot
                    and self.core.router.commands.get(msg.command[0]) is not None)
                assert bool(outcome.replies) == meant, f"{sent!r} in a group was answered: {outcome.replies!r}"
                self.places["group answered" if meant else "group left alone"] += 1
            elif self.told_of_photos(sent, msg):  # a stranger is told who he is once per run of photos
                assert not outcome.replies, f"{sent!r} was answered again: {outcome.replies!r}"
                self.places["photo answered already"] += 1
            elif not outcome.replies and in_a_run(msg.channel, album=msg.album, photos=len(msg.photos),
                                                  text=msg.text):  # a guided flow answers a run of images once
                assert await self.answer_put_off(msg), f"no answer to {sent!r}, now or later"
                self.places["image answered with its run"] += 1
            else:
                assert outcome.replies, f"no answer to {sent!r}"
                self.places[sent.where] += 1
            for reply in outcome.replies:
                assert FAILED not in reply.html, f"{sent!r} was answered: {reply.html}"
                check_reply(reply)
            if sent.where == "wecom":
                self.remember_numbers(msg.user_id, outcome.replies)

    async def answer_put_off(self, msg: Incoming) -> bool:
        """Whether the answer to an image of a run waits in the outbox (``handlers.report_albums.answer_once``)."""
        async with self.core.db.session() as session:
            return bool(await session.scalar(select(OutboxMessage.id).where(
                OutboxMessage.chat_id == msg.chat_id, OutboxMessage.dedupe_key.startswith("album-answer:")).limit(1)))

    def told_of_photos(self, sent: Sent, msg: Incoming) -> bool:
        """Whether `msg` is a photo without words from a stranger who sent a photo before in the same place: the
        clock stands still, so it is within the run of photos answered once (bot.domain.albums)."""
        if sent.who not in STRANGERS or not msg.photos:
            return False
        place = (sent.where, sent.who)
        seen = place in self.strangers_photos
        self.strangers_photos.add(place)
        return seen and not msg.text.strip()

    def incoming(self, sent: Sent) -> Incoming | None:
        """The message as its channel hands it to the router."""
        if sent.where == "group":
            return Incoming(channel="telegram", user_id=self.telegram[sent.who], chat_id=GROUP_CHAT, text=sent.text,
                            callback_data=sent.data, display_name=sent.who, chat_type="group",
                            bot_username="diaodu_bot", key=f"{GROUP_CHAT}:{next(self.message_ids)}")
        if sent.where == "wecom":
            userid = self.wecom[sent.who]
            fields = {"FromUserName": userid, "MsgId": str(next(self.message_ids)), **dict(sent.wecom)}
            choices = self.numbered.get(userid, ())
            msg, _press = wecom_incoming(userid, fields, pressed_number=lambda _u, text: pick_number(choices, text),
                                         greet=lambda _u: True)
            return msg
        account = self.accounts[sent.who]
        return Incoming(channel="console", user_id=account, chat_id=account, text=sent.text,
                        callback_data=sent.data, display_name=sent.who)

    def remember_numbers(self, userid: str, replies: list[Reply]) -> None:
        """What the WeCom transport remembers: a reply's numbered list, until a reply with other buttons."""
        for reply in replies:
            _parts, numbered = reply_parts(reply)
            if numbered:
                self.numbered[userid] = tuple(b for row in reply.buttons for b in row)
            elif reply.buttons:
                self.numbered.pop(userid, None)

    def check_notices(self) -> int:
        return self.runner.run(self._check_notices())

    async def _check_notices(self) -> int:
        async with self.core.db.session() as session:
            rows = (await session.scalars(select(OutboxMessage))).all()
            for row in rows:
                check_reply(outbox.reply_from_payload(row.payload))
        return len(rows)


@pytest.fixture(params=BACKENDS)
def fuzzer(request: pytest.FixtureRequest) -> Iterator[Fuzzer]:
    fuzzer = Fuzzer(request.param)
    fuzzer.start()  # skips on PostgreSQL when TEST_DATABASE_URL is not set
    try:
        yield fuzzer
    finally:
        fuzzer.close()


def test_the_router_survives_generated_messages_and_buttons(fuzzer: Fuzzer) -> None:
    # No shrinking: a failure names the one message that failed, and shrinking batches takes minutes.
    @settings(max_examples=FUZZ_BATCHES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(st.lists(messages, min_size=BATCH, max_size=BATCH))
    def batch(sent: list[Sent]) -> None:
        fuzzer.run(sent)

    batch()
    notices = fuzzer.check_notices()
    print(f"\n{fuzzer.backend}: {fuzzer.count} messages in {fuzzer.seconds:.1f} s, {notices} notices checked; "
          f"{dict(fuzzer.places)}")
    assert fuzzer.count >= FUZZ_BATCHES * BATCH
    # Every place and kind of group message was tried (a share of the default run's 5,000 each).
    if FUZZ_BATCHES >= 20:
        assert min(fuzzer.places[p] for p in ("private", "wecom", "group answered", "group left alone")) > 20
    assert notices > 0  # the messages did things that notify people, not only refusals
