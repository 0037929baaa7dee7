"""Every send of a channel failing for a passing reason for two minutes makes the channel down (held, probed, told as
any fault), while a user's refusal (403: the user blocked the bot) or a bad request proves the channel answers. The
rules alone, then through the sender on the injectable clock (end to end over the fake Bot API:
tests/e2e/test_telegram_watch.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.channels.base import PermanentError, RecipientBlocked, TransientError
from bot.clock import FrozenClock
from bot.services.channel_breaker import UP
from bot.services.outbox import OutboxSender
from bot.services.send_streaks import SENDS_FAILING, SendStreaks
from storage.db import Database
from tests.outbox.test_outbox import HANG, FakeTransport, add_person, db, notify, rows, sender  # noqa: F401 - db

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
BAD_GATEWAY = TransientError("502 Bad Gateway")


def test_a_streak_is_a_fault_after_two_minutes_and_three_tries_and_any_answer_ends_it() -> None:
    streaks = SendStreaks()
    assert streaks.failed("telegram", 1, BAD_GATEWAY, T0) is None
    assert streaks.failed("telegram", 2, BAD_GATEWAY, T0 + timedelta(minutes=3)) is None  # two tries only
    streaks.answered("telegram")
    assert streaks.failed("telegram", 1, BAD_GATEWAY, T0 + timedelta(minutes=4)) is None  # a streak anew
    assert streaks.failed("telegram", 2, BAD_GATEWAY, T0 + timedelta(minutes=5)) is None
    assert streaks.failed("wecom", 3, BAD_GATEWAY, T0 + timedelta(minutes=6)) is None  # a channel of its own
    fault = streaks.failed("telegram", 1, TransientError("timed out"), T0 + timedelta(minutes=6))
    assert fault is not None and fault.reason == SENDS_FAILING
    assert "120 s (3 tries)" in str(fault) and "timed out" in str(fault)
    assert streaks.failed("telegram", 1, BAD_GATEWAY, T0 + timedelta(minutes=6, seconds=1)) is None  # told: anew


def test_one_notice_failing_on_its_own_is_no_fault_of_the_channel() -> None:
    streaks = SendStreaks()
    for minute in range(10):  # a big file timing out, try after try
        assert streaks.failed("telegram", 7, TimeoutError(), T0 + timedelta(minutes=minute)) is None
    fault = streaks.failed("telegram", 8, BAD_GATEWAY, T0 + timedelta(minutes=10))  # another notice fails too
    assert fault is not None and fault.reason == SENDS_FAILING and "(11 tries)" in str(fault)


async def test_sends_failing_for_two_minutes_hold_the_channel_and_a_trial_getting_through_ends_it(
        db: Database) -> None:  # noqa: F811
    clock = FrozenClock(T0)
    person = await add_person(db, "郝芳", ("telegram", "1001"))
    await notify(db, person, "第一条", key="a", now=clock.now())
    await notify(db, person, "第二条", key="b", now=clock.now())
    transport = FakeTransport()
    transport.always = BAD_GATEWAY
    send = sender(db, clock, transport)
    await trip(send, clock)
    held = await rows(db)  # held; the one whose send found the channel down is due for the first trial
    assert {row.state for row in held} == {"pending"} and min(row.next_attempt_at for row in held) <= clock.now()
    await notify(db, person, "第三条", key="c", now=clock.now())
    calls = transport.calls
    await send.drain(HANG)
    assert transport.calls == calls  # held: not tried until a probe lets one trial go
    assert {row.state for row in await rows(db)} == {"pending"}
    transport.always = None
    await until_up(send, clock)
    assert sorted(transport.texts()) == ["第一条", "第三条", "第二条"]


async def test_an_outage_of_an_hour_fails_no_notice(db: Database) -> None:  # noqa: F811
    """The trials of a channel whose sends all fail, failing so again and again, count no try: no notice is given
    up after its eight tries and fifteen minutes."""
    clock = FrozenClock(T0)
    person = await add_person(db, "郝芳", ("telegram", "1001"))
    for key in "ab":
        await notify(db, person, f"通知{key}", key=key, now=clock.now())
    transport = FakeTransport()
    transport.always = BAD_GATEWAY
    send = sender(db, clock, transport)
    await trip(send, clock)
    calls = transport.calls
    while clock.now() - T0 < timedelta(hours=1):
        clock.advance(seconds=30)
        await send.drain(HANG)
    assert {row.state for row in await rows(db)} == {"pending"}  # held, none given up
    assert transport.calls - calls >= 8  # the trials, one every five minutes at most
    transport.always = None
    await until_up(send, clock)
    assert sorted(transport.texts()) == ["通知a", "通知b"]


async def trip(send: OutboxSender, clock: FrozenClock) -> None:
    """Drain every 15 s until the channel is down for its sends failing."""
    start = clock.now()
    while send.channel_states()["telegram"] is None:
        assert clock.now() - start < timedelta(minutes=5)  # two minutes, and the backoff to the try past them
        await send.drain(HANG)
        clock.advance(seconds=15)
    fault = send.channel_states()["telegram"]
    assert fault is not None and fault.reason == SENDS_FAILING


async def until_up(send: OutboxSender, clock: FrozenClock) -> None:
    """Drain every 30 s until a trial finds the channel working, then for five minutes more (a notice still in its
    backoff when the channel was found down keeps it)."""
    for _ in range(40):
        clock.advance(seconds=30)
        await send.drain(HANG)
        if send.channel_states()["telegram"] is None:
            break
    assert send.gate.breakers.state("telegram") == UP
    for _ in range(10):
        await send.drain(HANG)
        clock.advance(seconds=30)


async def test_a_users_refusal_or_a_bad_request_is_no_fault_of_the_channel(db: Database) -> None:  # noqa: F811
    clock = FrozenClock(T0)
    transport = FakeTransport()
    send = sender(db, clock, transport)
    for minute in range(6):  # a 502 each minute, each time followed by a 403 or a 400 about the next try
        chat = f"100{minute}"
        await notify(db, await add_person(db, f"联络员{minute}", ("telegram", chat)), "通知", key=f"k{minute}",
                     now=clock.now())
        transport.fail(chat, BAD_GATEWAY, RecipientBlocked("Forbidden: bot was blocked by the user")
                       if minute % 2 else PermanentError("Bad Request: can't parse entities"))
        await send.drain(HANG)
        clock.advance(seconds=10)
        await send.drain(HANG)
        clock.advance(seconds=50)
    assert transport.calls == 12
    assert send.channel_states()["telegram"] is None
