"""A fault the admins are told of once: one episode in the processes' shared memory (``storage.shared``), read
and written in the caller's transaction. A restart or a new leader meeting the same fault finds the episode and
tells nobody again: the notices' keys carry the episode's start (``since``), and the outbox writes a key once.
Used for a channel down (``bot.services.channel_notices``) and the photo store refusing photos
(``bot.services.photo_store_fault``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage import shared

EPISODE_TTL = timedelta(days=90)  # a fault nobody fixed for three months is told again


async def current(session: AsyncSession, name: str, *, now: datetime) -> dict[str, Any] | None:
    """The episode ``name`` told and not yet over, or None."""
    episode = await shared.get(session, name=name, now=now)
    return episode if isinstance(episode, dict) and "since" in episode else None


async def begin(session: AsyncSession, name: str, value: dict[str, Any], *,
                now: datetime) -> tuple[dict[str, Any], bool]:
    """The episode ``name``: the one told before, else ``value`` (with its ``since``) kept as a new one; and
    whether it is new."""
    episode = await current(session, name, now=now)
    if episode is not None:
        return episode, False
    await shared.put(session, name=name, value=value, now=now, ttl=EPISODE_TTL)
    return value, True


async def end(session: AsyncSession, name: str, *, now: datetime) -> dict[str, Any] | None:
    """The episode ``name`` told before, forgotten now; None: none was told."""
    episode = await current(session, name, now=now)
    if episode is not None:
        await shared.forget(session, name=name)
    return episode


def since(episode: dict[str, Any]) -> datetime:
    """When the episode began."""
    return datetime.fromisoformat(str(episode["since"]))
