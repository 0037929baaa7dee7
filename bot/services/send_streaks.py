"""A channel whose every send fails for a passing reason (a 5xx answer, a timeout, the network) for ``GRACE``, in
``AT_LEAST`` tries or more of at least ``MESSAGES`` different notices, with none getting through meanwhile: a fault
of the channel, not of its notices (one notice failing on its own, a big file timing out, holds no other; given
up after its tries, it is told to the admins, with whether nothing of its channel got through meanwhile:
``quiet_since``, ``bot.services.given_up``).

Nothing else may show it: Telegram's Bot API can answer polling (``getUpdates``, ``getMe``) while every
``sendMessage`` fails behind a broken proxy or an outage of its own. An answer of any kind about a message (sent,
the user blocked the bot, a bad request, flood control) proves the channel answers and ends the streak. A streak
that lasts becomes a ``ChannelDown`` (``SENDS_FAILING``) for the channel gate, which holds the channel's notices and
probes it like any other fault (``bot.services.channel_breaker``).

Only states and times (no I/O), the times from the injected clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.channels.base import ChannelDown

SENDS_FAILING = "sends_failing"  # ChannelDown.reason of a channel whose sends all fail
GRACE = timedelta(minutes=2)  # as long as polling may fail before Telegram is held (UNREACHABLE_GRACE)
AT_LEAST = 3  # failed sends in the streak: one notice retried alone takes 1 + 4 s for its third try
MESSAGES = 2  # different notices among them


@dataclass
class Streak:
    """The sends of a channel failing one after another since ``since``."""

    since: datetime
    failures: int
    last: str  # the latest failure's words
    messages: set[int]  # the notices that failed in it


class SendStreaks:
    """The failing streak of each channel of one sender."""

    def __init__(self, *, grace: timedelta | None = None, at_least: int = AT_LEAST) -> None:
        self.grace = grace  # None: the module's GRACE, read at each failure
        self.at_least = at_least
        self._streaks: dict[str, Streak] = {}

    def failed(self, channel: str, message: int, error: BaseException, now: datetime) -> ChannelDown | None:
        """A send of ``channel`` (of the notice ``message``) failed for a passing reason: the channel's fault once
        the streak has lasted and taken in more than one notice (the streak then starts anew), else None."""
        streak = self._streaks.get(channel)
        if streak is None:
            streak = self._streaks[channel] = Streak(since=now, failures=0, last="", messages=set())
        streak.failures += 1
        streak.last = str(error) or type(error).__name__
        streak.messages.add(message)
        lasted = now - streak.since
        if (streak.failures < self.at_least or len(streak.messages) < MESSAGES
                or lasted < (self.grace if self.grace is not None else GRACE)):
            return None
        del self._streaks[channel]
        return ChannelDown(SENDS_FAILING, f"every send has failed for {lasted.total_seconds():.0f} s "
                                          f"({streak.failures} tries), lately: {streak.last}")

    def quiet_since(self, channel: str, message: int) -> datetime | None:
        """Since when nothing of ``channel`` got through, if the notice ``message`` failed in that streak; else None."""
        streak = self._streaks.get(channel)
        return streak.since if streak is not None and message in streak.messages else None

    def answered(self, channel: str) -> None:
        """The channel answered a send (whatever it said): no streak."""
        self._streaks.pop(channel, None)
