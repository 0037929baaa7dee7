"""Telegram delivery of the outbox over real HTTP, against the fake Bot API answering with faults.

PTB's errors are mapped to delivery errors (unit tests first), then real notices go through a real
``telegram.Bot`` to the fake server while it answers 429, 5xx and too late on a share of the calls:
in the end every notice arrives exactly once.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from telegram import Bot
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.channels.base import (
    Attachment,
    ChannelDown,
    PermanentError,
    RateLimits,
    RecipientBlocked,
    RetryLater,
    TransientError,
)
from bot.channels.telegram_transport import TEXT_MAX, TelegramTransport, delivery_error
from bot.clock import FrozenClock, SystemClock
from bot.domain.messages import Button, Reply
from bot.html_split import split_html
from bot.services.outbox import OutboxSender
from storage import outbox
from storage.db import Database
from storage.models import ChatAccount, OutboxMessage, Person
from tests.fakes.bot_api import FakeBotAPI, Fault
from tests.fakes.ptb_bot import bot_on

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # RetryAfter's own
QUICK = RateLimits(global_per_second=200, per_chat_per_second=5, per_group_per_minute=600)


# ---------------------------------------------------------------- mapping PTB errors


@pytest.mark.parametrize(("make", "expected"), [
    (lambda: RetryAfter(3), RetryLater),
    (lambda: Forbidden("Forbidden: bot was blocked by the user"), RecipientBlocked),
    (lambda: BadRequest("Chat not found"), RecipientBlocked),
    (lambda: BadRequest("Bad Request: can't parse entities: unsupported start tag"), PermanentError),
    (lambda: BadRequest("Message is too long"), PermanentError),
    (lambda: TimedOut("Timed out"), TransientError),
    (lambda: NetworkError("Bad Gateway"), TransientError),
    (lambda: NetworkError("Internal Server Error (500)"), TransientError),
    (lambda: InvalidToken("Unauthorized"), ChannelDown),
], ids=["429", "403", "chat-not-found", "bad-html", "too-long", "timeout", "502", "500", "bad-token"])
def test_ptb_errors_map_to_delivery_errors(
    make: Callable[[], TelegramError], expected: type[Exception]
) -> None:
    assert type(delivery_error(make())) is expected


def test_a_refused_token_is_a_fault_of_the_channel_and_its_words_never_carry_the_token() -> None:
    """PTB's own message at start-up names the token; the fault's words go to /readyz and the log."""
    token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    for error in (InvalidToken("Unauthorized"), InvalidToken(f"The token `{token}` was rejected by the server.")):
        down = delivery_error(error)
        assert isinstance(down, ChannelDown) and down.reason == "bad_token"
        assert token not in str(down) and "invalid bot token" in str(down)


def test_retry_after_in_seconds_or_as_a_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    mapped = delivery_error(RetryAfter(7))
    assert isinstance(mapped, RetryLater) and mapped.after_seconds == 7
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # the newer behaviour: retry_after is a timedelta
    mapped = delivery_error(RetryAfter(timedelta(seconds=2.5)))
    assert isinstance(mapped, RetryLater) and mapped.after_seconds == 2.5


class StubBot:
    """Answers like a Bot whose group chat became a supergroup."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []

    async def send_message(self, chat_id: int, text: str, **_options: Any) -> None:
        if chat_id == -5:
            raise ChatMigrated(-1009)
        self.sent.append((chat_id, text))


async def test_a_migrated_group_gets_the_message_at_its_new_id() -> None:
    stub = StubBot()
    await TelegramTransport(stub).send("-5", Reply("通报"))  # type: ignore[arg-type]
    assert stub.sent == [(-1009, "通报")]


class FlakyBot:
    """Fails the `fail_at`-th message it is asked to send (counting from 1) once, with `error`."""

    def __init__(self, fail_at: int, error: TelegramError) -> None:
        self.sent: list[tuple[int, str]] = []
        self.asked = 0
        self.fail_at, self.error = fail_at, error

    async def send_message(self, chat_id: int, text: str, **_options: Any) -> None:
        self.asked += 1
        if self.asked == self.fail_at:
            raise self.error
        self.sent.append((chat_id, text))


def three_parts() -> Reply:
    reply = Reply("\n".join(f"第{n:03d}行 " + "进度正常" * 20 for n in range(110)))
    assert len(split_html(reply.html, TEXT_MAX)) == 3
    return reply


async def test_a_send_failing_part_way_says_how_far_it_got_and_a_retry_sends_the_rest() -> None:
    flaky = FlakyBot(2, NetworkError("Bad Gateway"))
    transport = TelegramTransport(flaky)  # type: ignore[arg-type]
    with pytest.raises(TransientError) as raised:
        await transport.send("7", three_parts())
    assert raised.value.parts_sent == 1 and len(flaky.sent) == 1
    await transport.send("7", three_parts(), skip=raised.value.parts_sent)
    assert len(flaky.sent) == 3 and len({text for _chat, text in flaky.sent}) == 3


async def test_a_group_migrating_part_way_gets_the_rest_at_its_new_id() -> None:
    flaky = FlakyBot(2, ChatMigrated(-1009))
    await TelegramTransport(flaky).send("-5", three_parts())  # type: ignore[arg-type]
    assert [chat for chat, _text in flaky.sent] == [-5, -1009, -1009]


async def test_a_chat_id_that_is_no_number_is_a_permanent_error() -> None:
    with pytest.raises(PermanentError):
        await TelegramTransport(StubBot()).send("zhaofang", Reply("x"))  # type: ignore[arg-type]


# ---------------------------------------------------------------- over HTTP


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(seed=7) as server:
        yield server


@pytest.fixture
async def bot(fake: FakeBotAPI) -> AsyncIterator[Bot]:
    """A real PTB Bot talking to the fake, with short timeouts and room for concurrent sends."""
    async with bot_on(fake, pool=32, read_timeout=0.5, write_timeout=1.0, pool_timeout=3.0) as real_bot:
        yield real_bot


@pytest.fixture
async def db() -> AsyncIterator[Database]:
    database = Database("sqlite+aiosqlite://")
    await database.create_all()
    try:
        yield database
    finally:
        await database.dispose()


async def add_people(db: Database, chat_ids: list[int]) -> dict[int, int]:
    """A person with a Telegram account per chat id; returns chat id → person id."""
    now = SystemClock().now()
    people: dict[int, int] = {}
    async with db.session() as session:
        for chat_id in chat_ids:
            person = Person(name=f"用户{chat_id}", active=True, created_at=now)
            session.add(person)
            await session.flush()
            session.add(ChatAccount(person_id=person.id, channel="telegram", external_id=str(chat_id),
                                    chat_id=str(chat_id), created_at=now))
            people[chat_id] = person.id
    return people


async def states(db: Database) -> Counter[str]:
    async with db.session() as session:
        return Counter((await session.scalars(select(OutboxMessage.state))).all())


async def test_a_notice_with_buttons_arrives_as_html_with_a_keyboard(
    db: Database, fake: FakeBotAPI, bot: Bot
) -> None:
    clock = FrozenClock(SystemClock().now())
    people = await add_people(db, [1001])
    buttons = ((Button("受理", "p:1:a"), Button("退回", "p:1:r")),)
    reply = Reply("<b>W0001</b> 待受理:工地停电 &amp; 断水", buttons=buttons)
    async with db.session() as session:
        await outbox.enqueue_for_person(session, person_id=people[1001], reply=reply, key="p1",
                                        now=clock.now())
    send = OutboxSender(db, clock, {"telegram": TelegramTransport(bot)}, limits={"telegram": QUICK})
    assert (await send.drain(5)).sent == 1
    [call] = fake.calls_of("sendMessage", ok=True)
    assert call["chat_id"] == 1001 and call["parse_mode"] == "HTML"
    assert call["text"] == reply.html
    assert [[b["text"] for b in row] for row in call["reply_markup"]["inline_keyboard"]] == [["受理", "退回"]]


async def test_a_photo_notice_is_sent_with_its_caption(
    db: Database, fake: FakeBotAPI, bot: Bot, tmp_path: Path
) -> None:
    (tmp_path / "site.jpg").write_bytes(b"\xff\xd8\xff\xe0photo")
    clock = FrozenClock(SystemClock().now())
    people = await add_people(db, [1001])
    async with db.session() as session:
        await outbox.enqueue_for_person(session, person_id=people[1001], reply=Reply("<b>现场照片</b>"),
                                        key="ph", now=clock.now(),
                                        attachment=Attachment("photo", "site.jpg", "现场.jpg"))
    transport = TelegramTransport(bot, files_root=tmp_path)
    send = OutboxSender(db, clock, {"telegram": transport}, limits={"telegram": QUICK})
    assert (await send.drain(5)).sent == 1
    [call] = fake.calls_of("sendPhoto", ok=True)
    assert call["caption"] == "<b>现场照片</b>"
    assert call.files["photo"] == b"\xff\xd8\xff\xe0photo"


class RecordingRights:
    """A ``RightsWatch`` writing down what it is told: (what it was told, chat id, what)."""

    def __init__(self) -> None:
        self.told: list[tuple[str, str, str]] = []

    async def refused(self, chat_id: str, what: str) -> None:
        self.told.append(("refused", chat_id, what))

    async def allowed(self, chat_id: str, what: str) -> None:
        self.told.append(("allowed", chat_id, what))

    async def moved(self, chat_id: str, new_chat_id: str) -> None:
        self.told.append(("moved", chat_id, new_chat_id))


@pytest.mark.parametrize(("kind", "right", "caption", "let"), [
    ("photo", "photos", "<b>周通报</b> 排名图", True),
    ("document", "documents", "<b>周通报</b> 台账", True),
    ("photo", "photos", "<b>月通报</b>\n" + "项目进展正常。" * 200, True),  # the text after the file
    ("photo", "photos", "<b>周通报</b> 排名图", False),
    ("document", "documents", "<b>周通报</b> 台账", False),
], ids=["photo", "document", "photo-then-text", "photo-refused", "document-refused"])
async def test_a_file_sent_to_a_group_upgraded_unheard_is_told_at_the_new_id(
    fake: FakeBotAPI, bot: Bot, tmp_path: Path, kind: str, right: str, caption: str, let: bool
) -> None:
    """The group became a supergroup while the bot heard nothing: the send to its old id is refused naming the new
    one, the file (or, refused there, a line in its place) goes there, and what the file found is told of the group
    at its new id, as the text's is (the old id is no chat any more: a mark made there would be nobody's)."""
    old, new = -4001234, -1009876543210
    (tmp_path / "chart").write_bytes(b"\xff\xd8\xff\xe0photo" if kind == "photo" else b"PK\x03\x04ledger")
    fake.group(old, kind="group", title="城北片区")
    if not let:
        fake.group_permissions(old, **{f"can_send_{right}": False})
    fake.migrate_group(old, new, user_id=1001, told=False)  # the supergroup keeps the group's permissions
    rights = RecordingRights()
    transport = TelegramTransport(bot, files_root=tmp_path, rights=rights)
    sent = await transport.send(str(old), Reply(caption), attachment=Attachment(kind, "chart", "图.png"))
    assert sent and bool(fake.calls_of("sendPhoto" if kind == "photo" else "sendDocument", chat_id=new,
                                       ok=True)) == let
    assert rights.told[0] == ("moved", str(old), str(new))
    assert ("allowed" if let else "refused", str(new), right) in rights.told
    assert [t for t in rights.told[1:] if t[1] != str(new)] == []


async def test_document_notices_are_uploaded_with_their_caption_or_before_a_long_text(
    db: Database, fake: FakeBotAPI, bot: Bot, tmp_path: Path
) -> None:
    (tmp_path / "ledger.xlsx").write_bytes(b"PK\x03\x04ledger")
    clock = FrozenClock(SystemClock().now())
    people = await add_people(db, [1001, 1002])
    ledger = Attachment("document", "ledger.xlsx", "台账.xlsx")
    long_text = "<b>月通报</b>\n" + "项目进展正常。" * 200  # past a caption's 1,024 characters
    async with db.session() as session:
        await outbox.enqueue_for_person(session, person_id=people[1001], reply=Reply("<b>台账</b> 见附件"),
                                        key="d1", now=clock.now(), attachment=ledger)
        await outbox.enqueue_for_person(session, person_id=people[1002], reply=Reply(long_text), key="d2",
                                        now=clock.now(), attachment=ledger)
    transport = TelegramTransport(bot, files_root=tmp_path)
    send = OutboxSender(db, clock, {"telegram": transport}, limits={"telegram": QUICK})
    assert (await send.drain(5)).sent == 2
    short, long = (fake.calls_of("sendDocument", chat_id=chat, ok=True)[0] for chat in (1001, 1002))
    assert b"PK\x03\x04ledger" in short.files.values() and b"PK\x03\x04ledger" in long.files.values()
    assert short["caption"] == "<b>台账</b> 见附件"
    assert "caption" not in long.params and fake.texts(1002) == [long_text]  # the text follows the file
    assert [c.method for c in fake.calls if c.get("chat_id") == 1002] == ["sendDocument", "sendMessage"]
    assert fake.texts(1001) == []


@pytest.mark.parametrize(("status", "description", "state", "blocked"), [
    (403, "Forbidden: bot was blocked by the user", "undeliverable", True),
    (400, "Bad Request: chat not found", "undeliverable", True),
    (400, "Bad Request: message is too long", "failed", False),
])
async def test_refusals_over_http(db: Database, fake: FakeBotAPI, bot: Bot, status: int, description: str,
                                  state: str, blocked: bool) -> None:
    clock = FrozenClock(SystemClock().now())
    people = await add_people(db, [1001])
    async with db.session() as session:
        await outbox.enqueue_for_person(session, person_id=people[1001], reply=Reply("hi"), key="k",
                                        now=clock.now())
    fake.inject_fault("sendMessage", status=status, description=description)
    await OutboxSender(db, clock, {"telegram": TelegramTransport(bot)}, limits={"telegram": QUICK}).drain(5)
    async with db.session() as session:
        row = await session.scalar(select(OutboxMessage))
        account = await session.scalar(select(ChatAccount))
    assert row is not None and account is not None
    assert (row.state, row.attempts) == (state, 1)
    assert row.last_error is not None
    assert description.removeprefix("Bad Request: ").lower() in row.last_error.lower()
    assert (account.blocked_at is not None) is blocked


async def test_flood_control_and_server_errors_over_http(db: Database, fake: FakeBotAPI, bot: Bot) -> None:
    clock = FrozenClock(SystemClock().now())
    people = await add_people(db, [1001])
    async with db.session() as session:
        await outbox.enqueue_for_person(session, person_id=people[1001], reply=Reply("hi"), key="k",
                                        now=clock.now())
    send = OutboxSender(db, clock, {"telegram": TelegramTransport(bot)}, limits={"telegram": QUICK})
    fake.inject_fault("sendMessage", status=429, retry_after=5, times=1)
    assert (await send.drain(5)).retried == 1
    async with db.session() as session:
        row = await session.scalar(select(OutboxMessage))
    assert row is not None and row.next_attempt_at == clock.now() + timedelta(seconds=5)
    clock.advance(seconds=5)
    fake.inject_fault("sendMessage", status=500, times=1)
    assert (await send.drain(5)).retried == 1
    async with db.session() as session:
        row = await session.scalar(select(OutboxMessage))
    assert row is not None and row.last_error == "TransientError: Internal Server Error"
    clock.advance(minutes=1)
    assert (await send.drain(5)).sent == 1
    assert fake.texts(1001) == ["hi"]


class MixedFaults(dict[str, Fault]):
    """Stands in for the fake's fault table: sendMessage misbehaves on about ``rate`` of the calls, in turn
    answering 429 (retry after 1 s), 500, 502, or too late for the client (then 504, nothing sent)."""

    def __init__(self, rate: float, seed: int = 1) -> None:
        super().__init__()
        self.rate = rate
        self.random = random.Random(seed)
        self.kinds = [Fault(status=429, retry_after=1), Fault(status=500), Fault(status=502),
                      Fault(status=504, delay=0.8, description="Gateway Timeout")]
        self.injected: Counter[int] = Counter()

    def get(self, method: str, default: Any = None) -> Fault | None:  # type: ignore[override]
        if method != "sendmessage" or self.random.random() >= self.rate:
            return default
        fault = self.random.choice(self.kinds)
        self.injected[fault.status or 0] += 1
        return Fault(status=fault.status, retry_after=fault.retry_after, delay=fault.delay,
                     description=fault.description)


async def test_two_hundred_notices_through_faults_arrive_exactly_once(
    db: Database, fake: FakeBotAPI, bot: Bot
) -> None:
    chats = [1000 + n for n in range(16)] + [-100_000 - n for n in range(4)]  # 16 people and 4 group chats
    people = await add_people(db, [c for c in chats if c > 0])
    clock = SystemClock()
    async with db.session() as session:
        for n in range(200):
            chat_id = chats[n % len(chats)]
            reply = Reply(f"<b>通知</b> #{n:03d}", buttons=((Button("查看", f"n:{n}"),),))
            if chat_id > 0:
                await outbox.enqueue_for_person(session, person_id=people[chat_id], reply=reply, key=f"n{n}",
                                                now=clock.now())
            else:
                await outbox.enqueue_for_chat(session, channel="telegram", chat_id=str(chat_id), reply=reply,
                                              key=f"n{n}", now=clock.now())
    faults = MixedFaults(rate=0.1)
    fake.faults = faults
    send = OutboxSender(db, clock, {"telegram": TelegramTransport(bot)}, limits={"telegram": QUICK},
                        first_retry=0.2, backoff_base=0.2, concurrency=16)
    started = time.monotonic()
    stats = await send.drain(25, wait_for_retries=True)
    elapsed = time.monotonic() - started

    delivered = Counter(c["text"] for c in fake.calls_of("sendMessage", ok=True))
    assert delivered == Counter({f"<b>通知</b> #{n:03d}" for n in range(200)}), "each notice exactly once"
    assert await states(db) == Counter({"sent": 200})
    assert stats.sent == 200
    assert sum(faults.injected.values()) >= 10 and faults.injected[429] and faults.injected[504]
    assert stats.retried >= sum(faults.injected.values()) - faults.injected[504]  # every fault was retried
    for chat_id in chats:  # each chat got its ten notices, in order but for the retried ones
        assert len(fake.texts(chat_id)) == 10
    assert elapsed < 20
