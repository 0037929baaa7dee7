"""Invite codes: creation for admins and redemption rules for /start."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, people
from storage.audit import Actor
from storage.models import Invite, Person

ROLES = ("liaison", "unit", "lead", "top", "admin")
CODE_BYTES = 18  # secrets.token_urlsafe: 24 characters of A-Z a-z 0-9 _ -
_CODE_SHAPE = re.compile(r"[A-Za-z0-9_-]{24}")


def looks_like_code(text: str) -> bool:
    """Whether a message is nothing but what an invite code looks like (24 URL-safe characters)."""
    return _CODE_SHAPE.fullmatch(text.strip()) is not None


@dataclass(frozen=True)
class NewInvite:
    code: str
    link: str
    expires_at: datetime


def deep_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={code}"


def link_username(settings: Any) -> str | None:
    """The Telegram bot an invite link opens, or None when the bot serves no Telegram (no TELEGRAM_BOT_TOKEN):
    a link to a bot of the default name would hand the code to somebody else's bot."""
    return settings.telegram_bot_username if settings.telegram_bot_token else None


async def create_invite(
    session: AsyncSession, *, person: Person, role: str, now: datetime, ttl: timedelta, actor: Actor,
    bot_username: str | None
) -> NewInvite:
    """A fresh single-use code for this person and role (only its hash is stored); its Telegram link, or ""
    without a bot to open (``bot_username`` None)."""
    if role not in ROLES:
        raise ValueError(role)
    code = secrets.token_urlsafe(CODE_BYTES)
    expires_at = now + ttl
    await people.add_invite(
        session, code=code, person=person, role=role, now=now, expires_at=expires_at, created_by=actor.label
    )
    await audit.record(
        session, actor=actor, at=now, action="invite.create", object_type="person", object_key=str(person.id),
        detail={"role": role, "expires_at": expires_at.isoformat()},
    )
    return NewInvite(code=code, link=deep_link(bot_username, code) if bot_username else "", expires_at=expires_at)


class InviteRefusal(Enum):
    UNKNOWN = "unknown"
    USED = "used"
    REVOKED = "revoked"
    EXPIRED = "expired"
    INACTIVE = "inactive"


def refusal_for(invite: Invite | None, person: Person | None, now: datetime) -> InviteRefusal | None:
    """Why this invite cannot be redeemed now, or None if it can."""
    if invite is None or person is None:
        return InviteRefusal.UNKNOWN
    if invite.used_at is not None:
        return InviteRefusal.USED if invite.used_by_account_id is not None else InviteRefusal.REVOKED
    if invite.expires_at <= now:
        return InviteRefusal.EXPIRED
    if not person.active:
        return InviteRefusal.INACTIVE
    return None


async def revoke_shown_code(session: AsyncSession, *, invite: Invite, person: Person, now: datetime, actor: Actor,
                            chat: str) -> None:
    """Revoke a live code someone typed in a group chat, where everyone there can read it: it can no longer
    be redeemed (used, by no account: ``InviteRefusal.REVOKED``), and the revocation is audited."""
    invite.used_at = now
    await audit.record(session, actor=actor, at=now, action="invite.revoke", object_type="person",
                       object_key=str(person.id), detail={"role": invite.role, "reason": "shown_in_group",
                                                          "chat": chat})
