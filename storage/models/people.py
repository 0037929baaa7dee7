"""Who takes part: units, people and their roles, their chat accounts, invite codes, and leave."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.domain.text_widths import PERSON_KEY_WIDTH, PERSON_NAME_WIDTH, PHONE_WIDTH, TITLE_WIDTH, UNIT_NAME_WIDTH
from storage.models.base import Base
from storage.types import UTCDateTime


class Unit(Base):
    """A department or town government that can lead or support projects and answer problems."""

    __tablename__ = "units"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(UNIT_NAME_WIDTH), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Person(Base):
    """Someone on the roster; may hold several roles and several chat accounts."""

    __tablename__ = "people"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(PERSON_NAME_WIDTH), index=True)
    phone: Mapped[str | None] = mapped_column(String(PHONE_WIDTH), unique=True)
    title: Mapped[str | None] = mapped_column(String(TITLE_WIDTH))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # 人员编号 as the admin typed it in the ledger's roster (the export writes it back); None: never typed
    ledger_key: Mapped[str | None] = mapped_column(String(PERSON_KEY_WIDTH))

    unit: Mapped[Unit | None] = relationship(lazy="joined")
    roles: Mapped[list[PersonRole]] = relationship(lazy="selectin", cascade="all, delete-orphan")

    @property
    def role_names(self) -> set[str]:
        return {r.role for r in self.roles}


class PersonName(Base):
    """A person's name from ``valid_from`` until his next one, kept from his first rename on (storage.person_names):
    the name he had before it, valid from his creation, then each new name from the instant it was given, so that
    a past period names him as he was named at its end."""

    __tablename__ = "person_names"
    __table_args__ = (Index("ix_person_names_person_from", "person_id", "valid_from"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    name: Mapped[str] = mapped_column(String(PERSON_NAME_WIDTH))


class PersonRole(Base):
    """One role a person holds: liaison, unit, lead, top or admin."""

    __tablename__ = "person_roles"
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)


class ChatAccount(Base):
    """A chat identity (Telegram user, WeCom userid) bound to a person."""

    __tablename__ = "chat_accounts"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(100))
    chat_id: Mapped[str] = mapped_column(String(100))
    display_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    blocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# WeCom userids match whatever their case (storage.people.same_id compares lower(external_id)): this index serves
# those lookups on both backends. Not unique: the rule stays one account per id as spelled (the constraint above).
FOLDED_ID_INDEX = Index("ix_chat_accounts_channel_folded_id", ChatAccount.channel, func.lower(ChatAccount.external_id))


class Invite(Base):
    """A single-use invite code (only its hash is kept) that binds a chat account to a person."""

    __tablename__ = "invites"
    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    used_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("chat_accounts.id"))
    created_by: Mapped[str] = mapped_column(String(100))


class Leave(Base):
    """A person's approved leave (请假): local days ``start``..``end`` (both included), with an optional
    substitute (代理人) who is reminded and may report for the person's projects during it.

    Recorded at once when entered (by the person or an admin; the admins are told). 销假 before the end
    shortens it to the day before (``end``), or cancels it (``cancelled_at``) when it had not begun.
    See ``bot.domain.leave`` and ``storage.leaves``.
    """

    __tablename__ = "leaves"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    substitute_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), index=True)
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(100))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When its start was handled: a 包抓领导's stand-in told what waited at his level, or nothing to tell
    # (bot.services.leave_starts); the tick looks at a leave once.
    start_handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When its end was handled: the 包抓领导 told he holds his level again (bot.services.leave_returns, or 销假).
    end_handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
