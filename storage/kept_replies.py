"""The replies of a message that changed something, kept in the outbox until they went out directly.

A message that changed anything is recorded as handled (``storage.processed``) in the transaction of its
changes, so a second delivery of it is neither stored nor answered again. Its replies go out after that
commit: a process killed in between (kill -9, power cut, out of memory) would lose them for good, the
message being already handled when it is delivered again. So they are also written to the outbox in that
same transaction (``keep``), due only ``GUARD`` later, and taken back (``release``) as soon as the direct
send is over: sent, refused, or handed to the outbox (``bot.services.kept_release``). If the process dies
first, the outbox sends them once ``GUARD`` has passed, exactly once, whichever process sends.

``GUARD`` outlasts the longest direct send (Telegram's retries stop after 15 s, WeCom waits at most 65 s for
its rate limit), so that the outbox never sends a reply that a live process is still sending.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.messages import Reply
from storage import outbox

GUARD = timedelta(minutes=3)
_KEY_MAX = 60  # a longer message key is named by its hash (the outbox key also holds the chat)


def keys_for(channel: str, message_key: str, count: int) -> tuple[str, ...]:
    """The outbox keys of the ``count`` replies of one message."""
    name = f"{channel}:{message_key}"
    if len(name) > _KEY_MAX or "|" in name:
        name = "sha256:" + hashlib.sha256(name.encode()).hexdigest()[:40]
    return tuple(f"kept:{name}:{n}" for n in range(count))


async def keep(session: AsyncSession, *, channel: str, chat_id: str, message_key: str, replies: Sequence[Reply],
               now: datetime) -> tuple[str, ...]:
    """Write the replies to the outbox in the session's transaction, due ``GUARD`` from ``now``; their keys."""
    keys = keys_for(channel, message_key, len(replies))
    if keys:
        await outbox.enqueue_replies_for_chat(session, channel=channel, chat_id=chat_id,
                                              replies=list(zip(keys, replies, strict=True)), now=now,
                                              due=now + GUARD)
    return keys


async def release(session: AsyncSession, chats: Sequence[tuple[str, str, Sequence[str]]]) -> int:
    """Take back the kept replies not sent by the outbox yet (their direct send is over), of several chats at
    once: (channel, chat id, keys) each. How many."""
    return await outbox.withdraw_all_pending(session, chats)
