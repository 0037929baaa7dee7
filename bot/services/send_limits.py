"""How fast the outbox sender sends: the rate limiters of each channel, chat and group chat.

Each row waits for its turn under the limiters: the chat's, the group's (per minute, for group chats)
and then, holding a free send slot, the channel's global one, evenly spaced (``SendLimits``).

The global limiter charges every attempt, failed ones too: a timed-out send may have been delivered, a
flood-control answer is the limit itself, and Telegram answers some sends it did deliver with a 500
("sent message was immediately deleted"). With a share of failures, the delivered rate stays that much
below the limit.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiolimiter import AsyncLimiter

from bot.channels.base import RateLimits, Transport, is_group_chat

LIMITER_SLACK = 0.003  # seconds of lateness a rate limiter makes up for, see limiter
ChatKey = tuple[str, str]  # (channel, chat id)


def limiter(rate: float, period: float) -> AsyncLimiter:
    """A limiter letting ``rate`` messages through per ``period`` seconds, evenly spaced.

    The bucket holds one message: a bucket as deep as the rate would allow a full burst on top of the
    steady flow, i.e. up to twice the limit within one period (40 messages in a minute to a group).

    On top of that it holds a sliver: ``LIMITER_SLACK`` seconds' worth of the rate, at most a tenth of a
    message. A waiting sender wakes a little late (timers fire up to a millisecond after their time, and
    the event loop may have other work first), and a bucket of exactly one message loses that lateness on
    every message: 3 % of the rate at 30 a second. With the sliver, a message after a late one may go up to
    ``LIMITER_SLACK`` seconds early, which makes up for it. Any run of n messages still spans at least
    n - 1 intervals less ``LIMITER_SLACK`` seconds, so the rate over time stays the limit.
    """
    if rate <= 0:
        raise ValueError("a rate limit must be positive")
    per_second = rate / period
    depth = 1 + min(LIMITER_SLACK * per_second, 0.1)
    return AsyncLimiter(depth, depth / per_second)


class SendLimits:
    """The limiters of one sender: a global one per channel, and one per chat (and group chat) met so far."""

    def __init__(self, limits: Mapping[str, RateLimits]) -> None:
        self.limits = dict(limits)
        self.global_ = {name: limiter(lim.global_per_second, 1) for name, lim in self.limits.items()}
        self.per_chat: dict[ChatKey, AsyncLimiter] = {}
        self.per_group: dict[ChatKey, AsyncLimiter] = {}

    async def wait_for_chat(self, transport: Transport, key: ChatKey) -> None:
        """Wait until the chat's and the group's limits allow one more message (the global one comes later,
        with a free send slot)."""
        channel, chat_id = key
        limits = self.limits[channel]
        per_chat = self.per_chat.get(key)
        if per_chat is None:
            per_chat = self.per_chat[key] = limiter(limits.per_chat_per_second, 1)
        await per_chat.acquire()
        if is_group_chat(transport, chat_id):
            per_group = self.per_group.get(key)
            if per_group is None:
                per_group = self.per_group[key] = limiter(limits.per_group_per_minute, 60)
            await per_group.acquire()

    async def wait_for_channel(self, channel: str) -> None:
        """Wait until the channel's global limit allows one more message."""
        await self.global_[channel].acquire()
