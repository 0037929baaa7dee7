"""The project ledger: projects and their supporting units, yearly plans and baselines, approvals, stage
events and milestone nodes, and the marks of its changes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.domain.text_widths import (
    CATEGORY_WIDTH,
    LOCATION_WIDTH,
    NODE_NAME_WIDTH,
    OWNER_WIDTH,
    PROJECT_CODE_WIDTH,
    PROJECT_LEVEL_WIDTH,
    PROJECT_NAME_WIDTH,
)
from storage.ledger_mark_triggers import create_triggers
from storage.models.base import Base
from storage.models.people import Person, Unit
from storage.models.photos import NodePhoto
from storage.types import UTCDateTime, Wan


class Project(Base):
    """A key project (重点项目) as kept in the ledger."""

    __tablename__ = "projects"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(PROJECT_CODE_WIDTH), unique=True)
    name: Mapped[str] = mapped_column(String(PROJECT_NAME_WIDTH))
    category: Mapped[str | None] = mapped_column(String(CATEGORY_WIDTH))
    level: Mapped[str | None] = mapped_column(String(PROJECT_LEVEL_WIDTH))
    location: Mapped[str | None] = mapped_column(String(LOCATION_WIDTH), index=True)
    owner: Mapped[str | None] = mapped_column(String(OWNER_WIDTH))
    total_investment: Mapped[Decimal] = mapped_column(Wan())
    # The plan last written (by the ledger import or /project_set); each year's own plan is in
    # `annual_plans`, and the figures read the plan of their year (storage.annual_plans.plan_of_year).
    annual_plan: Mapped[Decimal] = mapped_column(Wan())
    done_before: Mapped[Decimal] = mapped_column(Wan())
    baseline_year: Mapped[int] = mapped_column(Integer)
    # The day up to which `done_before` counts (截至某日): reports dated after it add to it. None for a baseline
    # imported before baselines were dated (it then covers no report of its year).
    baseline_date: Mapped[date | None] = mapped_column(Date)
    stage: Mapped[str] = mapped_column(String(10))
    planned_start: Mapped[date | None] = mapped_column(Date)
    planned_finish: Mapped[date | None] = mapped_column(Date)
    lead_official_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    lead_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    liaison_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    lead_official: Mapped[Person | None] = relationship(foreign_keys=[lead_official_id], lazy="joined")
    liaison: Mapped[Person | None] = relationship(foreign_keys=[liaison_id], lazy="joined")
    lead_unit: Mapped[Unit] = relationship(lazy="joined")
    supporting: Mapped[list[ProjectSupportingUnit]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="ProjectSupportingUnit.position"
    )


class ProjectVersion(Base):
    """What the ledger said of a project (name, town, lead unit, 包抓领导, liaison) from ``valid_from`` until its
    next version: written with every change of those fields, in the same transaction (storage.project_versions),
    so that a past period reads the project as it stood at its end. People and units by id."""

    __tablename__ = "project_versions"
    __table_args__ = (Index("ix_project_versions_project_from", "project_id", "valid_from"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    name: Mapped[str] = mapped_column(String(PROJECT_NAME_WIDTH))
    location: Mapped[str | None] = mapped_column(String(LOCATION_WIDTH))
    lead_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    lead_official_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    liaison_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))


class ProjectSupportingUnit(Base):
    """A supporting unit (配合单位) of a project, in ledger order."""

    __tablename__ = "project_supporting_units"
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    unit: Mapped[Unit] = relationship(lazy="joined")


class AnnualPlan(Base):
    """A project's annual planned investment (年度计划投资) for one calendar year: every year keeps its own
    plan, set by the ledger import of that year or by /project_set (storage.annual_plans)."""

    __tablename__ = "annual_plans"
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    amount: Mapped[Decimal] = mapped_column(Wan())
    set_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LedgerBase(Base):
    """A project's ledger base (截至某日累计完成) for one calendar year: the year's completed investment up to
    ``baseline_date`` as that year's ledger gave it. Every year keeps its own, set by the ledger import of
    that year (storage.ledger_bases)."""

    __tablename__ = "ledger_bases"
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    done_before: Mapped[Decimal] = mapped_column(Wan())
    baseline_date: Mapped[date | None] = mapped_column(Date)
    set_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProjectApproval(Base):
    """One item of a project's 前期手续 checklist (立项, 环评…): pending or done, and on which day."""

    __tablename__ = "project_approvals"
    __table_args__ = (UniqueConstraint("project_id", "item"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    item: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10))  # pending | done
    done_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(100))


class StageEvent(Base):
    """开工 or 竣工 of a project on a day (bot.domain.stage_events): reported by its liaison and confirmed or
    refused by its lead unit, or entered by an admin (confirmed at once). Kept when refused."""

    __tablename__ = "stage_events"
    __table_args__ = (Index("ix_stage_events_project_kind", "project_id", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    day: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(10))
    raised_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ProjectNode(Base):
    """A milestone (节点) of a project's schedule (节点计划, 倒排工期): a name, the day it is planned to be done
    by, and once done the day it was done, who said so and the evidence (a note, ``NodePhoto``).

    Nodes come from the ledger's sheet 项目节点计划 (``source`` "ledger") or are kept by admins in the chat
    ("chat"); a project has each name once. A node taken off the plan keeps its history (``removed_at``).
    A node not done by its planned day is overdue: ``overdue_told_on`` is the day the liaison and the lead
    unit were told, and ``problem_id`` the problem raised for it, which the escalation machinery carries to
    the 包抓领导 and above like any problem (``Problem.kind`` "node").
    """

    __tablename__ = "project_nodes"
    __table_args__ = (
        UniqueConstraint("project_id", "name"),
        Index("ix_project_nodes_planned_on", "planned_on"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)  # the order of the plan, as in the ledger
    name: Mapped[str] = mapped_column(String(NODE_NAME_WIDTH))
    planned_on: Mapped[date] = mapped_column(Date)
    done_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # how many times it was marked done: the number of its latest sending of evidence (NodePhoto.sending)
    sendings: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    source: Mapped[str] = mapped_column(String(10), default="ledger")  # ledger | chat
    overdue_told_on: Mapped[date | None] = mapped_column(Date)
    problem_id: Mapped[int | None] = mapped_column(ForeignKey("problems.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    photos: Mapped[list[NodePhoto]] = relationship(lazy="selectin", cascade="all, delete-orphan")


class LedgerMark(Base):
    """A counter that every write of a group of the ledger's tables moves (storage.ledger_marks): moved by the
    database's triggers (storage.ledger_mark_triggers), and by the ledger import taking it, never set otherwise."""

    __tablename__ = "ledger_marks"
    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    mark: Mapped[int] = mapped_column(BigInteger)


def _create_ledger_mark_triggers(_metadata: Any, connection: Any, **_kw: Any) -> None:
    for statement in create_triggers(connection.dialect.name):
        connection.exec_driver_sql(statement)


event.listen(Base.metadata, "after_create", _create_ledger_mark_triggers)
