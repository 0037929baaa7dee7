"""Which message the bot sent was about which projects (``Reply.about``), by the id its channel gave it: an
answer to that message (Telegram's reply) is read as about them. Kept ``KEPT`` (a reminder is answered the same
day, or the next); older ones go with the daily housekeeping (``forget_old``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import SentMessage

KEPT = timedelta(days=7)


async def remember(session: AsyncSession, *, channel: str, chat_id: str, message_ids: Sequence[str],
                   about: Sequence[str], now: datetime) -> None:
    """The messages ``message_ids`` sent to ``chat_id`` are about the projects ``about`` (their codes)."""
    session.add_all(SentMessage(channel=channel, chat_id=chat_id, message_id=message_id, about=list(about),
                                sent_at=now) for message_id in message_ids)


async def about(session: AsyncSession, *, channel: str, chat_id: str, message_id: str) -> tuple[str, ...]:
    """The codes of the projects the bot's message ``message_id`` in ``chat_id`` was about; () when it is no
    such message (or was sent too long ago)."""
    found = await session.scalar(select(SentMessage.about).where(
        SentMessage.channel == channel, SentMessage.chat_id == chat_id, SentMessage.message_id == message_id)
        .order_by(SentMessage.id.desc()).limit(1))
    return tuple(str(code) for code in found or ())


async def forget_old(session: AsyncSession, *, now: datetime) -> int:
    """Drop the messages sent more than ``KEPT`` ago; how many."""
    result = await session.execute(delete(SentMessage).where(SentMessage.sent_at < now - KEPT))
    return result.rowcount or 0  # type: ignore[attr-defined]
