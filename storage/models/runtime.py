"""What the running bot keeps between messages and processes: messages handled, guided conversations,
shared marks, web sign-in links and sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import UTCDateTime


class ProcessedMessage(Base):
    """A chat message (Telegram message or button press, WeCom MsgId) whose changes are stored: written in
    the same transaction as them, so that the same message delivered again is never handled twice. ``replies``:
    what it was answered with and by which process, until a delivery of it again takes them (storage.processed)."""

    __tablename__ = "processed_messages"
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    handled_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    replies: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)


class Conversation(Base):
    """The state of a guided flow (e.g. /report step by step) for one user in one chat."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("channel", "chat_id", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[str] = mapped_column(String(100))
    flow: Mapped[str] = mapped_column(String(30))
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SharedMark(Base):
    """A short-lived fact every process of a deployment shares, until ``expires_at``: a WeCom message seen
    (de-duplication), the numbered choices last shown to a WeCom user, a slot of a rate window.

    See ``storage.shared``.
    """

    __tablename__ = "shared_marks"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class WebLink(Base):
    """A one-time sign-in link to the web pages (only its token's hash is kept), bound to one person: valid
    until ``expires_at``, used once (``used_at``). See ``storage.web_sessions``."""

    __tablename__ = "web_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    next_path: Mapped[str] = mapped_column(String(300), default="/web/")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebSession(Base):
    """A signed-in browser (only the session id's hash is kept): ends on logout (``ended_at``), when idle
    too long, or when its person is deactivated. See ``storage.web_sessions``."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    via: Mapped[str] = mapped_column(String(20))  # link | telegram | wecom
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
