"""Sign-in links to the web pages: made for a person in the chat (/web), used once in a browser.

A link is ``<WEB_PUBLIC_URL>/web/login?t=<token>``: valid ``LINK_TTL`` (10 minutes), single use, bound to the
person it was made for (storage.web_sessions keeps only the token's hash).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from urllib.parse import quote, urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from storage import web_sessions

LINK_TTL = timedelta(minutes=10)
HOME = "/web/"


def safe_next(path: str | None) -> str:
    """A page of ours to go to after signing in: a path under /web/, never another site (else the home)."""
    if not path:
        return HOME
    parts = urlsplit(path)
    if parts.scheme or parts.netloc or not parts.path.startswith("/web/") or "\\" in path or "//" in parts.path:
        return HOME
    return parts.path + (f"?{parts.query}" if parts.query else "")


def public_base(public_url: str | None) -> str | None:
    """WEB_PUBLIC_URL without a trailing slash, or None when it is not set (or not an http(s) address)."""
    if not public_url or not public_url.startswith(("http://", "https://")):
        return None
    return public_url.rstrip("/")


def is_https(public_url: str | None) -> bool:
    return bool(public_url) and str(public_url).startswith("https://")


async def make_link(session: AsyncSession, *, public_url: str, person_id: int, now: datetime,
                    next_path: str = HOME) -> str:
    """A new one-time sign-in link for the person, leading to ``next_path``."""
    token = secrets.token_urlsafe(24)
    await web_sessions.add_link(session, token=token, person_id=person_id, next_path=safe_next(next_path),
                                now=now, expires_at=now + LINK_TTL)
    return f"{public_url.rstrip('/')}/web/login?t={quote(token)}"
