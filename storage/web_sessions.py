"""Sign-in links and browser sessions of the web pages.

Only SHA-256 hashes of link tokens and session ids are stored: whoever reads the database cannot sign in.
A link is bound to one person, valid until its ``expires_at`` and used once (redeeming marks it in the
same statement that checks it, so two browsers racing with one link cannot both win). A session counts
while it has not ended, its person is active and it was seen within the idle limit; each use moves
``last_seen_at`` on (at most once a minute, to spare writes).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Person, WebLink, WebSession

TOUCH_EVERY = timedelta(minutes=1)


def token_hash(token: str) -> str:
    """What is stored of a link token or a session id."""
    return hashlib.sha256(token.encode()).hexdigest()


async def add_link(session: AsyncSession, *, token: str, person_id: int, next_path: str, now: datetime,
                   expires_at: datetime) -> None:
    session.add(WebLink(token_hash=token_hash(token), person_id=person_id, next_path=next_path,
                        created_at=now, expires_at=expires_at))
    await session.flush()


@dataclass(frozen=True)
class Redeemed:
    """A link that was just used: whose it was and where it leads."""

    person_id: int
    next_path: str


async def redeem_link(session: AsyncSession, *, token: str, now: datetime) -> Redeemed | None:
    """Use the link once: its person and page, or None when it is unknown, expired or used already."""
    statement = (
        update(WebLink)
        .where(WebLink.token_hash == token_hash(token), WebLink.used_at.is_(None), WebLink.expires_at > now)
        .values(used_at=now)
        .returning(WebLink.person_id, WebLink.next_path)
    )
    row = (await session.execute(statement)).first()
    return None if row is None else Redeemed(person_id=row[0], next_path=row[1])


async def link_state(session: AsyncSession, *, token: str, now: datetime) -> str:
    """Why a link cannot be used: "unknown", "used" or "expired" ("valid" if it can)."""
    link = await session.scalar(select(WebLink).where(WebLink.token_hash == token_hash(token)))
    if link is None:
        return "unknown"
    if link.used_at is not None:
        return "used"
    return "expired" if link.expires_at <= now else "valid"


async def link_target(session: AsyncSession, *, token: str) -> Redeemed | None:
    """Whose a link is and where it leads, whatever its state (None: no such link)."""
    row = (await session.execute(select(WebLink.person_id, WebLink.next_path)
                                 .where(WebLink.token_hash == token_hash(token)))).first()
    return None if row is None else Redeemed(person_id=row[0], next_path=row[1])


async def add_session(session: AsyncSession, *, session_id: str, person_id: int, via: str,
                      now: datetime) -> None:
    session.add(WebSession(id_hash=token_hash(session_id), person_id=person_id, via=via, created_at=now,
                           last_seen_at=now))
    await session.flush()


async def session_person(session: AsyncSession, *, session_id: str, now: datetime,
                         idle: timedelta) -> Person | None:
    """The active person signed in with this session id, or None (unknown, ended, idle too long, or the
    person deactivated: such a session is ended here)."""
    found = await session.scalar(select(WebSession).where(WebSession.id_hash == token_hash(session_id)))
    if found is None or found.ended_at is not None:
        return None
    if found.last_seen_at + idle <= now:
        found.ended_at = now
        return None
    person = await session.get(Person, found.person_id)
    if person is None or not person.active:
        found.ended_at = now
        return None
    if now - found.last_seen_at >= TOUCH_EVERY:
        found.last_seen_at = now
    return person


async def end_session(session: AsyncSession, *, session_id: str, now: datetime) -> bool:
    result = await session.execute(
        update(WebSession).where(WebSession.id_hash == token_hash(session_id), WebSession.ended_at.is_(None))
        .values(ended_at=now))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def end_sessions_of(session: AsyncSession, *, person_id: int, now: datetime) -> int:
    """End every session of a person (deactivation); how many were open."""
    result = await session.execute(
        update(WebSession).where(WebSession.person_id == person_id, WebSession.ended_at.is_(None))
        .values(ended_at=now))
    return int(result.rowcount)  # type: ignore[attr-defined]
