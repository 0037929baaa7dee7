"""The outbox: enqueuing with dedupe, and the sender's retries, limits, leases and final states.

Every test that takes ``db`` runs on a fresh in-memory SQLite database, and again on PostgreSQL when
TEST_DATABASE_URL names one (that database is emptied and re-created from the models for every test).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from aiolimiter import AsyncLimiter
from sqlalchemy import event, select, update
from sqlalchemy.exc import OperationalError

from bot.channels.base import (
    Attachment,
    PermanentError,
    RateLimits,
    RecipientBlocked,
    RetryLater,
    TransientError,
    is_group_chat,
    limits_of,
)
from bot.clock import SHANGHAI, FrozenClock, SystemClock
from bot.domain.messages import Button, Reply
from bot.services import busy_writes
from bot.services.outbox import OutboxSender, SendStats
from bot.services.send_limits import LIMITER_SLACK
from storage import outbox, outbox_sending, outbox_views, sent_messages
from storage.db import Database
from storage.models import ChatAccount, OutboxMessage, Person
from tests.databases import BACKENDS, fresh_database
from tests.polling import until

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)
FAST = RateLimits(global_per_second=1000, per_chat_per_second=1000, per_group_per_minute=60000)
# A drain's timeout where the test does not test it: a drain returns as soon as nothing is due (and, following
# retries, none falls due before its deadline), so this costs a passing test nothing and only stops one that
# hangs; a loaded machine may take seconds where an idle one takes milliseconds.
HANG = 60.0


# ---------------------------------------------------------------- fixtures and helpers


@pytest.fixture(params=BACKENDS)
async def db(request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    """A database with every table created from the models and no rows."""
    async with fresh_database(request.param) as database:
        yield database


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


class FakeTransport:
    """Records what it sends; raises the errors a test scripted, per chat, in order."""

    def __init__(self, channel: str = "telegram", *, delay: float = 0.0) -> None:
        self.channel = channel
        self.delay = delay
        self.sent: list[tuple[str, Reply, Attachment | None]] = []
        self.calls = 0
        self.script: dict[str, list[Exception]] = {}
        self.always: Exception | None = None

    def fail(self, chat_id: str, *errors: Exception) -> None:
        self.script.setdefault(chat_id, []).extend(errors)

    async def send(self, chat_id: str, reply: Reply, *, attachment: Attachment | None = None) -> None:
        self.calls += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.always is not None:
            raise self.always
        planned = self.script.get(chat_id)
        if planned:
            raise planned.pop(0)
        self.sent.append((chat_id, reply, attachment))

    def texts(self, chat_id: str | None = None) -> list[str]:
        return [r.html for c, r, _ in self.sent if chat_id is None or c == chat_id]


async def add_person(db: Database, name: str, *accounts: tuple[str, str], blocked: bool = False) -> int:
    """A person with chat accounts given as (channel, chat_id); their external id is the chat id."""
    async with db.session() as session:
        person = Person(name=name, active=True, created_at=NOW)
        session.add(person)
        await session.flush()
        for channel, chat_id in accounts:
            session.add(ChatAccount(person_id=person.id, channel=channel, external_id=chat_id,
                                    chat_id=chat_id, created_at=NOW, blocked_at=NOW if blocked else None))
        return person.id


async def notify(db: Database, person_id: int, text: str, *, key: str, now: datetime = NOW,
                 **extra: object) -> list[OutboxMessage]:
    async with db.session() as session:
        return await outbox.enqueue_for_person(session, person_id=person_id, reply=Reply(html=text), key=key,
                                               now=now, **extra)  # type: ignore[arg-type]


async def rows(db: Database) -> list[OutboxMessage]:
    async with db.session() as session:
        return list((await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())


async def account(db: Database, channel: str, chat_id: str) -> ChatAccount:
    async with db.session() as session:
        found = await session.scalar(
            select(ChatAccount).where(ChatAccount.channel == channel, ChatAccount.chat_id == chat_id))
        assert found is not None
        return found


def sender(db: Database, clock: object, *transports: FakeTransport, **options: object) -> OutboxSender:
    options.setdefault("limits", {t.channel: FAST for t in transports})
    return OutboxSender(db, clock, {t.channel: t for t in transports}, **options)  # type: ignore[arg-type]


# ---------------------------------------------------------------- enqueuing


async def test_same_key_twice_is_one_row_and_one_delivery(db: Database, clock: FrozenClock) -> None:
    person = await add_person(db, "郝芳", ("telegram", "1001"))
    first = await notify(db, person, "问题 W0001 已提交", key="problem:1:raised")
    second = await notify(db, person, "问题 W0001 已提交", key="problem:1:raised")
    assert [m.dedupe_key for m in first] == ["problem:1:raised|telegram:1001"]
    assert second == []
    transport = FakeTransport()
    stats = await sender(db, clock, transport).drain(HANG)
    assert stats.sent == 1
    assert transport.texts() == ["问题 W0001 已提交"]
    assert len(await rows(db)) == 1


async def test_same_key_in_one_transaction_is_one_row(db: Database) -> None:
    person = await add_person(db, "郝芳", ("telegram", "1001"))
    async with db.session() as session:
        for _ in range(2):
            await outbox.enqueue_for_person(session, person_id=person, reply=Reply("x"), key="k", now=NOW)
    assert len(await rows(db)) == 1


async def test_the_unique_key_holds_even_without_the_check(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two transactions racing past the check: the second insert does nothing instead of failing."""
    async def never_used(_session: object, _key: str) -> bool:
        return False

    monkeypatch.setattr(outbox, "_key_is_used", never_used)
    person = await add_person(db, "郝芳", ("telegram", "1001"))
    assert len(await notify(db, person, "x", key="k")) == 1
    assert await notify(db, person, "x", key="k") == []
    async with db.session() as session:
        assert await outbox.enqueue_for_chat(session, channel="telegram", chat_id="-5", reply=Reply("x"),
                                             key="g", now=NOW)
        assert await outbox.enqueue_for_chat(session, channel="telegram", chat_id="-5", reply=Reply("x"),
                                             key="g", now=NOW) == []
    assert len(await rows(db)) == 2


async def test_concurrent_enqueues_of_one_key_write_one_row(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("an in-memory SQLite database has a single connection; PostgreSQL shows the race")
    person = await add_person(db, "郝芳", ("telegram", "1001"))
    other = Database(db.url)
    try:
        async def enqueue(database: Database) -> int:
            async with database.session() as session:
                written = await outbox.enqueue_for_person(session, person_id=person, reply=Reply("x"),
                                                          key="k", now=NOW)
                await asyncio.sleep(0.05)  # hold the transaction open while the other one tries
                return len(written)

        counts = await asyncio.gather(enqueue(db), enqueue(other))
    finally:
        await other.dispose()
    assert sorted(counts) == [0, 1]
    assert len(await rows(db)) == 1


async def test_a_notice_fans_out_to_every_account(db: Database, clock: FrozenClock) -> None:
    person = await add_person(db, "赵芳", ("telegram", "1001"), ("wecom", "zhaofang"))
    written = await notify(db, person, "请处理 W0002", key="problem:2:assigned")
    assert sorted(m.dedupe_key for m in written) == [
        "problem:2:assigned|telegram:1001", "problem:2:assigned|wecom:zhaofang"]
    telegram, wecom = FakeTransport("telegram"), FakeTransport("wecom")
    stats = await sender(db, clock, telegram, wecom).drain(HANG)
    assert stats.sent == 2
    assert telegram.texts("1001") == ["请处理 W0002"]
    assert wecom.texts("zhaofang") == ["请处理 W0002"]
    assert {m.state for m in await rows(db)} == {"sent"}
    assert all(m.sent_at == NOW for m in await rows(db))


async def test_blocked_accounts_get_no_row(db: Database) -> None:
    person = await add_person(db, "赵芳", ("telegram", "1001"))
    async with db.session() as session:
        session.add(ChatAccount(person_id=person, channel="wecom", external_id="zf", chat_id="zf",
                                created_at=NOW, blocked_at=NOW))
    written = await notify(db, person, "x", key="k")
    assert [m.chat_id for m in written] == ["1001"]


async def test_a_person_without_an_account_gets_a_held_row(
    db: Database, clock: FrozenClock
) -> None:
    person = await add_person(db, "刘文华")
    [row] = await notify(db, person, "问题 W0003 升级到您", key="problem:3:level1")
    assert (row.dedupe_key, row.state, row.channel, row.chat_id) == ("problem:3:level1|none", "held",
                                                                      None, None)
    assert row.last_error == outbox.NO_ACCOUNT
    assert row.person_id == person
    transport = FakeTransport()
    assert (await sender(db, clock, transport).drain(HANG)).claimed == 0
    assert transport.calls == 0
    assert await notify(db, person, "again", key="problem:3:level1") == []
    async with db.session() as session:
        assert await outbox_views.failed_messages(session, limit=10) == []  # not a failure: it waits
        held, total = await outbox_views.held_people(session)
    assert total == 1 and [(h.person_id, h.count) for h in held] == [(person, 1)]


async def test_a_person_whose_accounts_all_blocked_the_bot_is_undeliverable(db: Database) -> None:
    person = await add_person(db, "王立军", ("telegram", "1001"), blocked=True)
    [row] = await notify(db, person, "x", key="k")
    assert row.state == "undeliverable"
    assert row.last_error == outbox.ALL_BLOCKED


async def test_group_chat_notices(db: Database, clock: FrozenClock) -> None:
    async with db.session() as session:
        [row] = await outbox.enqueue_for_chat(session, channel="telegram", chat_id="-100200",
                                              key="bulletin:1", reply=Reply("<b>每日通报</b>"), now=NOW)
    assert (row.dedupe_key, row.person_id, row.chat_id) == ("bulletin:1|telegram:-100200", None, "-100200")
    transport = FakeTransport()
    await sender(db, clock, transport).drain(HANG)
    assert transport.texts("-100200") == ["<b>每日通报</b>"]


async def test_a_chat_notice_due_later_waits_and_may_be_withdrawn_until_claimed(db: Database,
                                                                             clock: FrozenClock) -> None:
    later = NOW + timedelta(seconds=15)
    async with db.session() as session:
        for key in ("a", "b"):
            await outbox.enqueue_for_chat(session, channel="telegram", chat_id="1001", reply=Reply(key), key=key,
                                          now=NOW, due=later)
    transport = FakeTransport()
    assert (await sender(db, clock, transport).drain(HANG)).sent == 0  # not due yet
    async with db.session() as session:
        assert await outbox.withdraw_pending(session, channel="telegram", chat_id="1001", key="a")
        assert not await outbox.withdraw_pending(session, channel="telegram", chat_id="1001", key="a")
    clock.set(later)
    await sender(db, clock, transport).drain(HANG)
    assert transport.texts("1001") == ["b"]
    async with db.session() as session:  # a notice sent is sent: nothing to withdraw
        assert not await outbox.withdraw_pending(session, channel="telegram", chat_id="1001", key="b")
    assert [r.dedupe_key for r in await rows(db)] == ["b|telegram:1001"]


async def test_payload_round_trip_with_buttons_and_attachment(db: Database, clock: FrozenClock) -> None:
    buttons = ((Button("受理", "p:4:accept"), Button("退回", "p:4:refuse")), (Button("详情", "p:4:show"),))
    reply = Reply(html="<b>W0004</b> 待受理", buttons=buttons)
    photo = Attachment(kind="photo", path="problems/4/1.jpg", filename="现场.jpg")
    person = await add_person(db, "赵芳", ("telegram", "1001"))
    [row] = await notify(db, person, "", key="k")  # only to get an id sequence going
    async with db.session() as session:
        [row] = await outbox.enqueue_for_person(session, person_id=person, reply=reply, key="p4", now=NOW,
                                                attachment=photo)
    assert row.payload == {
        "html": "<b>W0004</b> 待受理",
        "buttons": [[{"label": "受理", "data": "p:4:accept"}, {"label": "退回", "data": "p:4:refuse"}],
                    [{"label": "详情", "data": "p:4:show"}]],
        "attachment": {"kind": "photo", "path": "problems/4/1.jpg", "filename": "现场.jpg"},
    }
    assert outbox.reply_from_payload(row.payload) == reply
    assert outbox.attachment_from_payload(row.payload) == photo
    transport = FakeTransport()
    await sender(db, clock, transport).drain(HANG)
    assert transport.sent[-1] == ("1001", reply, photo)
    assert transport.sent[0][2] is None


async def test_a_too_long_key_is_refused(db: Database) -> None:
    person = await add_person(db, "赵芳", ("telegram", "1001"))
    with pytest.raises(ValueError, match="dedupe key"):
        await notify(db, person, "x", key="k" * 200)


async def test_keys_with_a_bar_are_refused(db: Database) -> None:
    person = await add_person(db, "赵芳", ("telegram", "1001"))
    with pytest.raises(ValueError, match="free of"):
        await notify(db, person, "x", key="a|b")


async def test_keys_with_like_wildcards_do_not_collide(db: Database) -> None:
    person = await add_person(db, "赵芳", ("telegram", "1001"))
    assert await notify(db, person, "x", key="a%b_c")
    assert await notify(db, person, "x", key="a%b")
    assert await notify(db, person, "x", key="aXb_c")


# ---------------------------------------------------------------- retries and final states


async def test_a_transient_error_is_retried_after_a_backoff(db: Database, clock: FrozenClock) -> None:
    person = await add_person(db, "郝芳", ("telegram", "1001"))
    await notify(db, person, "hello", key="k")
    transport = FakeTransport()
    transport.fail("1001", TransientError("connection reset"), TransientError("bad gateway"))
    send = sender(db, clock, transport)
    stats = await send.drain(HANG)
    assert (stats.retried, stats.sent) == (1, 0)
    [row] = await rows(db)
    assert (row.state, row.attempts, row.last_error) == ("pending", 1, "TransientError: connection reset")
    assert NOW + timedelta(seconds=0.8) <= row.next_attempt_at <= NOW + timedelta(seconds=1.2)  # soon
    clock.advance(seconds=0.7)
    assert (await send.drain(HANG)).claimed == 0
    clock.advance(seconds=0.6)
    assert (await send.drain(HANG)).retried == 1
    [row] = await rows(db)
    assert (row.state, row.attempts, row.last_error) == ("pending", 2, "TransientError: bad gateway")
    second = clock.now()
    assert second + timedelta(seconds=3.2) <= row.next_attempt_at <= second + timedelta(seconds=4.8)
    clock.advance(seconds=3.1)
    assert (await send.drain(HANG)).claimed == 0
    clock.advance(seconds=1.8)
    assert (await send.drain(HANG)).sent == 1
    [row] = await rows(db)
    assert (row.state, row.attempts, row.sent_at) == ("sent", 3, clock.now())
    assert transport.texts() == ["hello"]


async def test_backoff_is_short_first_then_doubles_and_is_capped(db: Database, clock: FrozenClock) -> None:
    send = sender(db, clock, FakeTransport(), rng=random.Random(7))
    for attempts, expected in [(1, 1), (2, 4), (3, 8), (4, 16), (7, 128)]:
        delays = [send.backoff(attempts) for _ in range(200)]
        assert expected * 0.8 <= min(delays) < max(delays) <= expected * 1.2, attempts  # jittered
    assert send.backoff(30) == 600
    # The default eight tries still wait out an outage of about four minutes before a row fails.
    assert sum(send.backoff(n) for n in range(1, send.max_attempts)) >= 0.8 * 253
    tuned = sender(db, clock, FakeTransport(), first_retry=0.2, backoff_base=0.5, backoff_cap=1.5)
    assert 0.16 <= tuned.backoff(1) <= 0.24
    assert 0.8 <= tuned.backoff(2) <= 1.2
    assert tuned.backoff(3) == 1.5


async def test_flood_control_is_honoured(db: Database, clock: FrozenClock) -> None:
    person = await add_person(db, "郝芳", ("telegram", "1001"))
    await notify(db, person, "hello", key="k")
    transport = FakeTransport()
    transport.fail("1001", RetryLater(30))
    send = sender(db, clock, transport)
    assert (await send.drain(HANG)).retried == 1
    [row] = await rows(db)
    assert (row.state, row.next_attempt_at, row.attempts) == ("pending", NOW + timedelta(seconds=30), 0)
    clock.advance(seconds=29)
    assert (await send.drain(HANG)).claimed == 0
    assert transport.calls == 1
    clock.advance(seconds=1)
    assert (await send.drain(HANG)).sent == 1
    assert transport.texts() == ["hello"]


async def test_flood_control_holds_back_the_rest_of_the_chat(db: Database, clock: FrozenClock) -> None:
    person = await add_person(db, "郝芳", ("telegram", "1001"))
    other = await add_person(db, "赵芳", ("telegram", "1002"))
    for n in range(3):
        await notify(db, person, f"#{n}", key=f"k{n}")
    await notify(db, other, "other", key="o")
    transport = FakeTransport()
    transport.fail("1001", RetryLater(10))
    send = sender(db, clock, transport)
    stats = await send.drain(HANG)
    assert (stats.retried, stats.released, stats.sent) == (1, 2, 1)
    assert transport.calls == 2  # the held-back ones were not even tried
    clock.advance(seconds=10)
    await send.drain(HANG)
    assert transport.texts("1001") == ["#0", "#1", "#2"]


async def test_gives_up_after_max_attempts_with_the_last_error(db: Database, clock: FrozenClock) -> None:
    person = await add_person(db, "郝芳", ("telegram", "1001"))
    await notify(db, person, "hello", key="k")
    transport = FakeTransport()
    transport.fail("1001", *(TransientError(f"502 Bad Gateway #{n}") for n in range(1, 10)))
    send = sender(db, clock, transport, max_attempts=3)
    for _ in range(5):
        await send.drain(HANG)
        clock.advance(minutes=11)
    [row] = await rows(db)
    assert (row.state, row.attempts, row.last_error) == ("failed", 3, "TransientError: 502 Bad Gateway #3")
    assert transport.calls == 3
    async with db.session() as session:
        assert [m.id for m in await outbox_views.failed_messages(session, limit=5)] == [row.id]


async def test_default_max_attempts_is_eight(db: Database, clock: FrozenClock) -> None:
    person = await add_person(db, "郝芳", ("telegram", "1001"))
    await notify(db, person, "hello", key="k")
    transport = FakeTransport()
    transport.always = TransientError("down")
    send = sender(db, clock, transport)
    for _ in range(12):
        await send.drain(HANG)
        clock.advance(minutes=11)
    [row] = await rows(db)
    assert (row.state, row.attempts, transport.calls) == ("failed", 8, 8)


async def test_an_outage_of_ten_minutes_fails_no_notice(db: Database, clock: FrozenClock) -> None:
    """A channel answering 502 for ten minutes (its breaker never opening, as when only sends fail): the eighth
    try, some four minutes in, does not fail the row; it goes out at its first try after the outage."""
    person = await add_person(db, "郝芳", ("telegram", "1001"))
    await notify(db, person, "hello", key="k", now=clock.now())
    transport = FakeTransport()
    transport.always = TransientError("502 Bad Gateway")
    send = sender(db, clock, transport, rng=random.Random(3))
    began = clock.now()
    while clock.now() - began < timedelta(minutes=10):
        assert (await send.drain(HANG)).failed == 0
        clock.advance(seconds=15)
    [row] = await rows(db)
    assert row.state == "pending" and row.attempts >= 8  # past the eight tries, and not failed
    transport.always = None
    while (await rows(db))[0].state != "sent":
        assert clock.now() - began < timedelta(minutes=20)
        await send.drain(HANG)
        clock.advance(seconds=15)
    assert transport.texts() == ["hello"]


async def test_a_row_failing_for_fifteen_minutes_fails_after_its_eighth_try(db: Database,
                                                                            clock: FrozenClock) -> None:
    person = await add_person(db, "郝芳", ("telegram", "1001"))
    await notify(db, person, "hello", key="k", now=clock.now())
    transport = FakeTransport()
    transport.always = TransientError("502 Bad Gateway")
    send = sender(db, clock, transport)
    while (await rows(db))[0].state != "failed":
        await send.drain(HANG)
        clock.advance(seconds=30)
    [row] = await rows(db)
    assert row.attempts == transport.calls == 10  # 8 tries in four minutes, then 8½ and 17 minutes in
    assert timedelta(minutes=15) <= clock.now() - row.created_at <= timedelta(minutes=23)


async def test_unexpected_errors_are_retried_like_transient_ones(db: Database, clock: FrozenClock) -> None:
    person = await add_person(db, "郝芳", ("telegram", "1001"))
    await notify(db, person, "hello", key="k")
    transport = FakeTransport()
    transport.fail("1001", RuntimeError("bug in a transport"))
    send = sender(db, clock, transport)
    assert (await send.drain(HANG)).retried == 1
    clock.advance(minutes=1)
    assert (await send.drain(HANG)).sent == 1


async def test_a_permanent_error_fails_at_once(db: Database, clock: FrozenClock) -> None:
    person = await add_person(db, "郝芳", ("telegram", "1001"))
    await notify(db, person, "hello", key="k")
    transport = FakeTransport()
    transport.fail("1001", PermanentError("Bad Request: message is too long"))
    assert (await sender(db, clock, transport).drain(HANG)).failed == 1
    [row] = await rows(db)
    assert (row.state, row.attempts, row.last_error) == ("failed", 1,
                                                         "PermanentError: Bad Request: message is too long")


async def test_a_blocked_recipient_is_undeliverable_and_the_account_marked(
    db: Database, clock: FrozenClock
) -> None:
    person = await add_person(db, "郝芳", ("telegram", "1001"))
    await notify(db, person, "hello", key="k")
    transport = FakeTransport()
    transport.fail("1001", RecipientBlocked("Forbidden: bot was blocked by the user"))
    clock.advance(minutes=5)
    assert (await sender(db, clock, transport).drain(HANG)).undeliverable == 1
    [row] = await rows(db)
    assert row.state == "undeliverable"
    assert row.last_error == "RecipientBlocked: Forbidden: bot was blocked by the user"
    assert (await account(db, "telegram", "1001")).blocked_at == clock.now()
    [later] = await notify(db, person, "next", key="k2")
    assert (later.state, later.dedupe_key) == ("undeliverable", "k2|none")


async def test_bad_payloads_fail_instead_of_looping(db: Database, clock: FrozenClock) -> None:
    async with db.session() as session:
        session.add(OutboxMessage(dedupe_key="bad|telegram:1", channel="telegram", chat_id="1",
                                  payload={"html": "x", "attachment": {"kind": "video", "path": "a"}},
                                  state="pending", attempts=0, next_attempt_at=NOW, created_at=NOW))
    assert (await sender(db, clock, FakeTransport()).drain(HANG)).failed == 1
    [row] = await rows(db)
    assert row.last_error is not None and row.last_error.startswith("bad payload")


# ---------------------------------------------------------------- crashes, restarts and concurrency


async def test_a_restart_between_commit_and_send_delivers_once(db: Database, clock: FrozenClock) -> None:
    person = await add_person(db, "郝芳", ("telegram", "1001"))
    async with db.session() as session:  # the state change and its notice, committed together
        session.add(Person(name="新人", active=True, created_at=NOW))
        await outbox.enqueue_for_person(session, person_id=person, reply=Reply("已提交"), key="k", now=NOW)
    # …the process dies here. After the restart, a brand-new sender finds the notice.
    transport = FakeTransport()
    stats = await sender(db, clock, transport).drain()  # a frozen clock: it ends once nothing is due
    assert stats.sent == 1
    assert (await sender(db, clock, transport).drain(HANG)).claimed == 0
    assert transport.texts() == ["已提交"]


async def test_rows_of_a_sender_that_died_mid_batch_come_back_after_the_lease(
    db: Database, clock: FrozenClock
) -> None:
    person = await add_person(db, "郝芳", ("telegram", "1001"))
    await notify(db, person, "hello", key="k")
    async with db.session() as session:  # a sender claims the row… and dies before sending
        [claimed] = await outbox_sending.claim_due_messages(session, now=NOW, limit=10,
                                                            lease_until=NOW + timedelta(minutes=10))
    assert (claimed.state, claimed.attempts) == ("sending", 1)
    transport = FakeTransport()
    send = sender(db, clock, transport)
    assert (await send.drain(HANG)).claimed == 0  # still leased
    async with db.session() as session:
        assert (await outbox_views.backlog(session, now=clock.now())).pending == 1
    clock.advance(minutes=10)
    assert (await send.drain(HANG)).sent == 1
    assert transport.texts() == ["hello"]
    [row] = await rows(db)
    assert (row.state, row.attempts) == ("sent", 2)


async def test_a_claim_takes_at_most_a_batch_oldest_first(db: Database) -> None:
    person = await add_person(db, "郝芳", ("telegram", "1001"))
    for n in range(10):
        await notify(db, person, f"#{n}", key=f"k{n}", now=NOW + timedelta(seconds=n - 10))
    async with db.session() as session:
        claimed = await outbox_sending.claim_due_messages(session, now=NOW, limit=3,
                                                          lease_until=NOW + timedelta(minutes=1))
    assert [m.payload["html"] for m in claimed] == ["#0", "#1", "#2"]
    assert Counter(m.state for m in await rows(db)) == Counter({"pending": 7, "sending": 3})


async def test_a_late_outcome_from_a_lost_claim_is_not_recorded(db: Database, clock: FrozenClock) -> None:
    person = await add_person(db, "郝芳", ("telegram", "1001"))
    await notify(db, person, "hello", key="k")
    async with db.session() as session:  # a claim whose lease runs out at once…
        [first] = await outbox_sending.claim_due_messages(session, now=NOW, limit=1, lease_until=NOW)
    async with db.session() as session:  # …so another sender takes the row over
        [second] = await outbox_sending.claim_due_messages(session, now=NOW, limit=1,
                                                           lease_until=NOW + timedelta(hours=1))
    assert (first.attempts, second.attempts) == (1, 2)
    async with db.session() as session:
        assert not await outbox_sending.mark_failed(session, message_id=first.id, attempt=first.attempts,
                                                    error="late")
        assert await outbox_sending.mark_sent(session, message_id=second.id, attempt=second.attempts, now=NOW)
        assert not await outbox_sending.mark_retry(session, message_id=second.id, at=NOW, error="after the end")
    [row] = await rows(db)
    assert (row.state, row.last_error) == ("sent", None)


async def claim(db: Database, *, now: datetime = NOW, lease: timedelta = timedelta(minutes=10),
                limit: int = 10) -> list[OutboxMessage]:
    """Claim due rows as a sender would (which then dies, unless the test goes on for it)."""
    async with db.session() as session:
        return await outbox_sending.claim_due_messages(session, now=now, limit=limit, lease_until=now + lease)


async def start(db: Database, message: OutboxMessage, *, attempt: int | None = None,
                now: datetime = NOW) -> bool:
    async with db.session() as session:
        return await outbox_sending.mark_send_started(session, message_id=message.id, now=now,
                                                      attempt=message.attempts if attempt is None else attempt)


async def test_a_send_start_is_recorded_only_by_the_claim_holding_the_row(db: Database) -> None:
    person = await add_person(db, "郝芳", ("telegram", "1001"))
    await notify(db, person, "hello", key="k")
    [claimed] = await claim(db)
    assert not await start(db, claimed, attempt=claimed.attempts + 1)  # another claim's number
    assert not await start(db, claimed, now=NOW + timedelta(minutes=10))  # the lease has run out
    [row] = await rows(db)
    assert (row.state, row.send_started_at) == ("sending", None)
    assert await start(db, claimed, now=NOW + timedelta(seconds=3))
    [row] = await rows(db)
    assert (row.state, row.attempts, row.send_started_at) == ("sending", 1, NOW + timedelta(seconds=3))
    async with db.session() as session:  # a pending row has no claim to start under
        await outbox_sending.mark_retry(session, message_id=row.id, at=NOW, error=None, attempt=1)
    [row] = await rows(db)
    assert (row.state, row.send_started_at) == ("pending", None)
    assert not await start(db, row, attempt=1)


async def test_a_take_over_holds_a_started_send_in_doubt_and_sends_the_unstarted_rows(
    db: Database, clock: FrozenClock
) -> None:
    person = await add_person(db, "郝芳", ("telegram", "1001"))
    for n in range(3):
        await notify(db, person, f"#{n}", key=f"k{n}", now=NOW - timedelta(seconds=3 - n))
    # A sender claims a batch of three, starts sending the first… and dies.
    first, second, third = await claim(db)
    assert await start(db, first)
    async with db.session() as session:  # nothing is taken over before the lease runs out
        assert await outbox_sending.hold_interrupted_sends(session, now=NOW + timedelta(minutes=9)) == []
    transport = FakeTransport()
    send = sender(db, clock, transport)
    clock.advance(minutes=10)
    stats = await send.drain(HANG)
    assert (stats.claimed, stats.sent) == (2, 2)
    assert transport.texts() == ["#1", "#2"]  # never "#0": it may have gone out before the crash
    held, *others = await rows(db)
    assert (held.state, held.attempts, held.send_started_at, held.last_error) == (
        outbox.IN_DOUBT, 1, NOW, outbox.INTERRUPTED)
    assert [(row.state, row.attempts) for row in others] == [("sent", 2), ("sent", 2)]
    async with db.session() as session:
        assert [m.id for m in await outbox_views.failed_messages(session)] == [held.id]  # shown to the admins
        assert (await outbox_views.backlog(session, now=clock.now())).pending == 0
        assert await outbox_sending.next_due_at(session) is None
    clock.advance(hours=1)
    assert (await send.drain(HANG)).claimed == 0  # and it stays so
    assert transport.texts() == ["#1", "#2"]
    # The interrupted claim cannot write anything but a late "sent" now (its sender might still be alive).
    async with db.session() as session:
        assert not await outbox_sending.mark_failed(session, message_id=held.id, error="late", attempt=1)
        assert not await outbox_sending.mark_retry(session, message_id=held.id, at=NOW, error="late", attempt=1)
        assert not await outbox_sending.mark_sent(session, message_id=held.id, now=NOW)  # no claim: no effect
    assert (await rows(db))[0].state == outbox.IN_DOUBT


async def test_a_new_leader_takes_over_the_rows_a_dead_one_held_without_waiting_for_the_lease(
    db: Database, clock: FrozenClock
) -> None:
    person = await add_person(db, "郝芳", ("telegram", "1001"))
    for n in range(3):
        await notify(db, person, f"#{n}", key=f"k{n}", now=NOW - timedelta(seconds=3 - n))
    first, _second, _third = await claim(db)  # a leader claims three (a ten-minute lease), starts one, dies
    assert await start(db, first)
    transport = FakeTransport()
    send = sender(db, clock, transport)
    assert (await send.drain(HANG)).claimed == 0  # an ordinary sender waits for the lease

    assert await send.take_over() == 3  # the next leader, holding the lock, does not
    stats = await send.drain(HANG)
    assert (stats.claimed, stats.sent) == (2, 2) and transport.texts() == ["#1", "#2"]
    assert [row.state for row in await rows(db)] == [outbox.IN_DOUBT, "sent", "sent"]
    assert await send.take_over() == 0  # nothing is held any more


async def test_run_forever_takes_over_first_when_asked(db: Database, clock: FrozenClock) -> None:
    person = await add_person(db, "郝芳", ("telegram", "1001"))
    await notify(db, person, "#0", key="k0")
    await claim(db)
    transport = FakeTransport()
    stop = asyncio.Event()
    running = asyncio.create_task(sender(db, clock, transport).run_forever(stop, idle_seconds=0.05,
                                                                           take_over=True))
    await until(transport.texts, "the row sent", 2, every=0.02)
    stop.set()
    await running
    assert transport.texts() == ["#0"]


async def test_a_late_sent_from_the_interrupted_claim_settles_the_doubt(db: Database) -> None:
    person = await add_person(db, "郝芳", ("telegram", "1001"))
    await notify(db, person, "hello", key="k")
    [claimed] = await claim(db, lease=timedelta(seconds=30))
    assert await start(db, claimed, now=NOW + timedelta(seconds=29))  # the send took long…
    assert await claim(db, now=NOW + timedelta(seconds=31)) == []  # …another sender holds it in doubt
    assert (await rows(db))[0].state == outbox.IN_DOUBT
    async with db.session() as session:  # then the slow send's answer comes: it did go out
        assert await outbox_sending.mark_sent(session, message_id=claimed.id, attempt=claimed.attempts,
                                              now=NOW + timedelta(seconds=40))
    [row] = await rows(db)
    assert (row.state, row.sent_at, row.last_error) == ("sent", NOW + timedelta(seconds=40), None)


async def test_an_admin_retry_sends_an_in_doubt_row_once_more(db: Database, clock: FrozenClock) -> None:
    person = await add_person(db, "郝芳", ("telegram", "1001"))
    await notify(db, person, "hello", key="k")
    [claimed] = await claim(db)
    assert await start(db, claimed)
    clock.advance(minutes=10)
    transport = FakeTransport()
    send = sender(db, clock, transport)
    assert (await send.drain(HANG)).claimed == 0
    async with db.session() as session:
        assert await outbox_views.retry_message(session, message_id=claimed.id, now=clock.now())
        assert not await outbox_views.retry_message(session, message_id=claimed.id, now=clock.now())  # pending now
    [row] = await rows(db)
    # Its count of tries is kept, so that the new claim's number is above the interrupted one's.
    assert (row.state, row.attempts, row.send_started_at, row.next_attempt_at) == (
        "pending", 1, None, clock.now())
    assert (await send.drain(HANG)).sent == 1
    assert transport.texts() == ["hello"]
    [row] = await rows(db)
    assert (row.state, row.attempts) == ("sent", 2)
    assert row.send_started_at == clock.now()


async def test_the_send_start_is_committed_before_the_send(db: Database, clock: FrozenClock) -> None:
    person = await add_person(db, "郝芳", ("telegram", "1001"))
    await notify(db, person, "hello", key="k")
    seen: list[tuple[str, datetime | None]] = []

    class Observing(FakeTransport):
        async def send(self, chat_id: str, reply: Reply, *, attachment: Attachment | None = None) -> None:
            [row] = await rows(db)  # another session: only what was committed
            seen.append((row.state, row.send_started_at))
            await super().send(chat_id, reply, attachment=attachment)

    assert (await sender(db, clock, Observing()).drain(HANG)).sent == 1
    assert seen == [("sending", NOW)]


async def test_a_row_taken_over_before_its_send_starts_is_not_sent(db: Database, clock: FrozenClock) -> None:
    person = await add_person(db, "郝芳", ("telegram", "1001"))
    for n in range(2):
        await notify(db, person, f"#{n}", key=f"k{n}", now=NOW - timedelta(seconds=2 - n))

    class TakingOver(FakeTransport):
        async def send(self, chat_id: str, reply: Reply, *, attachment: Attachment | None = None) -> None:
            await super().send(chat_id, reply, attachment=attachment)
            async with db.session() as session:  # meanwhile another sender takes the second row over
                await session.execute(update(OutboxMessage).where(OutboxMessage.dedupe_key.startswith("k1|"))
                                      .values(attempts=OutboxMessage.attempts + 1))

    transport = TakingOver()
    assert await sender(db, clock, transport).run_once() == SendStats(claimed=2, sent=1, released=1)
    assert transport.texts() == ["#0"]
    first, second = await rows(db)
    assert (first.state, second.state, second.attempts, second.send_started_at) == ("sent", "sending", 2, None)


async def test_a_lease_that_runs_out_while_the_start_is_refused_is_not_sent_on(
        db: Database, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """The start's write is refused (a busy database) until the claim's lease has run out: tried again, it reads
    the clock anew and gives up, rather than record the start at the time of its first try and send."""
    person = await add_person(db, "郝芳", ("telegram", "1001"))
    await notify(db, person, "hello", key="k")
    monkeypatch.setattr(busy_writes, "FIRST_WAIT", 0.01)
    real = outbox_sending.mark_send_started
    refused: list[datetime] = []

    async def busy_until_the_lease_is_over(session: object, **values: object) -> bool:
        if not refused:
            refused.append(clock.now())
            clock.advance(minutes=11)  # the database stayed busy past the ten minutes' lease
            raise OperationalError("UPDATE outbox_messages …", {}, Exception("database is locked"))
        return await real(session, **values)  # type: ignore[arg-type]

    monkeypatch.setattr(outbox_sending, "mark_send_started", busy_until_the_lease_is_over)
    transport = FakeTransport()
    assert await sender(db, clock, transport).run_once() == SendStats(claimed=1, released=1)
    assert refused == [NOW]
    assert transport.texts() == []
    [row] = await rows(db)
    assert (row.state, row.send_started_at) == ("pending", None)


async def test_what_a_reminder_was_about_is_kept_with_its_outcome_in_one_transaction(
        db: Database, clock: FrozenClock) -> None:
    """A send about projects writes no more transactions than one about none: which projects its messages were
    about is written with its outcome, and nothing old is deleted on the way (the housekeeping does that)."""
    person = await add_person(db, "郝芳", ("telegram", "1001"))

    class GivingIds(FakeTransport):
        async def send(self, chat_id: str, reply: Reply, *, attachment: Attachment | None = None) -> list[str]:
            await super().send(chat_id, reply, attachment=attachment)
            return [str(len(self.sent))]

    transactions = 0

    def count(connection: object) -> None:
        nonlocal transactions
        transactions += 1

    event.listen(db.engine.sync_engine, "begin", count)
    try:
        per_send = []
        for n, about in enumerate([(), ("ZD2026-001",)]):
            async with db.session() as session:
                await outbox.enqueue_for_person(session, person_id=person, reply=Reply(html=f"#{n}", about=about),
                                                key=f"k{n}", now=NOW)
            transactions = 0
            assert (await sender(db, clock, GivingIds()).drain(HANG)).sent == 1
            per_send.append(transactions)
    finally:
        event.remove(db.engine.sync_engine, "begin", count)
    assert per_send[0] == per_send[1]
    async with db.session() as session:
        assert await sent_messages.about(session, channel="telegram", chat_id="1001", message_id="1") == (
            "ZD2026-001",)


async def _two_senders_deliver_each_once(first: Database, second: Database, clock: FrozenClock) -> None:
    people = [await add_person(first, f"人{n}", ("telegram", str(2000 + n))) for n in range(10)]
    for n in range(60):
        await notify(first, people[n % 10], f"notice {n}", key=f"n{n}")
    shared = FakeTransport(delay=0.01)  # both senders talk to the same "Telegram"
    async with second.session() as session:  # connected already, like a running sender
        await session.execute(select(1))
    a = OutboxSender(first, clock, {"telegram": shared}, limits={"telegram": FAST}, batch=7)
    b = OutboxSender(second, clock, {"telegram": shared}, limits={"telegram": FAST}, batch=7)
    stats = await asyncio.gather(a.drain(HANG), b.drain(HANG))
    counts = Counter(shared.texts())
    assert counts == Counter({f"notice {n}": 1 for n in range(60)})
    assert stats[0].sent + stats[1].sent == 60
    assert stats[0].sent and stats[1].sent  # both took part
    assert {m.state for m in await rows(first)} == {"sent"}


async def test_two_senders_deliver_each_notice_once(db: Database, clock: FrozenClock) -> None:
    second = db if db.is_sqlite else Database(db.url)  # on PostgreSQL: another pool, like another process
    try:
        await _two_senders_deliver_each_once(db, second, clock)
    finally:
        if second is not db:
            await second.dispose()


async def test_two_senders_on_one_sqlite_file_deliver_each_notice_once(
    tmp_path: Path, clock: FrozenClock
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'outbox.sqlite3'}"
    first, second = Database(url), Database(url)
    try:
        await first.create_all()
        await _two_senders_deliver_each_once(first, second, clock)
    finally:
        await first.dispose()
        await second.dispose()


async def test_a_channel_without_transport_waits_and_is_logged_once(
    db: Database, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    person = await add_person(db, "赵芳", ("telegram", "1001"), ("wecom", "zhaofang"))
    await notify(db, person, "hello", key="k")
    telegram = FakeTransport("telegram")
    send = sender(db, clock, telegram)
    with caplog.at_level(logging.WARNING, logger="bot.services.outbox"):
        assert (await send.drain(HANG)).sent == 1
        await send.run_once()
        await send.run_once()
    assert [r.getMessage() for r in caplog.records if "wecom" in r.getMessage()] == [
        "outbox has notices for channel 'wecom', which is not configured here; they stay pending"]
    wecom_row = next(m for m in await rows(db) if m.channel == "wecom")
    assert (wecom_row.state, wecom_row.attempts) == ("pending", 0)
    wecom = FakeTransport("wecom")  # configured later: the notice goes out
    assert (await sender(db, clock, telegram, wecom).drain(HANG)).sent == 1
    assert wecom.texts() == ["hello"]


# ---------------------------------------------------------------- rate limits


def test_default_limits_are_telegrams() -> None:
    assert RateLimits() == RateLimits(global_per_second=30, per_chat_per_second=1, per_group_per_minute=20)
    assert limits_of(FakeTransport()) == RateLimits()  # type: ignore[arg-type]
    assert is_group_chat(FakeTransport(), "-100123")  # type: ignore[arg-type]
    assert not is_group_chat(FakeTransport(), "1001")  # type: ignore[arg-type]


async def test_limiters_are_set_up_per_channel_chat_and_group(db: Database, clock: FrozenClock) -> None:
    person = await add_person(db, "郝芳", ("telegram", "1001"))
    await notify(db, person, "private", key="p")
    async with db.session() as session:
        await outbox.enqueue_for_chat(session, channel="telegram", chat_id="-100200", reply=Reply("group"),
                                      key="g", now=NOW)
    transport = FakeTransport()
    send = OutboxSender(db, clock, {"telegram": transport})  # Telegram's own limits, evenly spaced
    assert spacing(send.rates.global_["telegram"]) == pytest.approx(1 / 30)
    await send.drain(HANG)
    chat, group_chat = send.rates.per_chat[("telegram", "1001")], send.rates.per_chat[("telegram", "-100200")]
    assert spacing(chat) == pytest.approx(1)
    assert spacing(group_chat) == pytest.approx(1)
    assert set(send.rates.per_group) == {("telegram", "-100200")}
    assert spacing(send.rates.per_group[("telegram", "-100200")]) == pytest.approx(3)  # 20 a minute


def spacing(limiter: AsyncLimiter) -> float:
    """Seconds between two messages through a limiter, after checking that it lets no burst through: the
    bucket holds one message and a sliver (the slack for timers that fire late), never two."""
    assert 1 <= limiter.max_rate <= 1.1
    assert limiter.max_rate - 1 <= LIMITER_SLACK * limiter.max_rate / limiter.time_period + 1e-9
    return limiter.time_period / limiter.max_rate


async def test_slow_rates_below_one_per_period_still_work(db: Database, clock: FrozenClock) -> None:
    slow = RateLimits(global_per_second=0.5, per_chat_per_second=1, per_group_per_minute=1)
    send = OutboxSender(db, clock, {"x": FakeTransport("x")}, limits={"x": slow})  # type: ignore[dict-item]
    assert spacing(send.rates.global_["x"]) == pytest.approx(2)


async def test_one_chat_is_sent_at_the_per_chat_rate(db: Database, clock: FrozenClock) -> None:
    person = await add_person(db, "郝芳", ("telegram", "1001"))
    for n in range(10):
        await notify(db, person, f"#{n}", key=f"k{n}")
    transport = FakeTransport()
    send = sender(db, clock, transport,
                  limits={"telegram": RateLimits(global_per_second=1000, per_chat_per_second=20,
                                                 per_group_per_minute=60000)})
    started = time.monotonic()
    assert (await send.drain(HANG)).sent == 10
    elapsed = time.monotonic() - started
    assert elapsed >= 9 / 20 * 0.9  # the first goes at once, then one every 1/20 s
    assert transport.texts() == [f"#{n}" for n in range(10)]  # in order


async def test_many_chats_are_sent_at_the_global_rate(db: Database, clock: FrozenClock) -> None:
    for n in range(30):
        person = await add_person(db, f"人{n}", ("telegram", str(3000 + n)))
        await notify(db, person, f"#{n}", key=f"k{n}")
    transport = FakeTransport()
    send = sender(db, clock, transport,
                  limits={"telegram": RateLimits(global_per_second=40, per_chat_per_second=1000,
                                                 per_group_per_minute=60000)})
    started = time.monotonic()
    assert (await send.drain(HANG)).sent == 30
    assert time.monotonic() - started >= 29 / 40 * 0.9


async def test_group_chats_are_held_to_the_per_minute_rate(db: Database, clock: FrozenClock) -> None:
    async with db.session() as session:
        for n in range(6):
            await outbox.enqueue_for_chat(session, channel="telegram", chat_id="-100200",
                                          reply=Reply(f"#{n}"), key=f"g{n}", now=NOW)
    transport = FakeTransport()
    send = sender(db, clock, transport,
                  limits={"telegram": RateLimits(global_per_second=1000, per_chat_per_second=1000,
                                                 per_group_per_minute=600)})  # one every 0.1 s
    started = time.monotonic()
    assert (await send.drain(HANG)).sent == 6
    assert time.monotonic() - started >= 5 * 0.1 * 0.9
    assert transport.texts() == [f"#{n}" for n in range(6)]


# ---------------------------------------------------------------- watching the outbox, running the sender


async def test_backlog_counts_what_should_be_going_out(db: Database, clock: FrozenClock) -> None:
    async with db.session() as session:
        assert await outbox_views.backlog(session, now=NOW) == (0, None, 0)
    person = await add_person(db, "郝芳", ("telegram", "1001"))
    await notify(db, person, "a", key="a", now=NOW - timedelta(minutes=5))
    await notify(db, person, "b", key="b")
    await notify(db, await add_person(db, "无号"), "c", key="c")  # undeliverable: not backlog
    async with db.session() as session:
        pending, oldest, _waiting = await outbox_views.backlog(session, now=NOW)
    assert (pending, oldest) == (2, NOW - timedelta(minutes=5))
    transport = FakeTransport()
    transport.fail("1001", TransientError("down"))
    await sender(db, clock, transport).drain(HANG)
    async with db.session() as session:
        assert (await outbox_views.backlog(session, now=NOW)).pending == 0  # a sent, b waiting for its retry
        assert (await outbox_views.backlog(session, now=NOW + timedelta(minutes=1))).pending == 1


async def test_due_messages_are_claimed_oldest_first(db: Database) -> None:
    person = await add_person(db, "郝芳", ("telegram", "1001"))
    await notify(db, person, "new", key="new")
    await notify(db, person, "old", key="old", now=NOW - timedelta(hours=1))
    await notify(db, person, "later", key="later", now=NOW + timedelta(hours=1))
    claimed = []
    for _ in range(3):
        async with db.session() as session:
            claimed.append([m.payload["html"] for m in await outbox_sending.claim_due_messages(
                session, now=NOW, limit=1, lease_until=NOW + timedelta(minutes=10))])
    assert claimed == [["old"], ["new"], []]  # "later" is not due yet


async def test_drain_waits_for_a_short_flood_control_on_the_real_clock(db: Database) -> None:
    person = await add_person(db, "郝芳", ("telegram", "1001"))
    await notify(db, person, "hello", key="k", now=SystemClock().now())
    transport = FakeTransport()
    transport.fail("1001", RetryLater(0.3))
    send = sender(db, SystemClock(), transport)
    started = time.monotonic()
    stats = await send.drain(HANG, wait_for_retries=True)
    assert (stats.retried, stats.sent) == (1, 1)
    assert time.monotonic() - started >= 0.25
    assert transport.texts() == ["hello"]


async def test_drain_does_not_wait_for_retries_beyond_its_timeout(db: Database) -> None:
    person = await add_person(db, "郝芳", ("telegram", "1001"))
    await notify(db, person, "hello", key="k", now=SystemClock().now())
    transport = FakeTransport()
    transport.fail("1001", RetryLater(60))
    started = time.monotonic()
    stats = await sender(db, SystemClock(), transport).drain(1, wait_for_retries=True)
    assert (stats.retried, stats.sent) == (1, 0)
    assert time.monotonic() - started < 1


async def test_run_forever_sends_until_stopped(db: Database, clock: FrozenClock) -> None:
    person = await add_person(db, "郝芳", ("telegram", "1001"))
    await notify(db, person, "hello", key="k")
    transport = FakeTransport()
    stop = asyncio.Event()
    task = asyncio.create_task(sender(db, clock, transport).run_forever(stop, idle_seconds=0.02))
    await until(lambda: transport.sent, "the row sent", 2, every=0.01)
    stop.set()
    await asyncio.wait_for(task, 2)
    assert transport.texts() == ["hello"]


def test_send_stats_add_up() -> None:
    total = SendStats(claimed=2, sent=1) + SendStats(claimed=1, failed=1)
    assert total == SendStats(claimed=3, sent=1, failed=1)


# ---------------------------------------------------------------- the pipeline


class PacedTransport(FakeTransport):
    """A FakeTransport whose sends take ``pause(chat_id)`` seconds (then fail with ``hang_error`` for the chats
    in ``hanging``), recording when each send ended and whether two sends to one chat ever overlapped."""

    def __init__(self, pause: Callable[[str], float] = lambda _chat: 0.0, *, hanging: frozenset[str] = frozenset(),
                 hang_error: Exception | None = None) -> None:
        super().__init__()
        self.pause = pause
        self.hanging = hanging
        self.hang_error = hang_error or TransientError("timed out")
        self.in_flight: Counter[str] = Counter()
        self.overlaps: list[str] = []
        self.most_in_flight = 0
        self.ended: list[tuple[str, float]] = []  # (chat id, monotonic time) of every send, as it ended

    async def send(self, chat_id: str, reply: Reply, *, attachment: Attachment | None = None) -> None:
        if self.in_flight[chat_id]:
            self.overlaps.append(chat_id)
        self.in_flight[chat_id] += 1
        self.most_in_flight = max(self.most_in_flight, sum(self.in_flight.values()))
        try:
            await self.wait(chat_id)
            if chat_id in self.hanging:
                self.calls += 1
                raise self.hang_error
            await super().send(chat_id, reply, attachment=attachment)
        finally:
            self.in_flight[chat_id] -= 1
            self.ended.append((chat_id, time.monotonic()))

    async def wait(self, chat_id: str) -> None:
        """What a send to that chat waits for before it ends."""
        await asyncio.sleep(self.pause(chat_id))


class HoldingTransport(PacedTransport):
    """A PacedTransport whose sends to the ``held`` chats last until the sends to all the other chats (``others``
    of them) have ended, or ``cap`` seconds at most. A sender that lets a held send hold up the others therefore
    ends a held send first (after the cap), however busy the machine is; one that does not ends the others first.
    """

    def __init__(self, held: frozenset[str], others: int, *, cap: float = 30.0,
                 hanging: frozenset[str] = frozenset()) -> None:
        super().__init__(hanging=hanging)
        self.held, self.others, self.cap = held, others, cap
        self.others_ended = asyncio.Event()

    async def wait(self, chat_id: str) -> None:
        if chat_id in self.held:
            try:
                await asyncio.wait_for(self.others_ended.wait(), self.cap)
            except TimeoutError:
                pass

    async def send(self, chat_id: str, reply: Reply, *, attachment: Attachment | None = None) -> None:
        try:
            await super().send(chat_id, reply, attachment=attachment)
        finally:
            if sum(chat not in self.held for chat, _ in self.ended) >= self.others:
                self.others_ended.set()

    def ends(self, held: bool) -> list[float]:
        """When the sends to the held chats (or to the others) ended, in order."""
        return [t for chat, t in self.ended if (chat in self.held) == held]


async def people_with_chats(db: Database, chat_ids: list[str]) -> dict[str, int]:
    return {chat_id: await add_person(db, f"人{chat_id}", ("telegram", chat_id)) for chat_id in chat_ids}


async def test_sends_hanging_until_a_timeout_do_not_idle_the_global_limit(
    db: Database, clock: FrozenClock
) -> None:
    """Every eighth chat's send hangs, then times out. Sending in rounds of a batch, each round would wait for
    its hanging send before the next round's sends start; the pipeline keeps the global limit busy, so the
    other 35 are all through while the hanging sends are still in flight (they hang until then, or 30 s)."""
    chats = [str(4000 + n) for n in range(40)]
    people = await people_with_chats(db, chats)
    for n, chat_id in enumerate(chats):
        await notify(db, people[chat_id], f"#{n}", key=f"k{n}")
    hanging = frozenset(chats[::8])
    transport = HoldingTransport(hanging, 35, hanging=hanging)
    send = sender(db, clock, transport, batch=10, concurrency=8,
                  limits={"telegram": RateLimits(global_per_second=40, per_chat_per_second=1000,
                                                 per_group_per_minute=60000)})
    started = time.monotonic()
    stats = await send.drain(120)
    elapsed = time.monotonic() - started
    assert (stats.claimed, stats.sent, stats.retried) == (40, 35, 5)
    assert max(transport.ends(held=False)) < min(transport.ends(held=True))  # no hanging send held them up
    assert elapsed < transport.cap, f"the drain took {elapsed:.2f} s"  # and no hang lasted until the cap
    assert not transport.overlaps
    for row in await rows(db):
        expected = ("pending", 1) if row.chat_id in hanging else ("sent", 1)
        assert (row.state, row.attempts) == expected  # a retry keeps the try its claim counted


async def test_a_slow_chat_holds_up_only_itself(db: Database, clock: FrozenClock) -> None:
    """A chat whose sends are slow gets its two notices in order; meanwhile, with a batch of eight, the
    pipeline claims and sends the notices of thirty other chats, all before its first send ends."""
    people = await people_with_chats(db, ["9000"] + [str(3000 + n) for n in range(30)])
    await notify(db, people["9000"], "slow #0", key="s0", now=NOW - timedelta(seconds=2))
    await notify(db, people["9000"], "slow #1", key="s1", now=NOW - timedelta(seconds=1))
    for n in range(30):
        await notify(db, people[str(3000 + n)], f"#{n}", key=f"k{n}")
    transport = HoldingTransport(frozenset({"9000"}), 30)  # its sends last until the others are through
    send = sender(db, clock, transport, batch=8, concurrency=4,
                  limits={"telegram": RateLimits(global_per_second=100, per_chat_per_second=1000,
                                                 per_group_per_minute=60000)})
    stats = await send.drain(120)
    assert (stats.claimed, stats.sent) == (32, 32)
    assert max(transport.ends(held=False)) < transport.ends(held=True)[0]
    assert transport.texts("9000") == ["slow #0", "slow #1"]
    assert not transport.overlaps


async def test_a_retried_row_goes_ahead_of_the_younger_rows_held(db: Database) -> None:
    """Forty chats, one send slot, sends of 20 ms: the oldest row fails and is due again 50 ms later, when
    more than thirty younger rows are held and waiting for the slot. It gets the next free slot (oldest
    first, as claims go) instead of queueing behind all of them."""
    chats = [str(6000 + n) for n in range(40)]
    people = await people_with_chats(db, chats)
    start = SystemClock().now() - timedelta(seconds=1)
    for n, chat_id in enumerate(chats):
        await notify(db, people[chat_id], f"#{n}", key=f"k{n}", now=start + timedelta(milliseconds=n))
    transport = FakeTransport(delay=0.02)
    transport.fail("6000", TransientError("bad gateway"))
    send = sender(db, SystemClock(), transport, concurrency=1, first_retry=0.05)
    stats = await send.drain(HANG, wait_for_retries=True)
    assert (stats.sent, stats.retried) == (40, 1)
    order = [chat_id for chat_id, _reply, _attachment in transport.sent]
    assert sorted(order) == chats
    assert order.index("6000") < 10, order  # queueing behind the held rows would make it the last


async def test_each_chat_in_order_and_one_send_at_a_time_across_claims(
    db: Database, clock: FrozenClock
) -> None:
    chats = [str(5000 + n) for n in range(5)]
    people = await people_with_chats(db, chats)
    for n in range(40):
        chat_id = chats[n % 5]
        await notify(db, people[chat_id], f"{chat_id} #{n // 5}", key=f"k{n}",
                     now=NOW - timedelta(seconds=40 - n))
    pauses = random.Random(5)
    transport = PacedTransport(lambda _chat: pauses.uniform(0, 0.02))
    stats = await sender(db, clock, transport, batch=3, concurrency=8).drain(HANG)
    assert (stats.claimed, stats.sent) == (40, 40)
    for chat_id in chats:
        assert transport.texts(chat_id) == [f"{chat_id} #{k}" for k in range(8)]
    assert not transport.overlaps
    assert transport.most_in_flight > 1  # different chats at once


async def test_a_chat_under_flood_control_is_skipped_until_the_hold_ends(
    db: Database, clock: FrozenClock
) -> None:
    """One row per claim: the rows of the held chat claimed after the flood-control answer, and one queued
    later still, go back unsent to the end of the hold; then all go out in order."""
    person = await add_person(db, "郝芳", ("telegram", "1001"))
    other = await add_person(db, "赵芳", ("telegram", "1002"))
    for n in range(3):
        await notify(db, person, f"#{n}", key=f"k{n}", now=NOW - timedelta(seconds=10 - n))
    await notify(db, other, "other", key="o")
    transport = FakeTransport()
    transport.fail("1001", RetryLater(10))
    send = sender(db, clock, transport, batch=1)
    stats = await send.drain(HANG)
    assert (stats.claimed, stats.retried, stats.released, stats.sent) == (4, 1, 2, 1)
    await notify(db, person, "#3", key="k3")  # due now, but the chat is still on hold
    assert (await send.drain(HANG)).released == 1
    assert transport.calls == 2
    held = [row for row in await rows(db) if row.chat_id == "1001"]
    assert {(row.state, row.attempts, row.next_attempt_at) for row in held} == {
        ("pending", 0, NOW + timedelta(seconds=10))}
    clock.advance(seconds=10)
    assert (await send.drain(HANG)).sent == 4
    assert transport.texts("1001") == ["#0", "#1", "#2", "#3"]


class ClockPushingTransport(FakeTransport):
    """Each send takes ``minutes`` on a frozen clock."""

    def __init__(self, clock: FrozenClock, minutes: float) -> None:
        super().__init__()
        self.clock = clock
        self.minutes = minutes

    async def send(self, chat_id: str, reply: Reply, *, attachment: Attachment | None = None) -> None:
        self.clock.advance(minutes=self.minutes)
        await super().send(chat_id, reply, attachment=attachment)


async def test_a_row_whose_lease_ran_out_while_it_waited_is_handed_back_unsent(
    db: Database, clock: FrozenClock
) -> None:
    person = await add_person(db, "郝芳", ("telegram", "1001"))
    for n in range(3):
        await notify(db, person, f"#{n}", key=f"k{n}", now=NOW - timedelta(seconds=3 - n))
    transport = ClockPushingTransport(clock, minutes=6)
    send = sender(db, clock, transport)  # a ten-minute lease: the third row's runs out before its turn
    assert await send.run_once() == SendStats(claimed=3, sent=2, released=1)
    assert transport.texts() == ["#0", "#1"]
    third = (await rows(db))[2]
    assert (third.state, third.attempts, third.next_attempt_at) == ("pending", 0, clock.now())
    assert (await send.drain(HANG)).sent == 1
    assert transport.texts() == ["#0", "#1", "#2"]
    assert [row.attempts for row in await rows(db)] == [1, 1, 1]


async def test_a_stop_hands_back_what_was_not_started_and_finishes_what_was(db: Database) -> None:
    clock = SystemClock()
    chats = [str(6000 + n) for n in range(6)]
    people = await people_with_chats(db, chats)
    for n, chat_id in enumerate(chats):
        await notify(db, people[chat_id], f"#{n}", key=f"k{n}", now=clock.now() - timedelta(seconds=6 - n))
    transport = PacedTransport(lambda _chat: 0.3)
    send = sender(db, clock, transport,
                  limits={"telegram": RateLimits(global_per_second=2, per_chat_per_second=1000,
                                                 per_group_per_minute=60000)})
    stop = asyncio.Event()
    task = asyncio.create_task(send.run_forever(stop, idle_seconds=0.05))
    await until(lambda: sum(transport.in_flight.values()), "a send under way", 2, every=0.01)
    stop.set()
    await asyncio.wait_for(task, 3)
    assert transport.texts() == ["#0"]  # in flight when stopped: finished and recorded
    first, *others = await rows(db)
    assert (first.state, first.attempts) == ("sent", 1)
    assert {(row.state, row.attempts) for row in others} == {("pending", 0)}
    assert all(row.next_attempt_at <= clock.now() for row in others)  # due at once, for the next leader


async def test_a_drain_hands_back_the_rest_at_its_deadline(db: Database) -> None:
    clock = SystemClock()
    chats = [str(7000 + n) for n in range(30)]
    people = await people_with_chats(db, chats)
    for n, chat_id in enumerate(chats):
        await notify(db, people[chat_id], f"#{n}", key=f"k{n}", now=clock.now())
    transport = FakeTransport()
    send = sender(db, clock, transport,
                  limits={"telegram": RateLimits(global_per_second=10, per_chat_per_second=1000,
                                                 per_group_per_minute=60000)})
    started = time.monotonic()
    stats = await send.drain(0.5)
    elapsed = time.monotonic() - started
    # It kept sending until its deadline (rows were left) and no longer: sending all 30 takes 2.9 s at 10 a
    # second, and it sent at most what the limiter lets through in half a second (6, and one or two in flight).
    # A busy machine may get fewer through, and takes longer to hand the rest back (a write each): the bound on
    # the whole drain only catches one that waits for more than its deadline.
    assert 0.5 <= elapsed < 10
    assert 1 <= stats.sent <= 8
    assert (stats.claimed, stats.released) == (30, 30 - stats.sent)
    assert Counter(row.state for row in await rows(db)) == Counter({"sent": stats.sent,
                                                                     "pending": 30 - stats.sent})


async def test_run_forever_sends_rows_queued_while_a_send_hangs(db: Database, clock: FrozenClock) -> None:
    people = await people_with_chats(db, ["1", "2"])
    await notify(db, people["1"], "slow", key="slow")
    transport = PacedTransport(lambda chat: 1.5 if chat == "1" else 0.0)
    stop = asyncio.Event()
    task = asyncio.create_task(sender(db, clock, transport).run_forever(stop, idle_seconds=0.05))
    await until(lambda: transport.in_flight["1"], "the slow send under way", 1, every=0.01)
    await notify(db, people["2"], "quick", key="quick")
    await until(lambda: transport.texts("2"), "the quick row sent", 1, every=0.01)
    assert transport.texts("2") == ["quick"]
    assert transport.in_flight["1"] == 1  # still hanging
    stop.set()
    await asyncio.wait_for(task, 3)
    assert transport.texts("1") == ["slow"]
    assert {row.state for row in await rows(db)} == {"sent"}


async def test_run_once_is_one_bounded_pass(db: Database, clock: FrozenClock) -> None:
    chats = [str(8000 + n) for n in range(5)]
    people = await people_with_chats(db, chats)
    for n, chat_id in enumerate(chats):
        await notify(db, people[chat_id], f"#{n}", key=f"k{n}", now=NOW - timedelta(seconds=5 - n))
    transport = FakeTransport()
    send = sender(db, clock, transport, batch=3)
    assert await send.run_once() == SendStats(claimed=3, sent=3)
    # The oldest three. Their chats are served side by side, each send starting once its start is recorded,
    # so the order across chats is the database's.
    assert sorted(transport.texts()) == ["#0", "#1", "#2"]
    assert Counter(row.state for row in await rows(db)) == Counter({"sent": 3, "pending": 2})
    assert await send.run_once() == SendStats(claimed=2, sent=2)
    assert await send.run_once() == SendStats()
