"""Repository functions for the albums waiting for their caption (``album_waits``, ``bot.domain.albums``): one
row per album a person sent in a chat without its caption, whose notice is waiting, went out, or was taken back
when the caption came."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AlbumWait

WAITING = "waiting"  # the notice is in the outbox, due at notice_due
TOLD = "told"  # the notice went out: never again for this album
JOINED = "joined"  # the caption came and took the photos


@dataclass(frozen=True)
class Wait:
    """An album waiting for its caption, as stored."""

    channel: str
    chat_id: str
    user_id: str
    album: str
    state: str
    parts: int
    busy: bool
    seen_at: datetime
    sent_at: datetime | None
    notice_due: datetime


def _where(channel: str, chat_id: str, user_id: str, album: str):  # type: ignore[no-untyped-def]
    return (AlbumWait.channel == channel, AlbumWait.chat_id == chat_id, AlbumWait.user_id == user_id,
            AlbumWait.album == album)


def _wait(row: AlbumWait) -> Wait:
    return Wait(channel=row.channel, chat_id=row.chat_id, user_id=row.user_id, album=row.album, state=row.state,
                parts=row.parts, busy=row.busy, seen_at=row.seen_at, sent_at=row.sent_at, notice_due=row.notice_due)


async def get_wait(session: AsyncSession, *, channel: str, chat_id: str, user_id: str, album: str) -> Wait | None:
    row = await session.scalar(select(AlbumWait).where(*_where(channel, chat_id, user_id, album)))
    return None if row is None else _wait(row)


async def save_wait(session: AsyncSession, wait: Wait) -> None:
    """Store the album's wait as it now is (a new one, or in place of the one stored)."""
    row = await session.scalar(select(AlbumWait).where(*_where(wait.channel, wait.chat_id, wait.user_id,
                                                                   wait.album)))
    if row is None:
        row = AlbumWait(channel=wait.channel, chat_id=wait.chat_id, user_id=wait.user_id, album=wait.album)
        session.add(row)
    row.state, row.parts, row.busy = wait.state, wait.parts, wait.busy
    row.seen_at, row.sent_at, row.notice_due = wait.seen_at, wait.sent_at, wait.notice_due


async def waiting(session: AsyncSession) -> list[Wait]:
    """The albums whose notice is waiting to go out, the longest waiting first."""
    rows = await session.scalars(select(AlbumWait).where(AlbumWait.state == WAITING).order_by(AlbumWait.id))
    return [_wait(row) for row in rows]


async def forget_before(session: AsyncSession, *, seen_before: datetime) -> int:
    """Forget the albums whose last part was seen before `seen_before` (the bot no longer remembers them)."""
    result = await session.execute(delete(AlbumWait).where(AlbumWait.seen_at < seen_before))
    return int(result.rowcount or 0)
