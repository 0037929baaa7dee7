"""The handler context: one message is handled at one moment, on one local day."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.clock import FrozenClock
from bot.domain.messages import Incoming
from handlers.context import Context, Deps


def test_a_message_keeps_its_day_when_the_clock_passes_midnight_while_it_is_handled() -> None:
    clock = FrozenClock(datetime(2026, 11, 20, 23, 59, 59, tzinfo=ZoneInfo("Asia/Shanghai")))
    deps = Deps(db=None, clock=clock, settings=None, renderer=None)  # type: ignore[arg-type]
    ctx = Context(msg=Incoming(channel="telegram", user_id="1", chat_id="1", text="/mine"), deps=deps,
                  session=None, caller=None, person=None, commands=None)  # type: ignore[arg-type]
    clock.advance(seconds=2)
    assert clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date() == date(2026, 11, 21)
    assert ctx.today == date(2026, 11, 20)
    assert ctx.now == datetime(2026, 11, 20, 23, 59, 59, tzinfo=ZoneInfo("Asia/Shanghai"))
