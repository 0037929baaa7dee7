"""What goes out: the outbox of notices, the bulletin groups and bulletins, the half-monthly reports."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from bot.domain.text_widths import GROUP_NAME_WIDTH, ROBOT_NAME_WIDTH
from storage.models.base import Base
from storage.types import UTCDateTime


class OutboxMessage(Base):
    """A notice to deliver, written in the same transaction as the change that caused it.

    States: pending → sending → sent | failed (gave up after N tries) | undeliverable (no usable chat
    account) | in_doubt (a send interrupted by a crash: it may have arrived, so only a person sends it
    again); see ``storage.outbox``. ``send_started_at``: when the last claim began the send (None while pending).
    ``parts_sent``: how many of the messages the notice becomes (a long text is several) reached the chat
    in tries that failed part-way; the next try sends only the rest. ``failed_at``: when it was given up on;
    ``quiet_since``: then, nothing of its channel had got through since that time (None: something had, or it was
    refused); ``told_at``: when the admins were told of it (None while a failed row is still to be told).
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "state", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    channel: Mapped[str | None] = mapped_column(String(20))
    chat_id: Mapped[str | None] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    send_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    parts_sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, default=None)
    quiet_since: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, default=None)
    told_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, default=None)
    # Why it was given up on, classified when it failed (``bot.domain.give_up_reasons``: tries, config, content,
    # refused); None for rows failed before it was kept, and for refusals the channel did not classify.
    fail_cause: Mapped[str | None] = mapped_column(String(20), nullable=True, default=None)


class BulletinGroup(Base):
    """A chat that receives bulletins (a leadership group chat, a WeCom group robot)."""

    __tablename__ = "bulletin_groups"
    __table_args__ = (UniqueConstraint("channel", "chat_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    # A Telegram chat id (with its topic), or a WeCom group robot's name as configured: as wide as such a name.
    chat_id: Mapped[str] = mapped_column(String(ROBOT_NAME_WIDTH))
    name: Mapped[str] = mapped_column(String(GROUP_NAME_WIDTH))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(100))
    # When the bot was taken out of the group (removed by a member, or banned): no bulletin is sent there until
    # it is added back (None: it receives).
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, default=None)
    # With left_at: the bot is still in the group but may not send messages there (an admin muted it).
    muted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # When the bot was found unable to send photos or files there (it may send text): its bulletins still go
    # there, each file replaced by a line saying so, until a file gets through (None: it may send files).
    files_refused_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, default=None)
    # With files_refused_at: the kinds of file refused (``bot.domain.chat_rights``: photos, documents), sorted and
    # joined by commas (``storage.group_chats.marked_files``).
    files_refused: Mapped[str | None] = mapped_column(String(40), nullable=True, default=None)


class Bulletin(Base):
    """A produced bulletin, keyed by (kind, period): the key makes it happen at most once, anywhere."""

    __tablename__ = "bulletins"
    __table_args__ = (UniqueConstraint("kind", "period"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    period: Mapped[str] = mapped_column(String(20))
    produced_at: Mapped[datetime] = mapped_column(UTCDateTime())
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class HalfMonthReport(Base):
    """A liaison's half-monthly written report (半月报) on a project: 进展情况, 存在问题, 下一步措施. One per
    project and half-month (named by its first day); sending it again replaces the texts, and who sent it
    and when are kept."""

    __tablename__ = "halfmonth_reports"
    __table_args__ = (UniqueConstraint("project_id", "period_start"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    period_start: Mapped[date] = mapped_column(Date, index=True)
    progress: Mapped[str] = mapped_column(Text)
    problems: Mapped[str] = mapped_column(Text)
    next_steps: Mapped[str] = mapped_column(Text)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    channel: Mapped[str] = mapped_column(String(20))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SentMessage(Base):
    """A message the bot sent that is about projects (``Reply.about``: a reminder names the projects not
    reported today), by the id its channel gave it: an answer to it (Telegram's reply) is read as about them."""

    __tablename__ = "sent_messages"
    __table_args__ = (Index("ix_sent_messages_message", "channel", "chat_id", "message_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(100))
    message_id: Mapped[str] = mapped_column(String(40))
    about: Mapped[list[str]] = mapped_column(JSON)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
