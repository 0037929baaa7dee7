"""Problems raised on projects and what happened to them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.domain.problem_numbers import problem_number
from storage.models.base import Base
from storage.models.ledger import Project
from storage.models.people import Person, Unit
from storage.models.photos import ProblemPhoto
from storage.types import UTCDateTime


class Problem(Base):
    """A problem (问题) raised on a project, assigned to a unit, with deadlines and an escalation level.

    `kind` "decision" is a decision of a dispatch meeting (议定事项): followed like a problem, but it has
    no project (`project_id` None) and skips level 1 (see bot.domain.escalation).
    """

    __tablename__ = "problems"
    __table_args__ = (Index("ix_problems_next_check", "next_check_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="problem")
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), index=True)
    raised_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    category: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), index=True)
    level: Mapped[int] = mapped_column(Integer, default=0)
    policy: Mapped[dict[str, Any]] = mapped_column(JSON)
    level_started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolution_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    due_estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    nudged: Mapped[list[str]] = mapped_column(JSON, default=list)
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answer_text: Mapped[str | None] = mapped_column(Text)
    promised_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    project: Mapped[Project | None] = relationship(lazy="joined")
    unit: Mapped[Unit] = relationship(lazy="joined")
    raised_by: Mapped[Person] = relationship(lazy="joined", foreign_keys=[raised_by_id])
    photos: Mapped[list[ProblemPhoto]] = relationship(lazy="selectin", cascade="all, delete-orphan")

    @property
    def number(self) -> str:
        return problem_number(self.id)


class ProblemEvent(Base):
    """One step in a problem's history: raised, accepted, answered, escalated, 批示, resolved, closed…"""

    __tablename__ = "problem_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    kind: Mapped[str] = mapped_column(String(30))
    level: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The resolution deadline the problem ran on after this event (None on events written before it was kept:
    # bot.domain.problem_history reads those back from what they say).
    resolution_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The response deadline (受理时限) likewise (None: the problem had none after it, or the event was written
    # before it was kept).
    response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    actor: Mapped[Person | None] = relationship(lazy="joined")
