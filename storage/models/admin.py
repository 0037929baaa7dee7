"""What admins set and what everybody did: settings, calendar overrides, the days as they passed, the audit trail."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.domain.text_widths import DAY_NAME_WIDTH
from storage.models.base import Base
from storage.types import UTCDateTime


class Setting(Base):
    """An admin-changeable setting (deadlines, schedules…) stored as JSON under a dotted key."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(100))


class CalendarOverride(Base):
    """An admin-entered official day: a holiday (off) or a 调休 working day, winning over the library."""

    __tablename__ = "calendar_overrides"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    working: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str] = mapped_column(String(DAY_NAME_WIDTH), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(100))


class PassedDay(Base):
    """A day that has passed, and whether reports were due on it by the calendar as it stood then (kept by
    storage.calendar_history, read by bot.domain.duties.is_reporting_day)."""

    __tablename__ = "passed_days"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    reporting: Mapped[bool] = mapped_column(Boolean)
    weekend: Mapped[bool] = mapped_column(Boolean)  # Saturday or Sunday: the days unlike a plain week are read back
    kept_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AuditEntry(Base):
    """Who changed what, when and from which channel."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    actor: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(50))
    object_type: Mapped[str] = mapped_column(String(30))
    object_key: Mapped[str] = mapped_column(String(100), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
